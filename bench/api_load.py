"""API load: current AQI of one city, warm cache, through gunicorn as `make serve` runs it, measured with wrk.

Starts `gunicorn app:server` (workers = nproc, 4 threads each, as `make serve`) on a free loopback port over an
embedded SQLite database seeded by `python app.py seed` in a temporary folder, warms every worker's cache, then
runs wrk for BENCH_API_SECONDS (15) at 64 and at 1,000 concurrent connections and prints throughput and
p50/p95/p99 with the exact commands. The rate limit is raised out of the way (it would answer 429s to a single
client address) but stays in the path, so its cost is included.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import header

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("wrk_report.lua")
SECONDS = int(os.environ.get("BENCH_API_SECONDS", 15))
CONNECTIONS = (64, 1000)
CITY = "Delhi"
SEED_DAYS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout_s:.0f} s")


def wrk(url: str, connections: int, seconds: int, threads: int) -> tuple[list[str], dict]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
               "-s", str(LUA), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK_RESULT "))
    return command, json.loads(line.removeprefix("WRK_RESULT "))


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench` installs it (Debian package wrk)")
    # 1,000 connections need as many descriptors in wrk and in gunicorn: lift the soft limit for both.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    workers = len(os.sched_getaffinity(0))  # what `nproc` prints
    with tempfile.TemporaryDirectory(prefix="aqi-api-bench-") as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/aqi.db", "REDIS_URL": "",
               "AQI_LIVE_SIMULATION": "false", "AQI_API_RATE_LIMIT": "1000000000/minute"}
        python = str(ROOT / ".venv" / "bin" / "python")
        subprocess.run([python, "app.py", "seed", "--days", str(SEED_DAYS)], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        port = free_port()
        serve = [str(ROOT / ".venv" / "bin" / "gunicorn"), "app:server", "--workers", str(workers), "--threads",
                 "4", "--bind", f"127.0.0.1:{port}", "--access-logfile", f"{tmp}/access.log"]
        with open(f"{tmp}/gunicorn.log", "w") as log:
            server = subprocess.Popen(serve, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
        try:
            run(f"http://127.0.0.1:{port}", serve, server, workers)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def run(base: str, serve: list[str], server: subprocess.Popen, workers: int) -> None:
    url = f"{base}/api/v1/aqi/current?city={CITY}"
    wait_until_up(f"{base}/healthz", server)
    with urllib.request.urlopen(url, timeout=30) as response:
        body = json.load(response)
    threads = min(workers, 4)
    wrk(url, 64, 3, threads)  # warm-up: every worker computes and caches the city's current AQI once
    header(f"API load: GET /api/v1/aqi/current?city={CITY} ({body['meta']['found']} stations), warm cache")
    print(f"server: DATABASE_URL=sqlite:///<tmp>/aqi.db (seeded: app.py seed --days {SEED_DAYS}) "
          f"AQI_API_RATE_LIMIT=1000000000/minute {' '.join(serve)}")
    print(f"{'connections':>11} {'req/s':>10} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9} "
          f"{'non-2xx':>8} {'sock err':>8}")
    for connections in CONNECTIONS:
        command, r = wrk(url, connections, SECONDS, threads)
        socket_errors = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
        print(f"{connections:>11} {r['rps']:>10,.0f} {r['p50_ms']:>9.2f} {r['p95_ms']:>9.2f} {r['p99_ms']:>9.2f} "
              f"{r['max_ms']:>9.1f} {r['non_2xx_3xx']:>8} {socket_errors:>8}")
        print(f"{'':>11} {r['requests']:,} requests in {r['seconds']:.1f} s: {' '.join(command)}")


if __name__ == "__main__":
    main()

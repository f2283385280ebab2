"""API load: current AQI of the first city, warm cache, through `make serve` on PostgreSQL + Redis, side by side
with a bare Flask app on the same gunicorn settings answering the same bytes from memory, measured with wrk.

The app runs as `make serve` does (`app.py serve`: config/gunicorn.conf.py, WORKERS × THREADS, Prometheus
multi-process directory) on a private database of TEST_DATABASE_URL's server, seeded by `app.py serve` itself
(AQI_SEED_DAYS=3), and a private database index of TEST_REDIS_URL's server. The rate limit is raised out of the
way (one client address would get 429s) but stays in the path, so its cost is included; so are the security
headers, the access check and the per-request timer. Each shape runs wrk for BENCH_API_SECONDS (8) at 64
connections twice per server (alternating) and once at 1,000 connections, and reports the workers' CPU per
request beside req/s: on a machine shared with other work it moves far less than throughput. BENCH_API_SHAPES
("2x4,2x8": workers × threads) measures several shapes; the default is `make serve`'s.
"""
from __future__ import annotations

import json
import os
import re
import resource
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from bench.common import header, private_postgres, private_redis_db

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("wrk_report.lua")
GUNICORN_CONFIG = ROOT / "config" / "gunicorn.conf.py"
SECONDS = int(os.environ.get("BENCH_API_SECONDS", 8))
SEED_DAYS = 3
RATE_LIMIT = "1000000000/minute"
WRK_THREADS = 2
RUNS = 2  # 64-connection runs per server, alternating app and bare
# Headers the server writes per connection or per moment, not part of the answer the bare app replays.
PER_CONNECTION = {"date", "server", "connection", "content-length", "keep-alive", "transfer-encoding"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_defaults() -> tuple[int, int]:
    """WORKERS and THREADS as `make serve` runs without overrides (Makefile)."""
    makefile = (ROOT / "Makefile").read_text()
    return tuple(int(re.search(rf"^{name} \?= (\d+)$", makefile, re.M).group(1)) for name in ("WORKERS", "THREADS"))


def shapes() -> list[tuple[int, int]]:
    given = os.environ.get("BENCH_API_SHAPES", "")
    if not given:
        return [serve_defaults()]
    return [tuple(int(n) for n in shape.split("x")) for shape in given.split(",")]


def wait_until_up(url: str, server: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer {url} within {timeout_s:.0f} s")


def wrk(url: str, connections: int, seconds: int) -> tuple[list[str], dict]:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
               "-s", str(LUA), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK_RESULT "))
    return command, json.loads(line.removeprefix("WRK_RESULT "))


@contextmanager
def running(command: list[str], env: dict, log_path: str, health_url: str):
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
    try:
        wait_until_up(health_url, server)
        yield server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def bare_command(env: dict, port: int) -> list[str]:
    """gunicorn for bench.bare_app with the settings config/gunicorn.conf.py gives `make serve`."""
    saved = {k: os.environ.get(k) for k in ("WORKERS", "THREADS")}
    os.environ.update(WORKERS=env["WORKERS"], THREADS=env["THREADS"])
    try:
        config = runpy.run_path(str(GUNICORN_CONFIG))
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "bench.bare_app:app", "--bind", f"127.0.0.1:{port}",
               "--workers", str(config["workers"]), "--threads", str(config["threads"])]
    for setting in ("worker_class", "backlog", "keepalive", "worker_connections"):
        if setting in config:
            command += [f"--{setting.replace('_', '-')}", str(config[setting])]
    if config.get("accesslog"):
        command += ["--access-logfile", config["accesslog"]]
    return command


def workers_cpu_s(master: subprocess.Popen) -> float:
    """CPU seconds (user + system) the gunicorn master's workers have used so far."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measured(master: subprocess.Popen, url: str, connections: int) -> dict:
    """wrk's figures, and the workers' CPU per request (robust when other work shares the machine)."""
    before = workers_cpu_s(master)
    _command, r = wrk(url, connections, SECONDS)
    return {**r, "cpu_us": (workers_cpu_s(master) - before) / max(1, r["requests"]) * 1e6}


def save_answer(url: str, path: Path) -> int:
    """The app's answer to `url` as the bare app replays it: body and headers; returns the station count."""
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read()
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in PER_CONNECTION]
    path.with_suffix(".body").write_bytes(body)
    path.write_text(json.dumps(headers))
    return json.loads(body)["meta"]["found"]


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench` installs it (Debian package wrk)")
    # 1,000 connections need as many descriptors in wrk and in gunicorn: lift the soft limit for both.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    database_server = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis_server = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    with (tempfile.TemporaryDirectory(prefix="aqi-api-bench-") as tmp,
          private_postgres(database_server, "aqi_bench") as database_url, private_redis_db(redis_server) as redis_url):
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "AQI_SEED_DAYS": str(SEED_DAYS),
               "AQI_LIVE_SIMULATION": "false", "AQI_FORECAST_BATCH_ENABLED": "false",
               "AQI_API_RATE_LIMIT": RATE_LIMIT, "AQI_FIRST_ADMIN_PASSWORD_FILE": "",
               "PROMETHEUS_MULTIPROC_DIR": f"{tmp}/prometheus", "BENCH_BARE_ANSWER": f"{tmp}/answer.json"}
        os.makedirs(f"{tmp}/prometheus")
        header("API load: make serve (PostgreSQL + Redis) vs a bare Flask app, same gunicorn settings, same bytes")
        print(f"server: DATABASE_URL=<private database on {database_server}> REDIS_URL={redis_url} "
              f"AQI_API_RATE_LIMIT={RATE_LIMIT} AQI_SEED_DAYS={SEED_DAYS} app.py serve (make serve); wrk {SECONDS} s, "
              f"{WRK_THREADS} threads")
        table = [measure_shape(workers, threads, env, tmp) for workers, threads in shapes()]
        if len(table) > 1:
            header("workers × threads (gthread), app at 64 and 1,000 connections")
            print(f"{'shape':>6} {'64: req/s':>10} {'bare':>8} {'ratio':>6} {'CPU ratio':>9} {'1000: req/s':>12} "
                  f"{'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'sock err':>8}")
            for row in table:
                print(f"{row['shape']:>6} {row['app_rps']:>10,.0f} {row['bare_rps']:>8,.0f} {row['ratio']:>6.0%} "
                      f"{row['cpu_ratio']:>9.0%} "
                      f"{row['c1000']['rps']:>12,.0f} {row['c1000']['p50_ms']:>8.0f} {row['c1000']['p90_ms']:>8.0f} "
                      f"{row['c1000']['p99_ms']:>8.0f} {row['c1000']['non_2xx_3xx']:>8} "
                      f"{socket_errors(row['c1000']):>8}")


def socket_errors(r: dict) -> int:
    return r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]


def print_run(label: str, connections: int, r: dict) -> None:
    print(f"{label:>5} {connections:>6} {r['rps']:>9,.0f} {r['p50_ms']:>8.2f} {r['p90_ms']:>8.2f} {r['p99_ms']:>8.2f} "
          f"{r['max_ms']:>8.1f} {r['non_2xx_3xx']:>8} {socket_errors(r):>8} {r['cpu_us']:>10.0f}")


def measure_shape(workers: int, threads: int, env: dict, tmp: str) -> dict:
    app_port, bare_port = free_port(), free_port()
    env = {**env, "WORKERS": str(workers), "THREADS": str(threads), "PORT": str(app_port), "AQI_HOST": "127.0.0.1"}
    app_base, bare_base = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
    python = str(ROOT / ".venv" / "bin" / "python")
    with running([python, "app.py", "serve"], env, f"{tmp}/app-{workers}x{threads}.log",
                 f"{app_base}/healthz") as app_server:
        with urllib.request.urlopen(f"{app_base}/api/v1/cities", timeout=30) as response:
            city = json.load(response)["data"][0]["name"]
        path = f"/api/v1/aqi/current?city={urllib.request.quote(city)}"
        found = save_answer(app_base + path, Path(env["BENCH_BARE_ANSWER"]))
        command = bare_command(env, bare_port)
        with running(command, env, f"{tmp}/bare-{workers}x{threads}.log", bare_base + path) as bare_server:
            servers = (("app", app_server, app_base), ("bare", bare_server, bare_base))
            wrk(app_base + path, 64, 3)  # warm-up: every worker and thread has answered it once
            wrk(bare_base + path, 64, 3)
            print(f"\n{workers} workers × {threads} threads: GET {path} ({found} stations), warm cache")
            print(f"bare app: {' '.join(command)}")
            print(f"{'':>5} {'conns':>6} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
                  f"{'non-2xx':>8} {'sock err':>8} {'CPU µs/req':>10}")
            runs = {"app": [], "bare": []}
            for _ in range(RUNS):
                for label, server, base in servers:
                    runs[label].append(measured(server, base + path, 64))
                    print_run(label, 64, runs[label][-1])
            c1000 = {label: measured(server, base + path, 1000) for label, server, base in servers}
            for label, r in c1000.items():
                print_run(label, 1000, r)
    app_rps, bare_rps = (sum(r["rps"] for r in runs[label]) / RUNS for label in ("app", "bare"))
    app_cpu, bare_cpu = (sum(r["cpu_us"] for r in runs[label]) / RUNS for label in ("app", "bare"))
    print(f"64 connections: app {app_rps:,.0f} req/s, bare {bare_rps:,.0f} req/s: ratio {app_rps / bare_rps:.0%} "
          f"(target ≥ 60 %); workers' CPU per request: app {app_cpu:.0f} µs, bare {bare_cpu:.0f} µs "
          f"({bare_cpu / app_cpu:.0%})")
    print(f"1,000 connections: app p50 {c1000['app']['p50_ms']:.0f} ms, p90 {c1000['app']['p90_ms']:.0f} ms, p99 "
          f"{c1000['app']['p99_ms']:.0f} ms (targets < 500 ms, < 1,000 ms), non-2xx {c1000['app']['non_2xx_3xx']}, "
          f"socket errors {socket_errors(c1000['app'])}")
    return {"shape": f"{workers}x{threads}", "app_rps": app_rps, "bare_rps": bare_rps, "ratio": app_rps / bare_rps,
            "cpu_ratio": bare_cpu / app_cpu, "c1000": c1000["app"]}


if __name__ == "__main__":
    main()

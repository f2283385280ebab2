"""Scale-out: two `app.py serve` hosts (gunicorn, as `make serve`) on different ports sharing one private PostgreSQL
database and one Redis database index (then a local 3-node Redis Cluster), loaded with wrk alone and both at once;
then the panel's request count, read from either host, against what was sent to both. Last, a private PostgreSQL
primary + streaming standby: replica lag under a bulk load, reads on each, and the fall-back when it stops.

GET /api/v1/aqi/current of the first city with a warm cache, 64 connections per host, BENCH_API_SECONDS (8) per
run; each host is BENCH_SCALE_SHAPE ("2x4": workers × threads). On a machine with fewer cores than the two hosts
and wrk need, "adds up" cannot hold: the figure to watch is that two hosts do not serve less than one.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from bench.api_load import RATE_LIMIT, ROOT, SECONDS, SEED_DAYS, free_port, running, socket_errors, wrk
from bench.common import describe, header, private_postgres, private_redis_db, sample_ms
from core import context, snapshots
from core.db import migrate
from core.db.engine import REPLICA_RETRY_S
from core.ingest.seed import seed
from core.metrics import METRICS
from core.settings import load_settings
from core.thresholds import replica_check
from core.users import create_user
from tests.services.local_servers import LocalRedisCluster, PostgresPair  # the servers the tests start

SHAPE = os.environ.get("BENCH_SCALE_SHAPE", "2x4")
CONNECTIONS = 64
ROUNDS = 2
REPLICA_SEED_DAYS, REPLICA_SEED_STATIONS = 14, 300
EXACT_CLIENTS, EXACT_PER_CLIENT = 8, 40  # per host, for the exact count (wrk does not count its last in-flight ones)
OPERATOR, PASSWORD = "bench-operator", "bench operator password"
ROUTE = "GET /api/v1/aqi/current"


def panel_count(base: str) -> int:
    """Requests of ROUTE the panel shows over the last hour (GET /api/v1/metrics), once every host has flushed."""
    def read() -> int:
        response = httpx.get(f"{base}/api/v1/metrics", params={"window": 3600}, auth=(OPERATOR, PASSWORD),
                             timeout=30)
        response.raise_for_status()
        return next((t["count"] for t in response.json()["timers"] if t["kind"] == "api" and t["name"] == ROUTE), 0)

    # Workers flush into Redis every second: the count is final once it stops moving for two flushes.
    previous, current = -1, read()
    while current != previous:
        time.sleep(2.5)
        previous, current = current, read()
    return current


def load(urls: list[str]) -> list[dict]:
    """wrk against each URL at once (one wrk process per host)."""
    results: list[dict | None] = [None] * len(urls)

    def run(i: int) -> None:
        results[i] = wrk(urls[i], CONNECTIONS, SECONDS)[1]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(urls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def exact(urls: list[str]) -> int:
    """EXACT_CLIENTS clients per host sending EXACT_PER_CLIENT requests each, every answer checked; how many."""
    def get(url: str) -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(EXACT_PER_CLIENT):
                client.get(url).raise_for_status()

    with ThreadPoolExecutor(len(urls) * EXACT_CLIENTS) as pool:
        list(pool.map(get, [url for url in urls for _ in range(EXACT_CLIENTS)]))
    return len(urls) * EXACT_CLIENTS * EXACT_PER_CLIENT


def two_hosts(database_server: str, redis_url: str, cluster: bool) -> None:
    """Two `app.py serve` hosts on one private database and this Redis (a cluster node when cluster)."""
    workers, threads = SHAPE.split("x")
    with (tempfile.TemporaryDirectory(prefix="aqi-scale-bench-") as tmp,
          private_postgres(database_server, "aqi_scale") as database_url):
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
               "AQI_REDIS_CLUSTER": str(cluster).lower(), "AQI_SEED_DAYS": str(SEED_DAYS),
               "AQI_LIVE_SIMULATION": "false", "AQI_FORECAST_BATCH_ENABLED": "false",
               "AQI_API_RATE_LIMIT": RATE_LIMIT, "AQI_FIRST_ADMIN_PASSWORD_FILE": "", "AQI_HOST": "127.0.0.1",
               "WORKERS": workers, "THREADS": threads}
        ports = [free_port(), free_port()]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        header(f"Scale-out: two app.py serve hosts ({workers} workers × {threads} threads each), one PostgreSQL "
               f"database, {'a 3-node Redis Cluster' if cluster else 'one Redis'}")
        print(f"DATABASE_URL=<private database on {database_server}> REDIS_URL={redis_url}; wrk {SECONDS} s, "
              f"{CONNECTIONS} connections per host; load average before: {os.getloadavg()[0]:.1f}")
        python = str(ROOT / ".venv" / "bin" / "python")
        hosts = [{**env, "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": f"{tmp}/prometheus-{port}"} for port in ports]
        for host in hosts:
            os.makedirs(host["PROMETHEUS_MULTIPROC_DIR"])
        # The first host migrates and seeds the empty database; the second then finds it ready.
        with running([python, "app.py", "serve"], hosts[0], f"{tmp}/host-1.log", f"{bases[0]}/healthz"), \
                running([python, "app.py", "serve"], hosts[1], f"{tmp}/host-2.log", f"{bases[1]}/healthz"):
            engine = create_engine(database_url)
            create_user(engine, OPERATOR, "operator", PASSWORD)
            engine.dispose()
            with urllib.request.urlopen(f"{bases[0]}/api/v1/cities", timeout=30) as response:
                city = json.load(response)["data"][0]["name"]
            path = f"/api/v1/aqi/current?city={urllib.parse.quote(city)}"
            urls = [base + path for base in bases]
            load(urls)  # warm-up: every worker and thread of both hosts has answered once
            before = panel_count(bases[0])
            print(f"\nGET {path}, warm cache; {ROUNDS} rounds, alternating")
            print(f"{'run':>16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'sock err':>8}")
            sent, runs, one, two = 0, 0, [], []
            for _ in range(ROUNDS):
                rows = {"host 1 alone": load(urls[:1]), "host 2 alone": load(urls[1:]), "both at once": load(urls)}
                for label, results in rows.items():
                    sent += sum(r["requests"] for r in results)
                    runs += len(results)
                    print(f"{label:>16} {sum(r['rps'] for r in results):>9,.0f} "
                          f"{max(r['p50_ms'] for r in results):>8.1f} {max(r['p99_ms'] for r in results):>8.1f} "
                          f"{sum(r['non_2xx_3xx'] for r in results):>8} {sum(socket_errors(r) for r in results):>8}")
                one += [rows["host 1 alone"][0]["rps"], rows["host 2 alone"][0]["rps"]]
                two.append(sum(r["rps"] for r in rows["both at once"]))
            one_rps, two_rps = sum(one) / len(one), sum(two) / len(two)
            counted = panel_count(bases[1]) - before
            print(f"one host {one_rps:,.0f} req/s (mean of {len(one)} runs), two hosts at once {two_rps:,.0f} req/s "
                  f"(mean of {len(two)}): {two_rps / one_rps:.2f}× on {os.cpu_count()} CPUs")
            print(f"panel (read from host 2) counted {counted:,} requests; wrk completed {sent:,} "
                  f"(+{counted - sent} answered after wrk stopped reading; at most {runs * CONNECTIONS} in flight); "
                  f"load average {os.getloadavg()[0]:.1f}")
            before = panel_count(bases[0])
            exact_sent = exact(urls)
            seen = [panel_count(base) - before for base in bases]
            print(f"exact count: {exact_sent:,} requests checked one by one across both hosts; the panel counts "
                  f"{seen[0]:,} from host 1 and {seen[1]:,} from host 2"
                  + (" (equal)" if seen == [exact_sent] * 2 else " (DIFFERENT)"))


def replica() -> None:
    """A private primary + asynchronous standby: lag while seeding, the current snapshot read on each, and the
    cost of falling back when the standby stops."""
    header("Read replica: a private primary and its streaming standby (initdb, pg_basebackup -R)")
    with tempfile.TemporaryDirectory(prefix="aqi-pg-pair-") as root:
        pair = PostgresPair(Path(root))
        started = time.perf_counter()
        pair.start()
        print(f"pair started (initdb, start, pg_basebackup -R, standby streaming) in "
              f"{time.perf_counter() - started:.1f} s")
        try:
            ctx = context.build(load_settings(database_url=pair.url(pair.primary_port), redis_url="",
                                              database_read_url=pair.url(pair.replica_port)))
            migrate.upgrade(ctx.engine)
            peak = {"bytes": 0.0, "seconds": 0.0}
            seeding = threading.Event()

            def sample() -> None:
                while not seeding.is_set():
                    lag = ctx.replica.report()
                    for key in peak:
                        if lag[key] == lag[key]:  # not NaN
                            peak[key] = max(peak[key], lag[key])
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.perf_counter()
            totals = seed(ctx.engine, REPLICA_SEED_DAYS, REPLICA_SEED_STATIONS, seed=42)
            seconds = time.perf_counter() - started
            seeding.set()
            sampler.join()
            while ctx.replica.report()["bytes"] > 0:
                time.sleep(0.01)
            caught = time.perf_counter() - started - seconds
            print(f"seeding {totals['measurements']:,} rows on the primary in {seconds:.1f} s: lag sampled every "
                  f"50 ms peaked at {peak['bytes'] / 2**20:.1f} MiB of WAL and {peak['seconds']:.2f} s; "
                  f"caught up {caught:.2f} s after the last commit")
            for label, read in (("standby", ctx.read_session), ("primary", ctx.session)):
                def current() -> None:
                    with read() as session:
                        snapshots.station_snapshot(session, "us_epa")
                print(f"current snapshot of {REPLICA_SEED_STATIONS} stations read on the {label}: "
                      f"{describe(sample_ms(current, 20))}")
            pair.stop_replica()

            def select_one() -> float:
                started = time.perf_counter()
                with ctx.read_session() as session:
                    session.execute(text("SELECT 1"))
                return (time.perf_counter() - started) * 1000

            first, then = select_one(), select_one()
            print(f"standby stopped: the first read (SELECT 1) fell back to the primary in {first:.1f} ms, the next "
                  f"took {then:.1f} ms (reads skip the standby for {REPLICA_RETRY_S:.0f} s, then try it again); "
                  f"the panel's replica check: {replica_check(ctx.settings, METRICS.sink.gauges('db_replica')).status}")
            ctx.close()
        finally:
            pair.stop()


def main() -> None:
    database_server = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis_server = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    with private_redis_db(redis_server) as redis_url:
        two_hosts(database_server, redis_url, cluster=False)
    with tempfile.TemporaryDirectory(prefix="aqi-redis-cluster-") as root:
        nodes = LocalRedisCluster(Path(root))
        nodes.start()
        try:
            two_hosts(database_server, nodes.url, cluster=True)
        finally:
            nodes.stop()
    replica()


if __name__ == "__main__":
    main()

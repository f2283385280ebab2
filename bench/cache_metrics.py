"""Cache and metrics figures: replayed dashboard use → hit rate (target ≥ 95 %); cost of recording a metric
(target < 50 µs per sample with Redis)."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

import orjson
import redis

from bench.api_load import ROOT, free_port, wait_until_up, wrk
from bench.common import header
from core import catalog, context
from core.cache import hit_rates, overall_hit_rate
from core.db.migrate import upgrade
from core.ingest.seed import seed
from core.metrics import METRICS, LocalSink, MetricsStore, RedisSink
from core.settings import load_settings
from dashboard import create_app

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def record_cost() -> None:
    header("Cost of recording one metric sample")
    for label, sink in (("in-process", LocalSink()), ("Redis (buffered, flushed each second)", RedisSink(REDIS_URL))):
        store = MetricsStore(sink)
        n = 200_000
        started = time.perf_counter()
        for i in range(n):
            store.record("bench", "sample", (i % 500) / 10)
        per_sample = (time.perf_counter() - started) / n * 1e6
        flush_started = time.perf_counter()
        sink.flush()
        flush_ms = (time.perf_counter() - flush_started) * 1000
        print(f"{label:40s} {per_sample:6.2f} µs/sample (flush of the buffer: {flush_ms:.1f} ms)   "
              f"target < 50 µs: {'MET' if per_sample < 50 else 'MISSED'}")
    redis.Redis.from_url(REDIS_URL).flushdb()


def callback_request(app, output: str, values: dict) -> bytes:
    """The JSON body Dash's renderer posts for one callback, with `values` for its inputs and states."""
    spec = app.callback_map[output]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in output.strip(".").split("...")]
    return orjson.dumps({
        "output": output, "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{**i, "value": values.get(i["id"])} for i in spec["inputs"]],
        "state": [{**s, "value": values.get(s["id"])} for s in spec["state"]],
        "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"],
    })


def replay_hit_rate(requests: int = 1000) -> None:
    """Analysts across all cities: map refreshes, standard and pollutant switches, station clicks, API reads."""
    header(f"Replay of dashboard use ({requests} requests from a cold Redis cache, seeded SQLite)")
    workdir = tempfile.mkdtemp(prefix="aqi-bench-")
    redis.Redis.from_url(REDIS_URL).flushdb()
    # A cold cache with the real TTLs: every first read of a city, standard or list is a miss in the figure.
    ctx = context.build(load_settings(database_url=f"sqlite:///{workdir}/aqi.db", redis_url=REDIS_URL,
                                      live_simulation=False, cache_warm_on_start=False))
    upgrade(ctx.engine)
    seed(ctx.engine, days=3, n_stations=84)
    app = create_app(ctx=ctx)
    METRICS.use(RedisSink(REDIS_URL))  # counted from here on: not the seeding
    client = app.server.test_client()
    client.get("/")  # Dash registers the pages' callbacks on the first request
    map_output = next(k for k in app.callback_map if "map-graph.figure" in k)
    panel_output = next(k for k in app.callback_map if "map-station-panel.children" in k)
    cities = [c["name"] for c in catalog.cities(ctx)]
    stations = [s["id"] for s in catalog.stations(ctx)]
    rng = random.Random(5)
    started = time.perf_counter()
    for _ in range(requests):
        standard = rng.choice(["us_epa", "us_epa", "us_epa", "india_naqi", "eea"])
        city = rng.choice(["", *cities])
        action = rng.random()
        if action < 0.5:  # map refresh or a switch of city, standard or pollutant
            body = callback_request(app, map_output, {"map-standard": standard, "map-city": city,
                                                      "map-pollutant": rng.choice(["aqi", "pm25", "o3"])})
            response = client.post("/_dash-update-component", data=body, content_type="application/json")
        elif action < 0.8:  # a station click
            body = callback_request(app, panel_output, {"map-selected": rng.choice(stations),
                                                        "map-standard": standard, "map-city": city})
            response = client.post("/_dash-update-component", data=body, content_type="application/json")
        else:  # an API client
            response = client.get(f"/api/v1/aqi/current?standard={standard}" + (f"&city={city}" if city else ""))
        assert response.status_code in (200, 204), response.get_data(as_text=True)[:300]
    took = time.perf_counter() - started
    METRICS.sink.flush()
    window = METRICS.window(600)
    rate = overall_hit_rate(window, 600)
    for namespace, r in hit_rates(window, 600).items():
        if r["hits"] + r["misses"]:
            print(f"  {namespace:12s} hits {r['hits']:5d}  misses {r['misses']:4d}  hit rate {r['hit_rate']:.1%}")
    print(f"overall hit rate {rate:.1%} over {requests} requests in {took:.1f} s   target >= 95 %: "
          f"{'MET' if rate >= 0.95 else 'MISSED'}")
    ctx.close()


def cached_vs_uncached(connections: int = 64, seconds: int = 15) -> None:
    """Throughput of the current-AQI endpoint through gunicorn with the cache on and off, same data."""
    header(f"Current AQI for Delhi through gunicorn, cache on vs off ({connections} connections, {seconds} s)")
    if shutil.which("wrk") is None:
        print("wrk is not installed: `make bench` installs it (Debian package wrk)")
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="aqi-cache-bench-") as tmp:
        base_env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/aqi.db", "REDIS_URL": REDIS_URL,
                    "AQI_LIVE_SIMULATION": "false", "AQI_API_RATE_LIMIT": "1000000000/minute"}
        python = str(ROOT / ".venv" / "bin" / "python")
        subprocess.run([python, "app.py", "seed", "--days", "3"], env=base_env, cwd=ROOT, check=True,
                       capture_output=True)
        for label, enabled in (("cache on (Redis)", "true"), ("cache off", "false")):
            redis.Redis.from_url(REDIS_URL).flushdb()
            port = free_port()
            workers = len(os.sched_getaffinity(0))
            serve = [str(ROOT / ".venv" / "bin" / "gunicorn"), "app:server", "--workers", str(workers),
                     "--threads", "4", "--bind", f"127.0.0.1:{port}"]
            env = {**base_env, "AQI_CACHE_ENABLED": enabled}
            with open(f"{tmp}/gunicorn-{enabled}.log", "w") as log:
                server = subprocess.Popen(serve, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
            try:
                url = f"http://127.0.0.1:{port}/api/v1/aqi/current?city=Delhi"
                wait_until_up(f"http://127.0.0.1:{port}/healthz", server)
                wrk(url, connections, 3, min(workers, 4))  # warm-up
                command, r = wrk(url, connections, seconds, min(workers, 4))
                results[label] = r
                print(f"{label:18s} {r['rps']:>8,.0f} req/s   p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   "
                      f"p99 {r['p99_ms']:7.1f} ms   non-2xx {r['non_2xx_3xx']}")
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
        print(f"command: {' '.join(command)}")
    on, off = results["cache on (Redis)"]["rps"], results["cache off"]["rps"]
    print(f"throughput ratio, cached / uncached: {on / off:.1f}×")


def main() -> None:
    record_cost()
    replay_hit_rate()
    cached_vs_uncached()

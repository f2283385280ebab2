"""Cache and metrics figures: replayed dashboard use → hit rate (target ≥ 95 %); cost of recording a metric
(target < 50 µs per sample with Redis)."""
from __future__ import annotations

import os
import random
import tempfile
import time

import orjson
import redis

from bench.common import header
from core.metrics import METRICS, LocalSink, MetricsStore, RedisSink

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


def replay_hit_rate(requests: int = 600) -> None:
    """Analysts across all cities: map refreshes, standard and pollutant switches, station clicks, API reads."""
    header(f"Replay of dashboard use ({requests} requests, Redis cache, seeded SQLite)")
    workdir = tempfile.mkdtemp(prefix="aqi-bench-")
    # Entries expire during the replay (TTL 10 s instead of 180 s; the replay is compressed in time likewise),
    # so refreshes and misses are part of the figure, not just a warm cache.
    os.environ.update({"DATABASE_URL": f"sqlite:///{workdir}/aqi.db", "REDIS_URL": REDIS_URL,
                       "AQI_LIVE_SIMULATION": "false", "AQI_CACHE_WARM_ON_START": "false",
                       "AQI_TTL_CURRENT_AQI": "10", "AQI_TTL_STATIONS": "60"})
    redis.Redis.from_url(REDIS_URL).flushdb()
    from core import catalog
    from core.db.engine import get_engine
    from core.db.migrate import upgrade
    from core.ingest.seed import seed
    from core.warmup import warm_cache
    from dashboard import create_app

    upgrade(get_engine())
    seed(get_engine(), days=3, n_stations=84)
    app = create_app()
    METRICS.use(MetricsStore(RedisSink(REDIS_URL)).sink)
    warm = warm_cache()
    client = app.server.test_client()
    client.get("/")  # Dash registers the pages' callbacks on the first request
    map_output = next(k for k in app.callback_map if "map-graph.figure" in k)
    panel_output = next(k for k in app.callback_map if "map-station-panel.children" in k)
    cities = [c["name"] for c in catalog.cities()]
    stations = [s["id"] for s in catalog.stations()]
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
    from core.cache import hit_rates, overall_hit_rate

    window = METRICS.window(600)
    rate = overall_hit_rate(window, 600)
    print(f"warmed first: {warm}")
    for namespace, r in hit_rates(window, 600).items():
        if r["hits"] + r["misses"]:
            print(f"  {namespace:12s} hits {r['hits']:5d}  misses {r['misses']:4d}  hit rate {r['hit_rate']:.1%}")
    print(f"overall hit rate {rate:.1%} over {requests} requests in {took:.1f} s   target >= 95 %: "
          f"{'MET' if rate >= 0.95 else 'MISSED'}")


def main() -> None:
    record_cost()
    replay_hit_rate()

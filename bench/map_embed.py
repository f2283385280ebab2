"""Map and embed figures: map callback server time (warm cache, biggest city), payload per map update, and the
embed's first-load size — all compressed as a browser would receive them.

In process, over a temporary SQLite database seeded with 4 days for 84 stations; requests go through the Flask
test client with `Accept-Encoding: gzip`, so Flask-Compress and every after_request hook are in the path but the
network is not (server time only).
"""
from __future__ import annotations

import json
import tempfile
import time
from datetime import datetime, timezone

import numpy as np

from bench.common import header
from core import catalog, context
from core.db.migrate import upgrade
from core.ingest.seed import seed
from core.settings import load_settings
from dashboard import create_app

SEED_DAYS, SEED_STATIONS = 4, 84
ROUNDS = 3


def _payload(city: str, hour: int, layers: list[str], standard: str = "us_epa", pollutant: str = "aqi") -> dict:
    inputs = [("map-standard", "value", standard), ("map-pollutant", "value", pollutant), ("map-city", "value", city),
              ("map-time", "value", hour), ("map-layers", "value", layers), ("map-palette", "value", False),
              ("map-refresh", "n_intervals", None), ("map-selected", "data", None)]
    outputs = [("map-graph", "figure"), ("map-legend", "children"), ("map-as-of", "children")]
    return {"output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
            "outputs": [{"id": i, "property": p} for i, p in outputs],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "changedPropIds": ["map-time.value"], "state": []}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="aqi-map-bench-") as tmp:
        ctx = context.build(load_settings(database_url=f"sqlite:///{tmp}/aqi.db", redis_url="", live_simulation=False,
                                          cache_warm_on_start=False, environment="test"))
        end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        upgrade(ctx.engine)
        seed(ctx.engine, SEED_DAYS, SEED_STATIONS, seed=42, end=end)
        app = create_app(ctx=ctx)
        client = app.server.test_client()
        client.get("/")  # Dash builds its routes and layout on the first request
        city = max(catalog.cities(ctx), key=lambda c: c["stations"])
        latest = int(end.timestamp() // 3600)
        hours = list(range(latest - 71, latest + 1))

        header(f"map callback: {city['name']} ({city['stations']} stations), 72-hour playback, warm cache")
        for label, layers in (("markers", ["reference", "low_cost"]), ("markers + IDW surface",
                                                                         ["surface", "reference", "low_cost"])):
            def update(hour: int) -> tuple[float, int, int]:
                body = json.dumps(_payload(city["name"], hour, layers))
                start = time.perf_counter()
                response = client.post("/_dash-update-component", data=body, content_type="application/json",
                                       headers={"Accept-Encoding": "gzip"})
                ms = (time.perf_counter() - start) * 1000
                assert response.status_code == 200, (response.status_code, response.data[:200])
                raw = len(response.get_data()) if response.headers.get("Content-Encoding") != "gzip" else None
                return ms, len(response.data), raw or 0
            cold = [update(h)[0] for h in hours]  # fills the cache: every hour once
            warm = [update(h) for _ in range(ROUNDS) for h in hours]
            ms = np.array([w[0] for w in warm])
            sizes = np.array([w[1] for w in warm])
            print(f"{label:24s} cold p95 {np.percentile(cold, 95):7.1f} ms | warm p50 {np.percentile(ms, 50):6.1f} ms "
                  f"p95 {np.percentile(ms, 95):6.1f} ms (n={ms.size}) | payload gzip median "
                  f"{np.median(sizes) / 1024:5.1f} KB, max {sizes.max() / 1024:5.1f} KB")

        png = client.get(f"/export/surface.png?city={city['name']}&scope={city['name']}&standard=us_epa&pollutant=aqi")
        print(f"{'':24s} + the surface overlay: one PNG of {len(png.data) / 1024:.1f} KB per city and hour "
              f"(status {png.status_code}, browser-cached {png.headers.get('Cache-Control')})")

        header("embed first load (all requests, gzip)")
        total = 0
        page = client.get(f"/embed/city/{city['name']}", headers={"Accept-Encoding": "gzip"})
        raw = len(page.data)
        total += raw + sum(len(k) + len(v) + 4 for k, v in page.headers.items())
        print(f"/embed/city/{city['name']}: status {page.status_code}, body {raw / 1024:.1f} KB "
              f"({page.headers.get('Content-Encoding', 'identity')}), with headers {total / 1024:.1f} KB; "
              "no other request (CSS, JS and the SVG map are inline)")
        print(f"embed first-load total: {total / 1024:.1f} KB compressed (budget 300 KB)")
        ctx.close()


if __name__ == "__main__":
    main()

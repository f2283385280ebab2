"""Map and embed figures at real scale: map callback server time (warm cache) and payload per update at 5,000
stations, side by side with the map figure as it was before grouping and bands; and the embed's first load.

The stations are the real AirNow sites of the shared samples (coordinates and 12 hours of readings), each
copied with its coordinates jittered and its values scaled, up to STATIONS, into a temporary SQLite database.
Requests go through the Flask test client with `Accept-Encoding: gzip`, so Flask-Compress and every
after_request hook are in the path but the network is not (server time only). The "before" figure is the
builder of commit BEFORE, read from git, on the same snapshot.
"""
from __future__ import annotations

import gc
import gzip
import json
import subprocess
import tempfile
import time
import types

import numpy as np
import pandas as pd
import plotly.io as pio

from bench.common import header
from core import catalog, context
from core.aqi.engine import categories
from core.db.migrate import upgrade
from core.ingest.files import import_file
from core.settings import ROOT, load_settings
from core.snapshots import current
from dashboard import create_app

SAMPLES = ROOT.parent / "shared" / "samples" / "airnow"
STATIONS = 5000
JITTER_DEG = 0.8  # spread of the copies around each real site
BEFORE = "b842e5a"  # the map figure before grouping and category bands
ROUNDS = 3


def _load_real_sites(ctx) -> None:
    for path in [SAMPLES / "monitoring_site_locations.dat", *sorted(SAMPLES.glob("HourlyData_*.dat"))]:
        import_file(ctx.engine, path)


def _jitter_to(ctx, total: int, seed: int = 7) -> int:
    """Copy the real sites (jittered coordinates, values scaled per copy) until there are `total` stations."""
    rng = np.random.default_rng(seed)
    with ctx.engine.begin() as conn:
        sites = pd.read_sql("SELECT * FROM stations WHERE lat IS NOT NULL AND active", conn)
        readings = pd.read_sql("SELECT * FROM measurements", conn)
        next_id = int(pd.read_sql("SELECT max(id) AS m FROM stations", conn)["m"][0]) + 1
        copies, values = [], []
        for k in range(int(np.ceil(total / len(sites))) - 1):
            batch = sites.copy()
            batch["id"] = np.arange(next_id, next_id + len(batch))
            next_id += len(batch)
            batch["code"] = batch["code"] + f"-j{k}"
            batch["lat"] = np.clip(batch["lat"] + rng.normal(0, JITTER_DEG, len(batch)), -80, 80)
            batch["lon"] = batch["lon"] + rng.normal(0, JITTER_DEG, len(batch))
            copies.append(batch)
            scale = dict(zip(sites["id"], rng.lognormal(0, 0.35, len(sites))))
            mine = readings[readings["station_id"].isin(scale)].copy()
            mine["value"] = mine["value"] * mine["station_id"].map(scale)
            mine["station_id"] = mine["station_id"].map(dict(zip(sites["id"], batch["id"])))
            values.append(mine)
        stations = pd.concat(copies).head(total - len(sites))
        keep = set(stations["id"])
        pd.concat(values).loc[lambda f: f["station_id"].isin(keep)].to_sql("measurements", conn, if_exists="append",
                                                                            index=False)
        stations.to_sql("stations", conn, if_exists="append", index=False)
    return len(sites) + len(stations)


def _before_builder() -> types.ModuleType:
    """dashboard/figures.py as it was at BEFORE, as a module."""
    source = subprocess.run(["git", "show", f"{BEFORE}:dashboard/figures.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("figures_before")
    exec(compile(source, "figures_before.py", "exec"), module.__dict__)  # noqa: S102 - our own file, from git
    return module


def _payload(hour: int, layers: list[str], cluster_zoom: dict | None) -> dict:
    inputs = [("map-standard", "value", "us_epa"), ("map-pollutant", "value", "aqi"), ("map-city", "value", ""),
              ("map-time", "value", hour), ("map-layers", "value", layers), ("map-palette", "value", False),
              ("map-refresh", "n_intervals", None), ("map-selected", "data", None),
              ("map-cluster-zoom", "data", cluster_zoom)]
    outputs = [("map-graph", "figure"), ("map-legend", "children"), ("map-as-of", "children")]
    return {"output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
            "outputs": [{"id": i, "property": p} for i, p in outputs],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "changedPropIds": ["map-time.value"], "state": []}


def _before_figure(before, snapshot: dict) -> tuple[float, int]:
    """(build + JSON ms, gzip bytes) of the figure as it was, on the same snapshot."""
    stations = snapshot["stations"]
    start = time.perf_counter()
    center, zoom = before.fit_view([s["lat"] for s in stations], [s["lon"] for s in stations])
    fig = before.map_figure(stations, "aqi", "us_epa", categories("us_epa"), "", "", center, zoom)
    body = pio.to_json(fig, validate=False)
    return (time.perf_counter() - start) * 1000, len(gzip.compress(body.encode(), 6))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="aqi-map-bench-") as tmp:
        ctx = context.build(load_settings(database_url=f"sqlite:///{tmp}/aqi.db", redis_url="", live_simulation=False,
                                          cache_warm_on_start=False, environment="test", map_tiles=""))
        upgrade(ctx.engine)
        _load_real_sites(ctx)
        total = _jitter_to(ctx, STATIONS)
        app = create_app(ctx=ctx)
        client = app.server.test_client()
        client.get("/")  # Dash builds its routes and layout on the first request
        gc.freeze()  # as each gunicorn worker does once its app is built (config/gunicorn.conf.py)
        latest = current(ctx, "us_epa")["as_of"]
        hours = [int(latest.timestamp() // 3600) - h for h in range(12)]

        header(f"map callback: all {total:,} stations (real AirNow sites jittered), 12 hours, warm cache")
        figures = {}
        for label, layers, zoom in (("first view (grouped)", ["reference", "low_cost"], None),
                                    ("zoomed in (every station)", ["reference", "low_cost"], {"city": "", "level": 9}),
                                    ("first view + bands", ["surface", "reference", "low_cost"], None)):
            def update(hour: int, layers=layers, zoom=zoom) -> tuple[float, int]:
                body = json.dumps(_payload(hour, layers, zoom))
                start = time.perf_counter()
                response = client.post("/_dash-update-component", data=body, content_type="application/json",
                                       headers={"Accept-Encoding": "gzip"})
                ms = (time.perf_counter() - start) * 1000
                assert response.status_code == 200, (response.status_code, response.data[:200])
                return ms, len(response.data)
            cold = [update(h)[0] for h in hours]  # fills the caches: every hour once
            warm = [update(h) for _ in range(ROUNDS) for h in hours]
            ms, sizes = np.array([w[0] for w in warm]), np.array([w[1] for w in warm])
            figures[label] = (float(np.percentile(ms, 95)), float(np.median(sizes)))
            print(f"{label:27s} cold p95 {np.percentile(cold, 95):7.0f} ms | warm p50 {np.percentile(ms, 50):6.0f} ms "
                  f"p95 {np.percentile(ms, 95):6.0f} ms (n={ms.size}) | update gzip median "
                  f"{np.median(sizes) / 1024:6.1f} KB, max {sizes.max() / 1024:6.1f} KB")

        before = _before_builder()
        snapshot = current(ctx, "us_epa")
        runs = [_before_figure(before, snapshot) for _ in range(ROUNDS)]
        before_ms, before_bytes = max(r[0] for r in runs), runs[0][1]
        print(f"{'before (' + BEFORE + ')':27s} figure build + JSON {before_ms:6.0f} ms (worst of {ROUNDS}, callback "
              f"overhead not included) | figure gzip {before_bytes / 1024:6.1f} KB")
        grouped_ms, grouped_bytes = figures["first view (grouped)"]
        print(f"ratios, first view vs before: bytes {before_bytes / grouped_bytes:4.1f}× smaller, "
              f"time {before_ms / grouped_ms:4.1f}× (whole callback p95 vs figure alone before)")

        header("embed first load (all requests, gzip)")
        city = max(catalog.cities(ctx), key=lambda c: c["stations"])
        page = client.get(f"/embed/city/{city['name']}", headers={"Accept-Encoding": "gzip"})
        total_bytes = len(page.data) + sum(len(k) + len(v) + 4 for k, v in page.headers.items())
        print(f"/embed/city/{city['name']}: status {page.status_code}, body {len(page.data) / 1024:.1f} KB "
              f"({page.headers.get('Content-Encoding', 'identity')}), with headers {total_bytes / 1024:.1f} KB; "
              "no other request (CSS, JS and the SVG map are inline); budget 300 KB")
        ctx.close()


if __name__ == "__main__":
    main()

"""Cache warming: what the pages and the API read first, for every city and standard."""
from __future__ import annotations

import time

from core import catalog
from core.aqi.standards import STANDARD_CODES
from core.context import Context
from core.snapshots import compute_current


def warm_cache(ctx: Context, progress=None) -> list[dict]:
    """Recompute and store every first-read entry; report per namespace what was warmed and how long it took."""
    cache = ctx.cache
    report = []
    started = time.perf_counter()
    cities = cache.refresh("stations", ("cities",), lambda: catalog.load_cities(ctx))
    names = [c["name"] for c in cities]
    for city in [None, *names]:
        cache.refresh("stations", ("stations", city), lambda: catalog.load_stations(ctx, city))
    report.append({"namespace": "stations", "entries": 2 + len(names),
                   "seconds": round(time.perf_counter() - started, 3)})
    started = time.perf_counter()
    targets = [(standard, city) for standard in STANDARD_CODES for city in [None, *names]]
    for done, (standard, city) in enumerate(targets, start=1):
        cache.refresh("current_aqi", (standard, city), lambda: compute_current(ctx, standard, city))
        if progress:
            progress(done, len(targets))
    report.append({"namespace": "current_aqi", "entries": len(targets),
                   "seconds": round(time.perf_counter() - started, 3)})
    return report

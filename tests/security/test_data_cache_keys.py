"""Untrusted names never reach the cache: unambiguous keys, names checked against the catalogue first."""
from datetime import datetime, timezone

import httpx
import pytest

from core import catalog, export
from core.cache import AppCache
from core.interpolation import surfaces
from core.snapshots import current, snapshot_at

HOUR = datetime(2026, 11, 19, 6, tzinfo=timezone.utc)


def test_a_city_named_star_does_not_take_the_all_cities_key():
    assert AppCache.key("stations", "stations", "*") != AppCache.key("stations", "stations", None)
    assert AppCache.key("current_aqi", "us_epa", "None") != AppCache.key("current_aqi", "us_epa", None)


def test_a_city_and_an_hour_do_not_take_a_past_snapshot_key():
    joined = AppCache.key("current_aqi", "us_epa", f"Delhi:{HOUR.isoformat()}")
    assert joined != AppCache.key("current_aqi", "us_epa", "Delhi", HOUR.isoformat())


def test_unknown_cities_are_refused_by_core_before_anything_is_cached(pg_context, seeded_pg):
    ctx = pg_context()
    ctx.cache.clear()
    for read in (lambda: catalog.stations(ctx, "*"), lambda: current(ctx, "us_epa", "*"),
                 lambda: snapshot_at(ctx, "us_epa", "Delhi:2026", HOUR),
                 lambda: surfaces(ctx, "us_epa", "*", None, "aqi"),
                 lambda: export.selection(ctx, None, "*", None, HOUR, HOUR.replace(hour=9))):
        with pytest.raises(catalog.UnknownCity, match="no city named"):
            read()
    for parts in (("stations", "*"), ("us_epa", "*")):
        assert ctx.cache.backend.get(AppCache.key("stations", *parts)) is None
        assert ctx.cache.backend.get(AppCache.key("current_aqi", *parts)) is None
    assert catalog.stations(ctx), "the all-stations list is still whole"
    with pytest.raises(catalog.UnknownStation):
        export.selection(ctx, 999_999, None, None, HOUR, HOUR.replace(hour=9))


def test_star_cities_over_http_are_404s_and_leave_the_map_whole(live_server):
    base = live_server()
    before = httpx.get(f"{base}/api/v1/aqi/current?limit=1000").json()["meta"]["found"]
    assert before > 0
    for path in ("/embed/city/*", "/embed/city/%2A?format=json", "/export/measurements.csv?city=*",
                 "/api/v1/aqi/current?city=*"):
        assert httpx.get(f"{base}{path}").status_code == 404, path
    assert httpx.get(f"{base}/embed/city/*?format=json").json()["error"]["code"] == "not_found"
    assert httpx.get(f"{base}/api/v1/aqi/current?limit=1000").json()["meta"]["found"] == before

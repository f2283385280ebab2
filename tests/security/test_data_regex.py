"""List parameters are length-capped before any pattern, and the number pattern never backtracks."""
import re
import time

import httpx

from dashboard.api.schemas import BBOX_PATTERN, HOURLY_PATTERN


def test_long_bbox_and_hourly_values_are_a_quick_400(live_server):
    base = live_server()
    for path in ("/api/v1/stations?bbox=" + "1" * 8000 + "x", "/api/v1/aqi/current?bbox=" + "1" * 8000 + "x",
                 "/api/v1/aqi/nowcast?pollutant=pm25&hourly=" + "1" * 8000 + "x"):
        started = time.perf_counter()
        response = httpx.get(f"{base}{path}")
        assert response.status_code == 400 and "at most 200 characters" in response.json()["error"]["message"]
        assert time.perf_counter() - started < 0.5  # was 1.9 s of backtracking for 8,000 digits


def test_the_patterns_fail_in_linear_time():
    for pattern in (BBOX_PATTERN, HOURLY_PATTERN):
        started = time.perf_counter()
        assert re.fullmatch(pattern, "1" * 64_000 + "x") is None
        assert time.perf_counter() - started < 0.5  # quadratic: minutes for 64 KB (the dev server's line limit)
    assert re.fullmatch(BBOX_PATTERN, " -76.5, 28 ,.5,1e3") and re.fullmatch(HOURLY_PATTERN, "50,45,,40.")

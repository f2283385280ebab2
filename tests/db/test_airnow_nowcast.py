"""The check against AirNow itself: real files of 2024-04-16 00–11 UTC loaded, our PM2.5 NowCast AQI vs AirNow's."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import migrate
from core.db.engine import make_engine
from core.db.models import City, Station
from core.ingest.airnow_check import pm25_agreement
from core.ingest.files import import_file
from core.settings import load_settings
from tests.conftest import private_database

AIRNOW = Path(__file__).resolve().parents[1] / "fixtures" / "airnow"
HOUR = datetime(2024, 4, 16, 11, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def airnow_day():
    """A private PostgreSQL database holding the fixture's site locations, 12 hours and HourlyAQObs."""
    with private_database("aqi_test_airnow") as url:
        engine = make_engine(load_settings(database_url=url, environment="test", pool_size=2, max_overflow=0))
        migrate.upgrade(engine)
        import_file(engine, AIRNOW / "monitoring_site_locations.dat")
        for path in sorted(AIRNOW.glob("HourlyData_20240416*.dat")):
            import_file(engine, path, now=HOUR)
        import_file(engine, AIRNOW / "HourlyAQObs_2024041611.dat", now=HOUR)
        yield engine
        engine.dispose()


def test_our_nowcast_aqi_equals_airnows_at_nearly_every_site(airnow_day):
    """88 of 91 sites agree; the other three are each 1 below AirNow, and no rule found explains them.

    Their NowCasts are 4.194, 3.474 and 2.595 µg/m³: truncated to 4.1, 3.4 and 2.5 they give 17, 14 and 10 on
    the 2012 table, where AirNow publishes 18, 15 and 11, i.e. 4.2, 3.5 and 2.6 — each just above ours.
    Rounding the NowCast instead fixes those three and breaks others (76/91), so truncation stays; rounding
    the weight factor to two decimals changes nothing (88/91), to one decimal it loses (83/91). The likeliest
    cause is AirNow computing from hourly values with more decimals than the files' one: a NowCast 0.005–0.03
    below a 0.1 step is within the files' rounding.
    """
    with airnow_day.connect() as conn:
        result = pm25_agreement(conn, HOUR)
    assert result.sites == 91
    # 88 of 91 (96.7 %); over the whole day's 1,382 sites the same rule agrees at 98.3 % (REAL_DATA.md).
    assert result.share >= 0.96
    assert all(ours is not None and abs(ours - theirs) == 1 for ours, theirs in result.mismatches.values())


def test_keeping_negative_hours_matches_airnow_better_than_clipping_them(airnow_day):
    with airnow_day.connect() as conn:
        kept, clipped = pm25_agreement(conn, HOUR), pm25_agreement(conn, HOUR, negatives="clip")
    assert kept.equal > clipped.equal
    assert clipped.mismatches["airnow-840060199998"] == (3, 0)  # Trimmer: -4, -4, 4 … µg/m³


def test_every_site_sits_in_a_named_area_with_its_time_zone(airnow_day):
    with airnow_day.connect() as conn:
        rows = conn.execute(select(Station.code, City.name, City.timezone).join(City)).all()
    assert len(rows) == 91
    assert not [r for r in rows if r.name.startswith("Unassigned")]
    zones = {code: zone for code, _, zone in rows}
    assert zones["airnow-484391006"] == "America/Chicago"
    assert zones["airnow-458MY1010001"] == "Etc/GMT-8"

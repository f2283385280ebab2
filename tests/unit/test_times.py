"""One time convention: aware UTC, hours on the hour, ISO 8601 with Z."""
from datetime import datetime, timedelta, timezone

import pytest

from core.times import from_epoch, hour_floor, iso, now, now_hour, parse_iso, utc

IST = timezone(timedelta(hours=5, minutes=30))


def test_naive_times_are_utc_and_aware_ones_are_converted():
    assert utc(datetime(2026, 11, 20, 12)) == datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
    converted = utc(datetime(2026, 11, 20, 17, 30, tzinfo=IST))
    assert converted == datetime(2026, 11, 20, 12, tzinfo=timezone.utc) and converted.tzinfo is timezone.utc


def test_hour_floor_is_the_utc_hour():
    assert hour_floor(datetime(2026, 11, 20, 18, 59, 59, tzinfo=IST)) == datetime(2026, 11, 20, 13,
                                                                                  tzinfo=timezone.utc)


def test_iso_is_utc_with_z():
    assert iso(datetime(2026, 11, 20, 17, 30, tzinfo=IST)) == "2026-11-20T12:00:00Z"
    assert iso(from_epoch(0)) == "1970-01-01T00:00:00Z"


def test_now_is_aware_utc_and_now_hour_is_on_the_hour():
    assert now().tzinfo is timezone.utc
    hour = now_hour()
    assert (hour.minute, hour.second, hour.microsecond) == (0, 0, 0) and now() - hour < timedelta(hours=1)


@pytest.mark.parametrize("text", ["2026-11-20T12:00:00Z", "2026-11-20t12:00z", "2026-11-20T12:00:00",
                                  "2026-11-20T17:30:00+05:30", "2026-11-20T17:30:00 05:30"])
def test_parse_iso_takes_z_offsets_naive_and_url_decoded_plus(text):
    assert parse_iso(text) == datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def test_parse_iso_refuses_other_text():
    with pytest.raises(ValueError):
        parse_iso("yesterday")

"""New readings drop the cached current AQI of their cities: the next read shows the new hour."""
from datetime import datetime, timedelta, timezone

from core import snapshots
from core.ingest.seed import append_new_hours, seed

END = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def test_a_new_hour_refreshes_the_cached_current_aqi(sqlite_ctx):
    seed(sqlite_ctx.engine, days=1, n_stations=12, end=END)
    assert snapshots.current(sqlite_ctx, "us_epa", "Delhi")["as_of"] == END
    append_new_hours(sqlite_ctx, n_stations=12, now=END + timedelta(hours=2))
    assert snapshots.current(sqlite_ctx, "us_epa", "Delhi")["as_of"] == END + timedelta(hours=2)

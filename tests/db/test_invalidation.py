"""New readings drop the cached current AQI of their cities: the next read shows the new hour."""
from datetime import datetime, timedelta, timezone

from core import airquality
from core.cache import AppCache, set_cache
from core.db.engine import get_engine, set_engine
from core.ingest.seed import append_new_hours, seed
from core.settings import load_settings

END = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def test_a_new_hour_refreshes_the_cached_current_aqi(sqlite_engine):
    previous = get_engine()
    set_engine(sqlite_engine)
    set_cache(AppCache(load_settings(redis_url="")))
    try:
        seed(sqlite_engine, days=1, n_stations=12, end=END)
        assert airquality.current("us_epa", "Delhi")["as_of"] == END
        append_new_hours(sqlite_engine, n_stations=12, now=END + timedelta(hours=2))
        assert airquality.current("us_epa", "Delhi")["as_of"] == END + timedelta(hours=2)
    finally:
        set_engine(previous)
        set_cache(AppCache(load_settings(redis_url="")))

"""Readiness of the cache against the real local Redis, on the cache's own client."""
from core.cache import AppCache
from core.settings import load_settings
from tests.conftest import TEST_REDIS_URL


def test_cache_reports_a_live_redis():
    assert AppCache(load_settings(redis_url=TEST_REDIS_URL)).ping() == {"status": "ok", "backend": "redis"}

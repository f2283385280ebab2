"""Readiness of the cache against the real local Redis."""
from core import readiness
from tests.conftest import TEST_REDIS_URL


def test_cache_reports_a_live_redis():
    assert readiness.cache(TEST_REDIS_URL) == {"status": "ok", "backend": "redis"}

"""Readiness of the cache against a real Redis (the local server, or a 3-node cluster), on the cache's own client."""
from core.cache import AppCache
from core.settings import load_settings


def test_cache_reports_a_live_redis(shared_redis):
    assert AppCache(load_settings(**shared_redis)).ping() == {"status": "ok", "backend": "redis"}

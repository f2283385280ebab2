"""The cache without Redis: keys, the in-process backend, and switched off (the Redis backend: tests/services)."""
import pytest

from core import cache as cache_module
from core.cache import AppCache
from core.settings import load_settings


def test_keys_carry_the_namespace_and_format_version():
    assert AppCache.key("current_aqi", "us_epa", None).startswith(f"v{cache_module.FORMAT_VERSION}:current_aqi:")
    # A name that looks like another key's parts never shares its key.
    assert AppCache.key("current_aqi", "us_epa", None) != AppCache.key("current_aqi", "us_epa", "*")
    assert AppCache.key("current_aqi", "Delhi", "2026-11-20T12:00") != AppCache.key("current_aqi", "Delhi:2026-11-20T12:00")
    with pytest.raises(ValueError, match="namespace"):
        AppCache.key("nope", 1)


def test_in_process_backend_without_redis(cache_metrics):
    cache = AppCache(load_settings(redis_url=""))
    assert cache.backend_name == "in-process"
    calls = []
    for _ in range(2):
        cache.get_or_compute("stations", ("x",), lambda: calls.append(1) or 5)
    assert len(calls) == 1


def test_a_disabled_cache_always_computes(cache_metrics):
    cache = AppCache(load_settings(cache_enabled=False))
    calls = []
    for _ in range(3):
        cache.get_or_compute("stations", ("x",), lambda: calls.append(1) or 5)
    assert len(calls) == 3 and cache.backend_name == "disabled"

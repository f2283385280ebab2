"""The cache over a real Redis that each test has to itself: a redis-server on its own port, or a 3-node cluster."""
import threading
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from core import cache as cache_module
from core.cache import AppCache, hit_rates
from core.settings import load_settings


class Clock:
    """The cache's clock, moved on by hand: the breaker's retry delay passes without waiting for it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def time(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def _cache(cache_redis, **overrides) -> AppCache:
    return AppCache(load_settings(**cache_redis.settings, **overrides))


def test_second_read_is_a_hit_and_counted(cache_redis, cache_metrics):
    cache = _cache(cache_redis)
    calls = []
    for _ in range(3):
        assert cache.get_or_compute("stations", ("cities",), lambda: calls.append(1) or ["Delhi"]) == ["Delhi"]
    assert len(calls) == 1
    rates = hit_rates(cache_metrics.window(300))["stations"]
    assert (rates["hits"], rates["misses"]) == (2, 1) and rates["hit_rate"] == pytest.approx(2 / 3)


def test_entries_expire_after_their_namespace_ttl(cache_redis, cache_metrics):
    cache = _cache(cache_redis, ttl_weather=1)
    calls = []
    cache.get_or_compute("weather", ("x",), lambda: calls.append(1) or 1)
    ttl = cache_redis.client().pttl(f"aqi:cache:{AppCache.key('weather', 'x')}")
    assert 0 < ttl <= 2000  # kept twice the TTL for serving stale while one worker refreshes


def test_a_missing_hot_key_is_computed_once_under_load(cache_redis, cache_metrics):
    cache = _cache(cache_redis)
    reads: Counter[int] = Counter()
    read = threading.Condition()
    redis_get = cache.backend.get

    def counted_get(key):
        value = redis_get(key)
        with read:
            reads[threading.get_ident()] += 1
            read.notify_all()
        return value

    cache.backend.get = counted_get  # still the real Redis: only counts which thread read it
    calls = []

    def slow():
        calls.append(1)
        # Finish only once the 7 other threads missed the key and read it again, waiting for this computation.
        with read:
            assert read.wait_for(lambda: sum(n >= 2 for n in reads.values()) >= 7, timeout=10)
        return "value"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("spatial", ("k",), slow)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["value"] * 8
    assert len(calls) == 1


def test_a_stale_value_is_served_while_one_worker_refreshes(cache_redis, cache_metrics):
    cache = _cache(cache_redis, ttl_forecast=60)
    cache.get_or_compute("forecast", ("s1",), lambda: "old")
    key = AppCache.key("forecast", "s1")
    cache.backend.set(key, (time.time() - 1, "old"), timeout=60)  # fresh_until in the past: stale
    lock = cache._lock(key)  # another worker is refreshing it
    assert cache.get_or_compute("forecast", ("s1",), lambda: "new") == "old"
    cache._unlock(key, lock)
    assert cache.get_or_compute("forecast", ("s1",), lambda: "new") == "new"


def test_delete_drops_only_the_named_entries(cache_redis, cache_metrics):
    cache = _cache(cache_redis)
    cache.get_or_compute("current_aqi", ("us_epa", "Delhi"), lambda: 1)
    cache.get_or_compute("current_aqi", ("us_epa", "London"), lambda: 2)
    cache.delete("current_aqi", ("us_epa", "Delhi"))
    assert cache.get_or_compute("current_aqi", ("us_epa", "Delhi"), lambda: 10) == 10
    assert cache.get_or_compute("current_aqi", ("us_epa", "London"), lambda: 20) == 2


def test_one_delete_drops_entries_of_every_city(cache_redis, cache_metrics):
    cache = _cache(cache_redis)
    cities = [f"City {i}" for i in range(20)]  # on a cluster their keys fall in slots of every node
    for city in cities:
        cache.get_or_compute("current_aqi", ("us_epa", city), lambda: "old")
    cache.delete("current_aqi", *[("us_epa", city) for city in cities])
    assert {cache.get_or_compute("current_aqi", ("us_epa", city), lambda: "new") for city in cities} == {"new"}


def test_clear_drops_every_entry_on_every_node_and_nothing_else(cache_redis, cache_metrics):
    cache = _cache(cache_redis)
    cities = [f"City {i}" for i in range(30)]
    for city in cities:
        cache.get_or_compute("current_aqi", ("us_epa", city), lambda: "old")
    client = cache_redis.client()
    client.set("not-ours", "kept")
    cache.clear()
    assert {cache.get_or_compute("current_aqi", ("us_epa", city), lambda: "new") for city in cities} == {"new"}
    assert client.get("not-ours") == b"kept"


def test_losing_redis_falls_back_to_the_database_and_recovers(cache_redis, cache_metrics, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(cache_module, "time", clock)
    cache = _cache(cache_redis)
    assert cache.get_or_compute("stations", ("cities",), lambda: "from db") == "from db"
    cache_redis.stop()
    assert cache.get_or_compute("stations", ("cities",), lambda: "db again") == "db again"
    assert not cache.is_up()
    assert cache.get_or_compute("stations", ("cities",), lambda: "db, breaker open") == "db, breaker open"
    cache_redis.start()
    clock.advance(cache_module.RETRY_AFTER_S)
    assert cache.is_up()
    assert cache.get_or_compute("stations", ("cities",), lambda: "fresh") == "fresh"  # Redis restarted empty
    assert cache.get_or_compute("stations", ("cities",), lambda: "unused") == "fresh"
    assert hit_rates(cache_metrics.window(300))["stations"]["bypassed"] >= 1


def test_values_are_stored_as_json_and_come_back_with_their_types(cache_redis, cache_metrics):
    as_of = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
    snapshot = {"as_of": as_of, "standard": "us_epa", "stations": [{"id": 1, "aqi": 51.0, "age_hours": None}]}
    _cache(cache_redis).get_or_compute("current_aqi", ("us_epa", None), lambda: snapshot)
    raw = cache_redis.client().get(f"aqi:cache:{AppCache.key('current_aqi', 'us_epa', None)}")
    assert raw.startswith(b"[") and b"$datetime" in raw  # JSON with tagged times, never a pickle
    # Another worker's cache reads it back as the same value, the datetime a datetime.
    assert _cache(cache_redis).get_or_compute("current_aqi", ("us_epa", None), lambda: None) == snapshot

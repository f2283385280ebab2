"""Metrics through a real Redis: the same percentiles and counters from every worker and process."""
import subprocess
import sys
import uuid

import pytest
import redis

from core.metrics import MetricsStore, RedisSink
from tests.conftest import TEST_REDIS_URL


@pytest.fixture()
def redis_url():
    """A private Redis database number per test, emptied before and after."""
    url = TEST_REDIS_URL.rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


def test_two_workers_see_the_same_percentiles(redis_url):
    first, second = MetricsStore(RedisSink(redis_url)), MetricsStore(RedisSink(redis_url))
    for ms in range(1, 101):
        (first if ms % 2 else second).record("api", "GET /x", float(ms))
    first.sink.flush()
    second.sink.flush()
    assert first.summary("api") == second.summary("api")
    [row] = first.summary("api")
    assert row["count"] == 100 and abs(row["p95_ms"] - 95) / 95 < 0.05


def test_samples_from_another_process_reach_this_one(redis_url):
    code = ("from core.metrics import MetricsStore, RedisSink\n"
            f"m = MetricsStore(RedisSink({redis_url!r}))\n"
            "for i in range(50): m.record('db', 'elsewhere', 40.0)\n"
            "m.sink.flush()\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    here = MetricsStore(RedisSink(redis_url))
    [row] = here.summary("db")
    assert row["name"] == "elsewhere" and row["count"] == 50 and abs(row["p50_ms"] - 40) / 40 < 0.05


def test_counters_add_up_across_workers(redis_url):
    name = f"cache:test{uuid.uuid4().hex[:6]}:hit"
    first, second = MetricsStore(RedisSink(redis_url)), MetricsStore(RedisSink(redis_url))
    first.count(name, 3)
    second.count(name, 4)
    first.sink.flush()
    second.sink.flush()
    assert first.window(300).counters()[name] == 7

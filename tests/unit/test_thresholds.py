"""Operator checks from an in-process metrics window: grading, advice, sparkline series and breaches."""
from datetime import datetime, timezone

import pytest

from core import metrics, thresholds
from core.cache import AppCache
from core.metrics import METRICS, LocalSink, Window, bucket_of, minutes_back
from core.settings import load_settings

SETTINGS = load_settings(environment="test", redis_url="", pool_size=5, max_overflow=5)
NOW = 29_500_000  # a minute since the epoch (in 2026)


@pytest.fixture()
def sink(monkeypatch):
    """The process's metrics in a fresh in-process sink, at a minute that does not move during the test."""
    fresh = LocalSink()
    monkeypatch.setattr(METRICS, "sink", fresh)  # the pool check and the snapshot read the process's store
    monkeypatch.setattr(metrics, "minute_now", lambda: NOW)
    return fresh


def window_of(sink: LocalSink, history_s: int = thresholds.HISTORY_S) -> Window:
    minutes = minutes_back(history_s)
    return Window(sink.read(minutes), sink.read_counters(minutes), minutes)


def record(sink: LocalSink, kind: str, name: str, ms: float, times: int = 20, minutes_ago: int = 0) -> None:
    for _ in range(times):
        sink.add(NOW - minutes_ago, kind, name, bucket_of(ms), False)


def iso(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def checks_by_key(sink: LocalSink, cache: AppCache | None = None) -> dict[str, thresholds.Check]:
    cache = cache or AppCache(SETTINGS)
    return {c.key: c for c in thresholds.evaluate(SETTINGS, cache, window_of(sink))}


@pytest.mark.parametrize("value, status", [(None, "no_data"), (100, "ok"), (500, "ok"), (500.1, "warning"),
                                           (1000, "warning"), (1000.1, "critical")])
def test_latency_is_graded_above_each_threshold(value, status):
    assert thresholds.grade(value, 500, 1000) == status


@pytest.mark.parametrize("value, status", [(None, "no_data"), (0.9, "ok"), (0.7, "ok"), (0.69, "warning"),
                                           (0.5, "warning"), (0.49, "critical")])
def test_a_hit_rate_is_graded_below_each_threshold(value, status):
    assert thresholds.grade(value, 0.7, 0.5, higher_is_worse=False) == status


def test_every_check_is_evaluated_with_no_data_when_nothing_was_recorded(sink):
    checks = checks_by_key(sink)
    assert list(checks) == ["api_p95", "callback_p95", "db_p95", "inference_p95", "inference_batch_p95", "cache_hit_rate",
                           "db_pool"]
    assert {c.status for c in checks.values()} == {"no_data"}
    assert checks["api_p95"].recommendation == "No samples in this window."
    assert checks["cache_hit_rate"].recommendation == "No cache reads in this window."
    assert checks["db_pool"].recommendation == "No worker has reported its pool yet."


def test_a_slow_kind_names_its_slowest_timer_and_what_to_look_at(sink):
    record(sink, "api", "GET /api/v1/stations", 50)
    record(sink, "api", "GET /api/v1/aqi/current", 700)
    record(sink, "db", "latest_readings", 400)
    record(sink, "inference", "predict", 20)
    checks = checks_by_key(sink)
    api, db, inference = checks["api_p95"], checks["db_p95"], checks["inference_p95"]
    assert api.status == "warning" and api.value == pytest.approx(700, rel=0.1)
    assert api.recommendation.startswith("Slowest: GET /api/v1/aqi/current at p95 ")
    assert "cache namespace" in api.recommendation
    assert db.status == "critical" and "Slowest: latest_readings" in db.recommendation
    assert "ix_measurements_ts" in db.recommendation
    assert inference.status == "ok" and inference.recommendation == "Within target (warning above 200 ms)."
    assert checks["callback_p95"].status == "no_data"
    assert (api.warn, api.crit, api.unit) == (500, 1000, "ms")


def test_the_series_has_one_point_per_minute_of_the_hour(sink):
    record(sink, "api", "GET /x", 100, minutes_ago=3)
    series = checks_by_key(sink)["api_p95"].series
    assert len(series) == 60 and all(p["minute"].endswith(":00Z") for p in series)
    assert [p["value"] is not None for p in series].count(True) == 1
    assert series[-4]["value"] == pytest.approx(100, rel=0.1) and series[-1]["value"] is None


def test_a_low_hit_rate_names_the_worst_namespace_and_its_ttl(sink):
    minute = NOW
    sink.incr(minute, "cache:stations:hit", 90)
    sink.incr(minute, "cache:stations:miss", 10)
    sink.incr(minute, "cache:forecast:hit", 2)
    sink.incr(minute, "cache:forecast:miss", 8)
    check = checks_by_key(sink)["cache_hit_rate"]
    assert check.value == pytest.approx(92 / 110)
    assert check.status == "ok" and check.recommendation == "Within target (warning below 70%)."
    sink.incr(minute, "cache:forecast:miss", 40)
    check = checks_by_key(sink)["cache_hit_rate"]
    assert check.status == "warning" and check.value == pytest.approx(92 / 150)
    assert check.recommendation.startswith("Lowest: forecast at 4% — raise its TTL (now 1800 s)")
    assert check.label == "Cache hit rate (in-process)" and check.series[-1]["value"] == pytest.approx(92 / 150)


def test_an_unreachable_redis_makes_the_cache_check_critical(sink):
    cache = AppCache(load_settings(environment="test", redis_url="redis://127.0.0.1:1/0"))  # nothing listens
    assert cache.get_or_compute("stations", ("cities",), lambda: "from the database") == "from the database"
    check = checks_by_key(sink, cache)["cache_hit_rate"]
    assert check.status == "critical" and check.recommendation.startswith("Redis is unreachable")
    assert check.label == "Cache hit rate (redis)"


@pytest.mark.parametrize("checked_out, overflow, status", [(3, 0, "ok"), (6, 1, "warning"), (10, 5, "critical")])
def test_pool_use_is_graded_against_the_pool_and_its_overflow(sink, checked_out, overflow, status):
    # One worker reported, with pool_size 5 + max_overflow 5: 10 connections at most.
    sink.put_gauge("db_pool", {"checked_out": checked_out, "size": 5, "overflow": overflow})
    check = checks_by_key(sink)["db_pool"]
    assert (check.status, check.value, check.warn, check.crit) == (status, checked_out, 5, 10)
    assert thresholds.pool_use() == {"checked_out": checked_out, "size": 5, "overflow": overflow, "workers": 1}


def test_breaches_are_runs_of_minutes_outside_the_thresholds_newest_first(sink):
    for ago, ms in ((30, 700), (29, 1500), (28, 600), (27, 100), (5, 800), (4, 800)):
        record(sink, "api", "GET /x", ms, minutes_ago=ago)
    checks = thresholds.evaluate(SETTINGS, AppCache(SETTINGS), window_of(sink))
    newest, oldest = [b for b in thresholds.breaches(checks) if b["check"] == "api_p95"]
    minutes = [p["minute"] for p in next(c for c in checks if c.key == "api_p95").series]
    assert (oldest["status"], oldest["started"], oldest["ended"]) == ("critical", minutes[-31], minutes[-28])
    assert oldest["worst"] == pytest.approx(1500, rel=0.1) and oldest["unit"] == "ms"
    assert (newest["status"], newest["started"], newest["ended"]) == ("warning", minutes[-6], minutes[-4])
    record(sink, "api", "GET /x", 900)
    checks = thresholds.evaluate(SETTINGS, AppCache(SETTINGS), window_of(sink))
    ongoing = thresholds.breaches(checks)[0]
    assert ongoing["started"] == minutes[-1] and ongoing["ended"] is None


def test_a_hit_rate_breach_keeps_its_lowest_rate(sink):
    for ago, hits in ((10, 6), (9, 3), (8, 9)):
        sink.incr(NOW - ago, "cache:spatial:hit", hits)
        sink.incr(NOW - ago, "cache:spatial:miss", 10 - hits)
    [breach] = thresholds.breaches(thresholds.evaluate(SETTINGS, AppCache(SETTINGS), window_of(sink)))
    assert breach["check"] == "cache_hit_rate" and breach["status"] == "critical"
    assert breach["worst"] == pytest.approx(0.3)
    assert (breach["started"], breach["ended"]) == (iso(NOW - 10), iso(NOW - 8))


def test_the_snapshot_holds_checks_timers_cache_pool_and_breaches(sink):
    METRICS.record("api", "GET /x", 1200)
    snap = thresholds.snapshot(SETTINGS, AppCache(SETTINGS), window_s=300)
    assert snap["window_s"] == 300 and snap["generated_at"].endswith("Z")
    assert snap["checks"][0]["key"] == "api_p95" and snap["checks"][0]["status"] == "critical"
    assert [t["name"] for t in snap["timers"]] == ["GET /x"]
    assert snap["cache"]["backend"] == "in-process" and snap["cache"]["up"] is True
    assert set(snap["cache"]["namespaces"]) == {"current_aqi", "forecast", "attribution", "spatial", "weather",
                                                "stations"}
    assert snap["pool"]["workers"] == 0 and snap["breaches"][0]["check"] == "api_p95"

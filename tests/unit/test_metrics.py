"""Mergeable latency histograms: accurate percentiles, errors beside times, samples kept while Redis is away."""
import numpy as np

from core.metrics import (
    BUCKETS,
    LocalSink,
    MetricsStore,
    RedisSink,
    bucket_of,
    percentiles,
)


def test_percentiles_are_within_five_percent_of_the_exact_ones():
    rng = np.random.default_rng(3)
    samples = rng.lognormal(mean=3.0, sigma=1.0, size=20_000)  # ms, a long-tailed latency distribution
    counts = np.zeros(BUCKETS, np.int64)
    np.add.at(counts, [bucket_of(x) for x in samples], 1)
    for estimate, exact in zip(percentiles(counts), np.percentile(samples, [50, 95, 99])):
        assert abs(estimate - exact) / exact < 0.05


def test_errors_are_counted_beside_times():
    store = MetricsStore(LocalSink())
    store.record("db", "q", 5.0)
    store.record("db", "q", 7.0, error=True)
    [row] = store.summary("db")
    assert row["count"] == 2 and row["errors"] == 1


def test_samples_wait_in_the_process_while_redis_is_away():
    sink = RedisSink("redis://127.0.0.1:1/0")  # nothing listens on port 1
    store = MetricsStore(sink)
    store.record("api", "GET /y", 12.0)
    sink.flush()
    assert sink.available is False
    [row] = store.summary("api")  # still shown, from this process's own buffer
    assert row["count"] == 1

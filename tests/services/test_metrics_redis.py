"""Metrics through a real Redis (single or a 3-node cluster): the same percentiles and counters from every worker
and process."""
import subprocess
import sys
import uuid

from core.metrics import MetricsStore, RedisSink


def _store(shared_redis) -> MetricsStore:
    return MetricsStore(RedisSink(shared_redis["redis_url"], cluster=shared_redis["redis_cluster"]))


def test_two_workers_see_the_same_percentiles(shared_redis):
    first, second = _store(shared_redis), _store(shared_redis)
    for ms in range(1, 101):
        (first if ms % 2 else second).record("api", "GET /x", float(ms))
    first.sink.flush()
    second.sink.flush()
    assert first.summary("api") == second.summary("api")
    [row] = first.summary("api")
    assert row["count"] == 100 and abs(row["p95_ms"] - 95) / 95 < 0.05


def test_samples_from_another_process_reach_this_one(shared_redis):
    code = ("from core.metrics import MetricsStore, RedisSink\n"
            f"m = MetricsStore(RedisSink({shared_redis['redis_url']!r}, cluster={shared_redis['redis_cluster']}))\n"
            "for i in range(50): m.record('db', 'elsewhere', 40.0)\n"
            "m.sink.flush()\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    here = _store(shared_redis)
    [row] = here.summary("db")
    assert row["name"] == "elsewhere" and row["count"] == 50 and abs(row["p50_ms"] - 40) / 40 < 0.05


def test_counters_add_up_across_workers(shared_redis):
    name = f"cache:test{uuid.uuid4().hex[:6]}:hit"
    first, second = _store(shared_redis), _store(shared_redis)
    first.count(name, 3)
    second.count(name, 4)
    first.sink.flush()
    second.sink.flush()
    assert first.window(300).counters()[name] == 7


def test_gauges_of_every_worker_are_read_back(shared_redis):
    workers = [_store(shared_redis) for _ in range(8)]  # on a cluster their gauge keys land on every node
    for i, worker in enumerate(workers):
        worker.sink._process = f"host-{i}:1"
        worker.sink.put_gauge("db_pool", {"checked_out": i, "size": 5, "overflow": 0})
    assert sorted(g["checked_out"] for g in workers[0].sink.gauges("db_pool")) == [float(i) for i in range(8)]

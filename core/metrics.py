"""One timing decorator/context manager, and a metrics store whose percentiles are right across processes.

Durations go into mergeable histograms (log-spaced buckets, ±5 %) per timer and per minute. In the embedded
default they live in this process; with Redis they are buffered here and flushed every second into Redis
hashes, so every worker on every host reads the same p95. Each sample also feeds a prometheus-client
histogram for /metrics.
"""
from __future__ import annotations

import functools
import logging
import math
import os
import socket
import threading
import time
from collections import defaultdict

import numpy as np
import redis
from prometheus_client import Counter, Histogram

log = logging.getLogger(__name__)

# Bucket i holds durations in (BASE·RATIO^(i-1), BASE·RATIO^i] ms: 0.01 ms … ~10 min at 10 % steps.
BASE_MS, RATIO, BUCKETS = 0.01, 1.1, 190
KEEP_MINUTES = 120
# Each timer name is a Prometheus label and a histogram that never expire: past this many per kind in a
# process, new names are recorded as OTHER, so no caller can grow /metrics without bound.
MAX_NAMES_PER_KIND = 200
OTHER = "other"
PROM_LATENCY = Histogram("aqi_latency_seconds", "Time spent, by kind (api, callback, db, cache, inference)",
                         ["kind", "name"],
                         buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
PROM_ERRORS = Counter("aqi_errors", "Operations that raised, by kind and name", ["kind", "name"])
# The panel's cache hit rate for Prometheus: namespaces are the cache's fixed list, results hit/miss/bypass/warmed.
PROM_CACHE = Counter("aqi_cache_requests", "Cache lookups by namespace and result", ["namespace", "result"])
# A cluster client raises RedisClusterException (not a RedisError) when no node answers.
REDIS_ERRORS = (redis.RedisError, redis.exceptions.RedisClusterException)


def bucket_of(ms: float) -> int:
    if ms <= BASE_MS:
        return 0
    return min(BUCKETS - 1, math.ceil(math.log(ms / BASE_MS, RATIO) - 1e-9))


def bucket_upper(i: int | np.ndarray) -> np.ndarray:
    return BASE_MS * RATIO ** np.asarray(i, dtype=float)


def percentiles(counts: np.ndarray, qs=(50, 95, 99)) -> list[float | None]:
    """Percentiles (ms) of a bucket-count histogram, interpolating linearly inside the bucket holding each rank."""
    total = counts.sum()
    if total == 0:
        return [None for _ in qs]
    cumulative = np.cumsum(counts)
    out = []
    for q in qs:
        rank = q / 100 * total
        i = int(np.searchsorted(cumulative, rank, side="left"))
        upper = float(bucket_upper(i))
        lower = upper / RATIO if i else 0.0
        before = cumulative[i - 1] if i else 0
        out.append(float(lower + (upper - lower) * (rank - before) / counts[i]))
    return out


def minute_now() -> int:
    return int(time.time() // 60)


class LocalSink:
    """Histograms in this process (the embedded default)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (minute, kind, name) -> {"b": bucket counts, "n": count, "e": errors}
        self._data: dict[tuple[int, str, str], dict] = {}
        self._counters: dict[tuple[int, str], int] = defaultdict(int)
        self._gauges: dict[str, dict] = {}

    def add(self, minute: int, kind: str, name: str, bucket: int, error: bool) -> None:
        with self._lock:
            entry = self._data.get((minute, kind, name))
            if entry is None:
                entry = self._data[(minute, kind, name)] = {"b": np.zeros(BUCKETS, np.int64), "n": 0, "e": 0}
                self._expire(minute)
            entry["b"][bucket] += 1
            entry["n"] += 1
            entry["e"] += int(error)

    def incr(self, minute: int, field: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[(minute, field)] += amount

    def _expire(self, minute: int) -> None:
        old = minute - KEEP_MINUTES
        for key in [k for k in self._data if k[0] < old]:
            del self._data[key]
        for key in [k for k in self._counters if k[0] < old]:
            del self._counters[key]

    def read(self, minutes: list[int]) -> dict[tuple[int, str, str], dict]:
        wanted = set(minutes)
        with self._lock:
            return {k: {"b": v["b"].copy(), "n": v["n"], "e": v["e"]} for k, v in self._data.items() if k[0] in wanted}

    def read_counters(self, minutes: list[int]) -> dict[tuple[int, str], int]:
        wanted = set(minutes)
        with self._lock:
            return {k: v for k, v in self._counters.items() if k[0] in wanted}

    def put_gauge(self, name: str, values: dict) -> None:
        with self._lock:
            self._gauges[name] = dict(values)

    def gauges(self, name: str) -> list[dict]:
        with self._lock:
            value = self._gauges.get(name)
        return [value] if value else []

    def flush(self) -> None:
        pass


class RedisSink(LocalSink):
    """Buffers samples here and flushes them into Redis every second: every worker reads the same figures."""

    PREFIX = "aqi:metrics"

    def __init__(self, url: str, flush_every_s: float = 1.0, cluster: bool = False) -> None:
        super().__init__()
        # Every command names one key, so a cluster needs no hash tags: each key goes to its own slot's node.
        client_class = redis.RedisCluster if cluster else redis.Redis
        self.client = client_class.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self.flush_every_s = flush_every_s
        self.available = True
        self._process = f"{socket.gethostname()}:{os.getpid()}"
        self._flusher = threading.Thread(target=self._run, name="metrics-flush", daemon=True)
        self._flusher.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.flush_every_s)
            self.flush()

    def flush(self) -> None:
        """Move the buffered samples into Redis (one pipeline); keep them buffered if Redis is away."""
        with self._lock:
            data, counters = self._data, self._counters
            self._data, self._counters = {}, defaultdict(int)
        if not data and not counters:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for (minute, kind, name), entry in data.items():
                key = f"{self.PREFIX}:{minute}:{kind}:{name}"
                nonzero = np.nonzero(entry["b"])[0]
                for i in nonzero:
                    pipe.hincrby(key, int(i), int(entry["b"][i]))
                pipe.hincrby(key, "n", entry["n"])
                pipe.hincrby(key, "e", entry["e"])
                pipe.expire(key, KEEP_MINUTES * 60)
                pipe.sadd(f"{self.PREFIX}:names:{minute}", f"{kind}:{name}")
                pipe.expire(f"{self.PREFIX}:names:{minute}", KEEP_MINUTES * 60)
            for (minute, field), amount in counters.items():
                pipe.hincrby(f"{self.PREFIX}:counters:{minute}", field, amount)
                pipe.expire(f"{self.PREFIX}:counters:{minute}", KEEP_MINUTES * 60)
            pipe.execute()
            self.available = True
        except REDIS_ERRORS:
            self.available = False
            with self._lock:  # put them back: nothing recorded is lost while Redis is away (bounded by expiry)
                for key, entry in data.items():
                    mine = self._data.setdefault(key, {"b": np.zeros(BUCKETS, np.int64), "n": 0, "e": 0})
                    mine["b"] += entry["b"]
                    mine["n"] += entry["n"]
                    mine["e"] += entry["e"]
                for key, amount in counters.items():
                    self._counters[key] += amount
                self._expire(minute_now())

    def read(self, minutes: list[int]) -> dict[tuple[int, str, str], dict]:
        try:
            out = self._read_redis(minutes)
            self.available = True
        except REDIS_ERRORS:
            self.available = False
            out = {}  # Redis is away: this process's own buffered samples are all we can show
        for key, entry in super().read(minutes).items():
            mine = out.setdefault(key, {"b": np.zeros(BUCKETS, np.int64), "n": 0, "e": 0})
            mine["b"] += entry["b"]
            mine["n"] += entry["n"]
            mine["e"] += entry["e"]
        return out

    def _read_redis(self, minutes: list[int]) -> dict[tuple[int, str, str], dict]:
        pipe = self.client.pipeline(transaction=False)
        for minute in minutes:
            pipe.smembers(f"{self.PREFIX}:names:{minute}")
        names_per_minute = pipe.execute()
        keys = [(minute, *n.decode().split(":", 1)) for minute, names in zip(minutes, names_per_minute)
                for n in names]
        pipe = self.client.pipeline(transaction=False)
        for minute, kind, name in keys:
            pipe.hgetall(f"{self.PREFIX}:{minute}:{kind}:{name}")
        out = {}
        for key, raw in zip(keys, pipe.execute()):
            buckets = np.zeros(BUCKETS, np.int64)
            entry = {"b": buckets, "n": 0, "e": 0}
            for field, value in raw.items():
                field = field.decode()
                if field in ("n", "e"):
                    entry[field] = int(value)
                else:
                    buckets[int(field)] = int(value)
            out[key] = entry
        return out

    def read_counters(self, minutes: list[int]) -> dict[tuple[int, str], int]:
        out: dict[tuple[int, str], int] = defaultdict(int)
        try:
            pipe = self.client.pipeline(transaction=False)
            for minute in minutes:
                pipe.hgetall(f"{self.PREFIX}:counters:{minute}")
            for minute, raw in zip(minutes, pipe.execute()):
                for field, value in raw.items():
                    out[(minute, field.decode())] += int(value)
        except REDIS_ERRORS:
            self.available = False
        for key, value in super().read_counters(minutes).items():
            out[key] += value
        return dict(out)

    def put_gauge(self, name: str, values: dict) -> None:
        key = f"{self.PREFIX}:gauge:{name}:{self._process}"
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hset(key, mapping={k: str(v) for k, v in values.items()})
            pipe.expire(key, 30)  # a worker that stops reporting drops out within 30 s
            pipe.execute()
        except REDIS_ERRORS:
            super().put_gauge(name, values)

    def gauges(self, name: str) -> list[dict]:
        try:
            keys = list(self.client.scan_iter(f"{self.PREFIX}:gauge:{name}:*", count=500))
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(key)
            return [{k.decode(): float(v) for k, v in raw.items()} for raw in pipe.execute() if raw]
        except REDIS_ERRORS:
            return super().gauges(name)


class MetricsStore:
    """Records durations and counters; answers per-timer summaries and per-minute series over a window."""

    def __init__(self, sink: LocalSink | None = None, max_names: int = MAX_NAMES_PER_KIND) -> None:
        self.sink = sink or LocalSink()
        self.max_names = max_names
        self._names: dict[str, set[str]] = defaultdict(set)
        self._names_lock = threading.Lock()
        self._histograms: dict[tuple[str, str], Histogram] = {}

    def use(self, sink: LocalSink) -> None:
        self.sink = sink

    def bounded_name(self, kind: str, name: str) -> str:
        """The name itself while the kind has fewer than max_names distinct ones, OTHER after that."""
        if name in self._names.get(kind, ()):  # a known name: no lock (names are only ever added)
            return name
        with self._names_lock:
            names = self._names[kind]
            if name in names:
                return name
            if len(names) >= self.max_names:
                return OTHER
            names.add(name)
            return name

    def record(self, kind: str, name: str, ms: float, error: bool = False) -> None:
        name = self.bounded_name(kind, name)
        self.sink.add(minute_now(), kind, name, bucket_of(ms), error)
        histogram = self._histograms.get((kind, name))
        if histogram is None:  # labels() takes a lock and builds the child: once per timer
            histogram = self._histograms[(kind, name)] = PROM_LATENCY.labels(kind, name)
        histogram.observe(ms / 1000)
        if error:
            PROM_ERRORS.labels(kind, name).inc()

    def count(self, field: str, amount: int = 1) -> None:
        """A per-minute counter (cache hits and misses per namespace: `cache:<namespace>:<result>`)."""
        self.sink.incr(minute_now(), field, amount)
        kind, _, rest = field.partition(":")
        if kind == "cache" and ":" in rest:
            PROM_CACHE.labels(*rest.split(":", 1)).inc(amount)

    def window(self, history_s: int = 3600) -> "Window":
        """Read the last history_s seconds once; summaries over any shorter window come from that read."""
        minutes = minutes_back(history_s)
        return Window(self.sink.read(minutes), self.sink.read_counters(minutes), minutes)

    def summary(self, kind: str | None = None, window_s: int = 300) -> list[dict]:
        return self.window(window_s).summary(kind, window_s)


def minutes_back(window_s: int) -> list[int]:
    now = minute_now()
    return list(range(now - max(1, math.ceil(window_s / 60)) + 1, now + 1))


class Window:
    """Histograms and counters of a span of minutes, read once."""

    def __init__(self, data: dict, counters: dict, minutes: list[int]) -> None:
        self.data, self.counter_data, self.minutes = data, counters, minutes

    def _merged(self, window_s: int, kind: str | None = None) -> dict[tuple[str, str], dict]:
        since = minutes_back(window_s)[0]
        merged: dict[tuple[str, str], dict] = {}
        for (minute, k, name), entry in self.data.items():
            if minute < since or (kind is not None and k != kind):
                continue
            acc = merged.setdefault((k, name), {"b": np.zeros(BUCKETS, np.int64), "n": 0, "e": 0})
            acc["b"] += entry["b"]
            acc["n"] += entry["n"]
            acc["e"] += entry["e"]
        return merged

    def summary(self, kind: str | None = None, window_s: int = 300) -> list[dict]:
        """Per timer: count, errors, p50/p95/p99 (ms) over the window."""
        rows = []
        for (k, name), acc in sorted(self._merged(window_s, kind).items()):
            p50, p95, p99 = percentiles(acc["b"])
            rows.append({"kind": k, "name": name, "count": acc["n"], "errors": acc["e"],
                         "p50_ms": p50, "p95_ms": p95, "p99_ms": p99})
        return rows

    def kind_percentiles(self, kind: str, window_s: int = 300) -> dict:
        """All timers of a kind merged: count, errors, p50/p95/p99."""
        acc = np.zeros(BUCKETS, np.int64)
        count = errors = 0
        for entry in self._merged(window_s, kind).values():
            acc += entry["b"]
            count += entry["n"]
            errors += entry["e"]
        p50, p95, p99 = percentiles(acc)
        return {"count": count, "errors": errors, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}

    def kind_series(self, kind: str) -> list[dict]:
        """Per minute of the window: the p95 (ms) of all timers of a kind, for sparklines and breaches."""
        per_minute: dict[int, np.ndarray] = {}
        for (minute, k, _name), entry in self.data.items():
            if k == kind:
                per_minute.setdefault(minute, np.zeros(BUCKETS, np.int64))
                per_minute[minute] += entry["b"]
        return [{"minute": m, "p95_ms": percentiles(per_minute[m], (95,))[0] if m in per_minute else None}
                for m in self.minutes]

    def counters(self, window_s: int = 300) -> dict[str, int]:
        since = minutes_back(window_s)[0]
        out: dict[str, int] = defaultdict(int)
        for (minute, field), value in self.counter_data.items():
            if minute >= since:
                out[field] += value
        return dict(out)

    def counter_series(self) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = defaultdict(dict)
        for (minute, field), value in self.counter_data.items():
            out[minute][field] = value
        return dict(out)


METRICS = MetricsStore()


def configure(redis_url: str, cluster: bool = False) -> None:
    """Use Redis for the process's metrics when a URL is set (every worker then reports the same figures)."""
    if redis_url and not isinstance(METRICS.sink, RedisSink):
        METRICS.use(RedisSink(redis_url, cluster=cluster))


class timed:
    """Time a block or a function into METRICS: `with timed("db", "latest_readings"):` or `@timed("db")`."""

    def __init__(self, kind: str, name: str | None = None) -> None:
        self.kind, self.name = kind, name

    def __enter__(self) -> "timed":
        self._start = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        METRICS.record(self.kind, self.name or "?", (time.perf_counter() - self._start) * 1000, exc_type is not None)

    def __call__(self, func):
        name = self.name or func.__name__
        kind = self.kind

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with timed(kind, name):
                return func(*args, **kwargs)

        return wrapper

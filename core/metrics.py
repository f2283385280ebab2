"""One timing decorator/context manager and the in-process metrics store behind it."""
from __future__ import annotations

import functools
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

WINDOW_SAMPLES = 2048  # per timer: enough for a stable p99, bounded memory


@dataclass
class _Series:
    samples: deque = field(default_factory=lambda: deque(maxlen=WINDOW_SAMPLES))  # (monotonic s, ms)
    count: int = 0
    errors: int = 0


class MetricsStore:
    """Bounded windows of durations per (kind, name); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], _Series] = {}

    def record(self, kind: str, name: str, ms: float, error: bool = False) -> None:
        with self._lock:
            series = self._series.setdefault((kind, name), _Series())
            series.samples.append((time.monotonic(), ms))
            series.count += 1
            series.errors += int(error)

    def summary(self, kind: str | None = None, window_s: float = 300.0) -> list[dict]:
        """Count, p50/p95/p99 (ms) and errors per timer over the last window_s seconds."""
        since = time.monotonic() - window_s
        with self._lock:
            items = [(k, list(s.samples), s.count, s.errors) for k, s in self._series.items()]
        rows = []
        for (k, name), samples, count, errors in sorted(items):
            if kind is not None and k != kind:
                continue
            recent = np.array([ms for t, ms in samples if t >= since])
            if recent.size == 0:
                continue
            p50, p95, p99 = np.percentile(recent, [50, 95, 99])
            rows.append({"kind": k, "name": name, "count": int(recent.size), "total": count,
                         "errors": errors, "p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)})
        return rows

    def clear(self) -> None:
        with self._lock:
            self._series.clear()


METRICS = MetricsStore()


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

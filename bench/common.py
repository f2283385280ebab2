"""Timing helpers shared by the benchmarks."""
from __future__ import annotations

import time

import numpy as np


def sample_ms(func, runs: int, warmup: int = 2) -> np.ndarray:
    """Wall times in ms of `runs` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        func()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


def describe(times: np.ndarray) -> str:
    p50, p95 = np.percentile(times, [50, 95])
    return f"p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   (n={times.size})"


def header(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))

"""Timing helpers and private databases shared by the benchmarks."""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import redis
from sqlalchemy import create_engine, make_url, text

CLAIM = "aqi:bench:claim"  # marks a Redis database index as in use by a bench run


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


@contextmanager
def private_postgres(server_url: str, prefix: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of `server_url` (its URL), dropped afterwards."""
    base = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def private_redis_db(server_url: str) -> Iterator[str]:
    """An empty database index on the Redis server of `server_url`, claimed for this run and emptied afterwards."""
    taken = redis.Redis.from_url(server_url).connection_pool.connection_kwargs.get("db", 0)
    for index in range(1, 16):
        if index == taken:
            continue
        url = urlunsplit(urlsplit(server_url)._replace(path=f"/{index}"))
        client = redis.Redis.from_url(url)
        if client.dbsize() == 0 and client.set(CLAIM, os.getpid(), nx=True):
            try:
                yield url
            finally:
                client.flushdb()
                client.close()
            return
        client.close()
    raise RuntimeError(f"no empty database index on {server_url}")

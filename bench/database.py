"""PostgreSQL figures: COPY throughput, and latest-per-station on 10 million rows with vs without indexes."""
from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.common import describe, header, sample_ms
from core import context
from core.db import migrate, queries
from core.db.bulk import upsert_measurements
from core.db.indexes import ensure_indexes
from core.ingest.store import ensure_cities, ensure_stations
from core.parameters import POLLUTANTS, UNITS
from core.settings import load_settings
from core.warmup import warm_cache

BASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STATIONS = int(os.environ.get("BENCH_STATIONS", 500))
ROWS = int(os.environ.get("BENCH_ROWS", 10_000_000))
END = datetime(2026, 11, 1, tzinfo=timezone.utc)


def measurements(station_ids: np.ndarray, start: datetime, hours: int, rng) -> pd.DataFrame:
    """Hourly rows for every station and pollutant (synthetic values: this measures the database)."""
    per_hour = len(station_ids) * len(POLLUTANTS)
    ts = pd.date_range(start, periods=hours, freq="h", tz="UTC")
    frame = pd.DataFrame({
        "station_id": np.tile(np.repeat(station_ids, len(POLLUTANTS)), hours),
        "parameter": pd.Categorical(np.tile(np.array(POLLUTANTS), len(station_ids) * hours)),
        "ts": np.repeat(ts, per_hour),
        "value": np.round(rng.gamma(2.0, 15.0, per_hour * hours), 1),
    })
    frame["unit"] = frame["parameter"].map(UNITS).astype("category")
    frame["quality"] = np.int8(0)
    return frame


def main() -> None:
    base = make_url(BASE_URL)
    name = f"aqi_bench_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    ctx = context.build(load_settings(database_url=base.set(database=name).render_as_string(False), redis_url=""))
    try:
        run(ctx)
    finally:
        ctx.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def run(ctx: context.Context) -> None:
    engine = ctx.engine
    migrate.upgrade(engine)
    rng = np.random.default_rng(7)
    with engine.begin() as conn:
        city = ensure_cities(conn, [{"name": "Bench", "country": "X", "timezone": "UTC", "lat": 0, "lon": 0}])
        ids = ensure_stations(conn, [{"code": f"B{i:05d}", "name": f"Bench {i}", "city_id": city["Bench"],
                                      "lat": rng.uniform(-1, 1), "lon": rng.uniform(-1, 1), "kind": "reference",
                                      "source": "bench", "active": True} for i in range(STATIONS)])
    station_ids = np.array(sorted(ids.values()))
    hours = ROWS // (STATIONS * len(POLLUTANTS))
    start = END - timedelta(hours=hours)

    header(f"Bulk load via COPY: {STATIONS} stations × {len(POLLUTANTS)} pollutants × {hours} h = "
           f"{STATIONS * len(POLLUTANTS) * hours:,} rows")
    chunk_hours = max(1, 1_000_000 // (STATIONS * len(POLLUTANTS)))
    loaded, copy_s, t = 0, 0.0, start
    while t < END:
        n = min(chunk_hours, int((END - t) / timedelta(hours=1)))
        frame = measurements(station_ids, t, n, rng)
        began = time.perf_counter()
        with engine.begin() as conn:
            loaded += upsert_measurements(conn, frame)
        copy_s += time.perf_counter() - began
        t += timedelta(hours=n)
    print(f"fresh hours (COPY straight into the partitioned, indexed table): {loaded:,} rows in {copy_s:.1f} s "
          f"= {loaded / copy_s:,.0f} rows/s   target >= 250,000: {'MET' if loaded / copy_s >= 250_000 else 'MISSED'}")
    again = measurements(station_ids, start, chunk_hours, rng)  # oldest hours: keep the hot end compact
    began = time.perf_counter()
    with engine.begin() as conn:
        upsert_measurements(conn, again)
    took = time.perf_counter() - began
    print(f"re-load of existing hours (COPY to staging + upsert): {len(again):,} rows in {took:.1f} s "
          f"= {len(again) / took:,.0f} rows/s")

    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE measurements"))

    until = END - timedelta(hours=1)
    header("Hot queries on the loaded table")
    with Session(engine) as session:
        latest = sample_ms(lambda: queries.latest_readings(session, until=until), runs=50)
        n_latest = len(queries.latest_readings(session, until=until))
        window = sample_ms(lambda: queries.recent_window(session, until, 24), runs=20)
        series = sample_ms(lambda: queries.station_series(session, int(station_ids[7]), until - timedelta(hours=72),
                                                          until), runs=50)
        newest = sample_ms(lambda: queries.latest_hour(session), runs=50)
        indexed_server = server_ms(session, until, runs=20)
    print(f"latest reading per station+parameter ({n_latest} series)  {describe(latest)}   "
          f"target p95 < 20 ms: {'MET' if np.percentile(latest, 95) < 20 else 'MISSED'}")
    print(f"24-h window of all stations (map NowCast input)     {describe(window)}")
    print(f"one station, 72 h, all pollutants                  {describe(series)}")
    print(f"newest hour (max ts)                               {describe(newest)}")

    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE measurements DROP CONSTRAINT measurements_pkey"))
        conn.execute(text("DROP INDEX ix_measurements_ts"))
    with Session(engine) as session:
        bare = sample_ms(lambda: queries.latest_readings(session, until=until), runs=5, warmup=1)
        bare_server = server_ms(session, until, runs=5)
    ratio = np.percentile(bare, 95) / np.percentile(latest, 95)
    server_ratio = np.median(bare_server) / np.median(indexed_server)
    header("Latest per station: with vs without indexes (same data, same run)")
    print(f"with indexes     {describe(latest)}   server (EXPLAIN ANALYZE) median {np.median(indexed_server):.2f} ms")
    print(f"without indexes  {describe(bare)}   server (EXPLAIN ANALYZE) median {np.median(bare_server):.2f} ms")
    print(f"speed-up, client p95: {ratio:,.1f}×   server median: {server_ratio:,.1f}×   "
          f"target >= 20×: {'MET' if max(ratio, server_ratio) >= 20 else 'MISSED'}")
    admin_jobs(ctx)


def admin_jobs(ctx: context.Context) -> None:
    """The admin page's index job (on the table just stripped of its ts index) and the cache-warm job."""
    header("Index job on the 10-million-row table (ix_measurements_ts missing, built online per partition)")
    started = time.perf_counter()
    report = ensure_indexes(ctx.engine)
    print(f"run time {time.perf_counter() - started:.1f} s")
    for index in report["indexes"]:
        print(f"  {index['index']:24s} {index['outcome']:14s} {index.get('seconds', '')}")
    for query in report["queries"]:
        print(f"  {query['query']:24s} before {query['before_ms']:>9} ms   after {query['after_ms']:>9} ms "
              "(EXPLAIN ANALYZE)")
    header(f"Cache-warm job: every city and station, {STATIONS} stations (in-process cache)")
    started = time.perf_counter()
    warmed = warm_cache(ctx)
    print(f"run time {time.perf_counter() - started:.1f} s; " + "; ".join(
        f"{w['namespace']}: {w['entries']} entries in {w['seconds']} s" for w in warmed))


def server_ms(session: Session, until: datetime, runs: int) -> list[float]:
    """The server's own execution time of the latest-per-station query (no driver or Python cost)."""
    sql = text("EXPLAIN (ANALYZE, FORMAT JSON) " + queries.LATEST_PG.text)
    params = {"since": until - timedelta(hours=2), "until": until}
    return [session.execute(sql, params).scalar_one()[0]["Execution Time"] for _ in range(runs)]

"""The indexes the hot queries need, and a job step that makes sure they exist (online in PostgreSQL)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, text

from core.db import queries


@dataclass(frozen=True)
class IndexSpec:
    name: str
    table: str
    columns: str
    why: str


CATALOGUE = (
    IndexSpec("ix_measurements_ts", "measurements", "ts",
              "latest reading per station, the map's 24-hour window, the newest hour"),
    IndexSpec("ix_stations_city_id", "stations", "city_id", "stations of a city"),
    IndexSpec("ix_stations_lon_lat", "stations", "lon, lat", "stations in a bounding box"),
    IndexSpec("ix_job_runs_job", "job_runs", "job", "job history per job"),
)
# The primary key (station_id, parameter, ts) serves a station's series; it comes with the table.


def exists(engine: Engine, name: str) -> bool:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}).scalar_one()
        return conn.execute(text("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = :n"),
                            {"n": name}).scalar_one() > 0


def create(engine: Engine, spec: IndexSpec) -> None:
    """Create one index without blocking writers (PostgreSQL: CONCURRENTLY, partition by partition)."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {spec.name} ON {spec.table} ({spec.columns})"))
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        partitions = conn.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"), {"t": spec.table}).scalars().all()
        if not partitions:
            conn.execute(text(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {spec.name} ON {spec.table} ({spec.columns})"))
            return
        # CONCURRENTLY does not apply to a partitioned table: build each partition's index online, then an
        # index on the parent alone, and attach them (it becomes valid once every partition is attached).
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {spec.name} ON ONLY {spec.table} ({spec.columns})"))
        for partition in partitions:
            child = f"{partition}_{spec.name.removeprefix('ix_' + spec.table + '_')}_idx"
            conn.execute(text(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {child} ON {partition} ({spec.columns})"))
            attached = conn.execute(text(
                "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(:c) "
                "AND inhparent = to_regclass(:p))"), {"c": child, "p": spec.name}).scalar_one()
            if not attached:
                conn.execute(text(f"ALTER INDEX {spec.name} ATTACH PARTITION {child}"))


def key_query_times(engine: Engine) -> dict[str, float | None]:
    """Server execution time (ms) of the hot queries: EXPLAIN ANALYZE in PostgreSQL, wall time in SQLite."""
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT max(ts) FROM measurements")).scalar_one()
        station = conn.execute(text("SELECT min(id) FROM stations")).scalar_one()
    if newest is None:
        return {}
    newest = queries.utc(newest)
    statements = {
        "latest_readings": (queries.LATEST_PG.text if engine.dialect.name == "postgresql"
                            else queries.LATEST_SQLITE.text,
                            {"since": newest - timedelta(hours=2), "until": newest}),
        "recent_window_24h": ("SELECT station_id, parameter, ts, value FROM measurements WHERE ts > :since "
                              "AND ts <= :until AND quality < 2", {"since": newest - timedelta(hours=24),
                                                                     "until": newest}),
        "station_series_72h": ("SELECT parameter, ts, value FROM measurements WHERE station_id = :s AND ts >= :since",
                               {"s": station, "since": newest - timedelta(hours=72)}),
    }
    out = {}
    with engine.connect() as conn:
        for name, (sql, params) in statements.items():
            if engine.dialect.name == "postgresql":
                plan = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"), params).scalar_one()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                out[name] = round(plan[0]["Execution Time"], 2)
            else:
                params = {k: v.strftime("%Y-%m-%d %H:%M:%S.000000") if hasattr(v, "strftime") else v
                          for k, v in params.items()}
                started = time.perf_counter()
                conn.execute(text(sql), params).all()
                out[name] = round((time.perf_counter() - started) * 1000, 2)
    return out


def ensure_indexes(engine: Engine, progress=None) -> dict:
    """Create what is missing from the catalogue, ANALYZE, and report the key queries before and after."""
    before = key_query_times(engine)
    report = []
    for done, spec in enumerate(CATALOGUE, start=1):
        if progress:
            progress(done - 1, len(CATALOGUE) + 1, f"checking {spec.name}")
        if exists(engine, spec.name):
            report.append({"index": spec.name, "table": spec.table, "outcome": "already there", "why": spec.why})
            continue
        started = time.perf_counter()
        create(engine, spec)
        report.append({"index": spec.name, "table": spec.table, "outcome": "created", "why": spec.why,
                       "seconds": round(time.perf_counter() - started, 2)})
    if progress:
        progress(len(CATALOGUE), len(CATALOGUE) + 1, "ANALYZE")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    after = key_query_times(engine)
    return {"indexes": report,
            "queries": [{"query": q, "before_ms": before.get(q), "after_ms": after.get(q)} for q in after]}

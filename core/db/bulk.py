"""Bulk, idempotent loading: PostgreSQL COPY (psycopg 3), batched upserts on SQLite."""
from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import Connection, text

from core.db.partitions import ensure_partitions
from core.metrics import timed

MEASUREMENT_COLUMNS = ["station_id", "parameter", "ts", "value", "unit", "quality"]
WEATHER_COLUMNS = ["city_id", "ts", "temperature_c", "humidity_pct", "wind_speed_ms", "wind_dir_deg",
                   "pressure_hpa", "precipitation_mm"]
SQLITE_BATCH = 50_000
COPY_CHUNK = 8 << 20  # bytes of CSV per write: bounded memory for any size of load


@timed("db", "upsert_measurements")
def upsert_measurements(conn: Connection, frame: pd.DataFrame) -> int:
    """Insert or update rows (station_id, parameter, ts, value, unit, quality); returns rows written.

    Runs inside the caller's transaction, so a failed load leaves nothing behind.
    """
    if frame.empty:
        return 0
    frame = frame[MEASUREMENT_COLUMNS]
    if conn.dialect.name == "postgresql":
        ensure_partitions(conn, frame["ts"].min(), frame["ts"].max())
        return _pg_copy_upsert(conn, "measurements", frame, ["station_id", "parameter", "ts"])
    return _sqlite_upsert(conn, "measurements", frame, ["station_id", "parameter", "ts"])


@timed("db", "upsert_weather")
def upsert_weather(conn: Connection, frame: pd.DataFrame) -> int:
    """Insert or update hourly weather rows per city."""
    if frame.empty:
        return 0
    frame = frame[WEATHER_COLUMNS]
    if conn.dialect.name == "postgresql":
        return _pg_copy_upsert(conn, "weather", frame, ["city_id", "ts"])
    return _sqlite_upsert(conn, "weather", frame, ["city_id", "ts"])


def ts_text(ts: pd.Series, fmt: str) -> pd.Series:
    """Format hourly timestamps once per distinct hour, not once per row."""
    codes, hours = pd.factorize(ts.dt.tz_convert("UTC"))
    return pd.Series(pd.Categorical.from_codes(codes, hours.strftime(fmt)), index=ts.index)


def _csv_chunks(frame: pd.DataFrame):
    frame = frame.assign(ts=ts_text(frame["ts"], "%Y-%m-%d %H:%M:%S+00"))
    rows_per_chunk = max(1, COPY_CHUNK // 48)
    for start in range(0, len(frame), rows_per_chunk):
        buf = io.StringIO()
        frame.iloc[start:start + rows_per_chunk].to_csv(buf, header=False, index=False)
        yield buf.getvalue()


def _range_is_empty(conn: Connection, table: str, frame: pd.DataFrame) -> bool:
    return conn.execute(text(f"SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE ts BETWEEN :a AND :b)"),
                        {"a": frame["ts"].min(), "b": frame["ts"].max()}).scalar_one()


def _pg_copy_upsert(conn: Connection, table: str, frame: pd.DataFrame, key: list[str]) -> int:
    columns = ", ".join(frame.columns)
    raw = conn.connection.driver_connection  # psycopg 3 connection, same transaction
    # Fresh hours (the usual case) go straight in; overlapping hours go through a staging table.
    direct = _range_is_empty(conn, table, frame) and not frame.duplicated(key).any()
    target = table if direct else f"_stage_{table}"
    with raw.cursor() as cur:
        if not direct:
            cur.execute(f"CREATE TEMP TABLE {target} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
        with cur.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            for chunk in _csv_chunks(frame):
                copy.write(chunk)
        if not direct:
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in frame.columns if c not in key)
            cur.execute(f"INSERT INTO {table} ({columns}) SELECT DISTINCT ON ({', '.join(key)}) {columns} "
                        f"FROM {target} ORDER BY {', '.join(key)} "
                        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")
            cur.execute(f"DROP TABLE {target}")
    return len(frame)


def _sqlite_upsert(conn: Connection, table: str, frame: pd.DataFrame, key: list[str]) -> int:
    columns = list(frame.columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
           f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")
    # SQLAlchemy's SQLite DateTime stores this exact text form; keep it so ORM comparisons match.
    prepared = frame.assign(ts=ts_text(frame["ts"], "%Y-%m-%d %H:%M:%S.000000").astype(str))
    prepared = prepared.astype(object).where(frame.notna(), None)
    cursor = conn.connection.driver_connection.cursor()
    for start in range(0, len(prepared), SQLITE_BATCH):
        cursor.executemany(sql, prepared.iloc[start:start + SQLITE_BATCH].itertuples(index=False, name=None))
    cursor.close()
    return len(frame)

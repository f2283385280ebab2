"""Bulk, idempotent loading: PostgreSQL COPY (psycopg 3), batched upserts on SQLite."""
from __future__ import annotations

import io

import numpy as np
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
        # Primary-key order within each day: B-tree inserts land next to each other (about 2× faster COPY)
        # while a day's rows stay together on disk for the recent-hours queries.
        hours = frame["ts"].astype("datetime64[us, UTC]").astype("int64").to_numpy() // 3_600_000_000
        parameter = pd.factorize(frame["parameter"], sort=True)[0]
        station = frame["station_id"].to_numpy()
        order = np.lexsort((hours, parameter, station, hours // 24))
        # Sorted, a repeated (station, parameter, hour) sits next to its twin: an O(n) check.
        key = np.stack([station[order], parameter[order], hours[order]])
        repeated = bool((key[:, 1:] == key[:, :-1]).all(axis=0).any())
        return _pg_copy_upsert(conn, "measurements", frame.iloc[order], ["station_id", "parameter", "ts"], repeated)
    return _sqlite_upsert(conn, "measurements", frame, ["station_id", "parameter", "ts"])


@timed("db", "upsert_weather")
def upsert_weather(conn: Connection, frame: pd.DataFrame) -> int:
    """Insert or update hourly weather rows per city, as observed (it replaces a forecast of the same hour)."""
    if frame.empty:
        return 0
    frame = frame[WEATHER_COLUMNS].assign(source="observed")
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


PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00Z, PostgreSQL's binary timestamp origin, in µs
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
BINARY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def measurement_copy_chunks(frame: pd.DataFrame, rows_per_chunk: int = 200_000):
    """PostgreSQL binary COPY data for measurement rows, built with numpy (no per-row Python).

    Rows sharing a (parameter, unit) pair have a fixed width, so each group is one structured array.
    """
    yield BINARY_HEADER
    ts_us = frame["ts"].dt.tz_convert("UTC").astype("datetime64[us, UTC]").astype("int64").to_numpy() - PG_EPOCH_US
    parameter, unit = frame["parameter"].astype(str).to_numpy(), frame["unit"].astype(str).to_numpy()
    for (p, u), index in frame.groupby([parameter, unit], sort=False).indices.items():
        pb, ub = p.encode(), u.encode()
        dtype = np.dtype([("n", ">i2"), ("l1", ">i4"), ("station", ">i4"), ("l2", ">i4"), ("p", f"S{len(pb)}"),
                          ("l3", ">i4"), ("ts", ">i8"), ("l4", ">i4"), ("value", ">f8"), ("l5", ">i4"),
                          ("u", f"S{len(ub)}"), ("l6", ">i4"), ("quality", ">i2")])
        for start in range(0, len(index), rows_per_chunk):
            part = index[start:start + rows_per_chunk]
            rows = np.empty(len(part), dtype)
            rows["n"], rows["l1"], rows["l2"], rows["l3"], rows["l4"], rows["l5"], rows["l6"] = (
                6, 4, len(pb), 8, 8, len(ub), 2)
            rows["station"] = frame["station_id"].to_numpy()[part]
            rows["p"], rows["u"] = pb, ub
            rows["ts"] = ts_us[part]
            rows["value"] = frame["value"].to_numpy()[part]
            rows["quality"] = frame["quality"].to_numpy()[part]
            yield rows.tobytes()
    yield BINARY_TRAILER


def _range_is_empty(conn: Connection, table: str, frame: pd.DataFrame) -> bool:
    return conn.execute(text(f"SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE ts BETWEEN :a AND :b)"),
                        {"a": frame["ts"].min(), "b": frame["ts"].max()}).scalar_one()


def _pg_copy_upsert(conn: Connection, table: str, frame: pd.DataFrame, key: list[str],
                    repeated: bool | None = None) -> int:
    columns = ", ".join(frame.columns)
    raw = conn.connection.driver_connection  # psycopg 3 connection, same transaction
    binary = table == "measurements"  # fixed columns, no NULLs: the fast binary format applies
    # Fresh hours (the usual case) go straight in; overlapping hours go through a staging table.
    if repeated is None:
        repeated = bool(frame.duplicated(key).any())
    direct = not repeated and _range_is_empty(conn, table, frame)
    target = table if direct else f"_stage_{table}"
    with raw.cursor() as cur:
        if not direct:
            cur.execute(f"CREATE TEMP TABLE {target} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
        fmt, chunks = ("binary", measurement_copy_chunks(frame)) if binary else ("csv", _csv_chunks(frame))
        with cur.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT {fmt})") as copy:
            for chunk in chunks:
                copy.write(chunk)
        if not direct:
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in frame.columns if c not in key)
            cur.execute(f"INSERT INTO {table} ({columns}) SELECT DISTINCT ON ({', '.join(key)}) {columns} "
                        f"FROM {target} ORDER BY {', '.join(key)}, ctid DESC "  # fresh table: ctid is input order; last wins
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

"""Write cities, stations, measurements and weather from any source, in one transaction."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, select

from core.db.bulk import upsert_measurements, upsert_weather
from core.db.models import City, Station


def ensure_cities(conn: Connection, cities: list[dict]) -> dict[str, int]:
    """Insert cities that are missing (by name); returns name -> id for all of them."""
    known = dict(conn.execute(select(City.name, City.id)).all())
    missing = [c for c in cities if c["name"] not in known]
    if missing:
        conn.execute(City.__table__.insert(), missing)
        known = dict(conn.execute(select(City.name, City.id)).all())
    return known


def ensure_stations(conn: Connection, stations: list[dict]) -> dict[str, int]:
    """Insert stations that are missing (by code); returns code -> id for every known station."""
    known = dict(conn.execute(select(Station.code, Station.id)).all())
    missing = [s for s in stations if s["code"] not in known]
    if missing:
        conn.execute(Station.__table__.insert(), missing)
        known = dict(conn.execute(select(Station.code, Station.id)).all())
    return known


def write_measurements(conn: Connection, frame: pd.DataFrame, station_ids: dict[str, int]) -> int:
    """Upsert a frame keyed by station_code; every code must be known."""
    if frame.empty:
        return 0
    codes = frame["station_code"].astype(str)
    ids = codes.map(station_ids)
    if ids.isna().any():
        raise ValueError(f"unknown station codes: {sorted(set(codes[ids.isna()]))[:5]}")
    rows = frame.drop(columns="station_code").assign(
        station_id=ids.astype("int64"), parameter=frame["parameter"].astype(str), unit=frame["unit"].astype(str))
    return upsert_measurements(conn, rows)


def write_weather(conn: Connection, frame: pd.DataFrame, city_ids: dict[str, int]) -> int:
    """Upsert a weather frame keyed by city name."""
    if frame.empty:
        return 0
    rows = frame.drop(columns="city").assign(city_id=frame["city"].astype(str).map(city_ids).astype("int64"))
    return upsert_weather(conn, rows)

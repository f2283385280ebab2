"""Write cities, stations, measurements, weather and published AQI from any source, in the caller's transaction."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db.bulk import WEATHER_COLUMNS, upsert_measurements, upsert_weather
from core.db.models import AirNowAQI, City, Station, Weather
from core.ingest.airnow import fixed_zone
from core.ingest.tabular import ImportedStation

NEAREST_CITY_KM = 100
# Stations whose area is not known yet (an AirNow data file names no place) wait in a city named
# "Unassigned (<source>, UTC±hh:mm)", one per standard offset so its time zone is right.
PLACEHOLDER_PREFIX = "Unassigned ("
# Station columns a file may describe; None in an ImportedStation leaves the stored value alone.
_METADATA = ("lat", "lon", "active", "agency", "country", "state", "county", "msa", "utc_offset_hours")


@dataclass
class Placed:
    """What placing a file's stations did: ids of every known code, and what changed."""

    ids: dict[str, int]
    new: int = 0
    updated: int = 0
    moved: int = 0
    cities: set[str] = field(default_factory=set)  # cities that gained, lost or changed stations
    city_of: dict[str, str] = field(default_factory=dict)  # code -> city, for the stations placed


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


def placeholder_name(source: str, offset_hours: float | None) -> str:
    """'Unassigned (airnow, UTC-05:00)': where stations of no known area wait."""
    if offset_hours is None:
        return f"{PLACEHOLDER_PREFIX}{source})"
    sign = "-" if offset_hours < 0 else "+"
    minutes = round(abs(offset_hours) * 60)
    return f"{PLACEHOLDER_PREFIX}{source}, UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})"


def place_stations(conn: Connection, stations: list[ImportedStation], city: str | None = None) -> Placed:
    """Insert new stations and update known ones from what a file says about them.

    A new station goes to `city` when given, else the area its file names (AirNow: MSA, else
    "County, State"), else the nearest known city within NEAREST_CITY_KM, else a placeholder city.
    A known station waiting in a placeholder moves to its area as soon as a file names it.
    """
    cities = {r.name: r for r in conn.execute(select(City.id, City.name, City.lat, City.lon))}
    if city is not None and city not in cities:
        raise ValueError(f"no city named '{city}'; known: {', '.join(sorted(cities))}")
    codes = {s.code for s in stations}
    # Every station in one plain query: cheaper than an IN list of a few thousand codes, and as many rows.
    known = {r.code: r for r in conn.execute(
        select(Station.id, Station.code, Station.name, Station.city_id, City.name.label("city"),
               *[getattr(Station, c) for c in _METADATA]).join(City, Station.city_id == City.id)) if r.code in codes}

    targets: dict[str, str] = {}
    new_cities: dict[str, dict] = {}
    area_points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for s in stations:
        current = known.get(s.code)
        if current is not None and not current.city.startswith(PLACEHOLDER_PREFIX):
            continue
        target = city or s.area
        if target is None and current is None:
            target = _nearest_city(s.lat, s.lon, cities.values())
        if target is None:
            if current is not None:
                continue  # still nothing known about its place: it waits where it is
            target = placeholder_name(s.source, s.utc_offset_hours)
            new_cities.setdefault(target, {"name": target, "country": "", "lat": 0.0,
                                           "lon": (s.utc_offset_hours or 0.0) * 15.0,
                                           "timezone": fixed_zone(s.utc_offset_hours or 0.0)})
        elif target not in cities:
            new_cities.setdefault(target, {"name": target, "country": s.country or "",
                                           "timezone": s.timezone or fixed_zone(s.utc_offset_hours or 0.0)})
            if s.lat is not None and s.lon is not None:
                area_points[target].append((s.lat, s.lon))
        targets[s.code] = target
    for name, row in new_cities.items():
        if "lat" not in row:  # an area is centred on its stations
            points = area_points[name] or [(0.0, 0.0)]
            row["lat"] = sum(p[0] for p in points) / len(points)
            row["lon"] = sum(p[1] for p in points) / len(points)
    city_ids = ensure_cities(conn, list(new_cities.values()))

    placed = Placed(ids={})
    inserts, updates = [], []
    for s in stations:
        current = known.get(s.code)
        if current is None:
            inserts.append({"code": s.code, "name": s.name, "kind": "reference", "source": s.source,
                            "city_id": city_ids[targets[s.code]], "active": True if s.active is None else s.active,
                            **{c: getattr(s, c) for c in _METADATA if c != "active"}})
            placed.cities.add(targets[s.code])
            continue
        changes = {c: getattr(s, c) for c in _METADATA
                   if getattr(s, c) is not None and getattr(s, c) != getattr(current, c)}
        # AirNow cuts names at 20 characters in its data files: a cut name never replaces the full one.
        if s.name and s.name != current.name and not current.name.startswith(s.name):
            changes["name"] = s.name
        if s.code in targets and targets[s.code] != current.city:
            changes["city_id"] = city_ids[targets[s.code]]
            placed.moved += 1
            placed.cities.update({current.city, targets[s.code]})
        if changes:
            updates.append((current.id, changes))
            placed.cities.add(current.city)
    if inserts:
        conn.execute(Station.__table__.insert(), inserts)
        placed.new = len(inserts)
    for station_id, changes in updates:
        conn.execute(update(Station).where(Station.id == station_id).values(**changes))
    placed.updated = len(updates)
    if placed.moved:
        _drop_empty_placeholders(conn)
    placed.ids = {code: i for code, i in conn.execute(select(Station.code, Station.id)) if code in codes}
    placed.city_of = {s.code: targets.get(s.code) or known[s.code].city for s in stations}
    return placed


def _drop_empty_placeholders(conn: Connection) -> None:
    """Placeholders whose stations all moved go, with the weather their sites gave them (it mixed unknown places)."""
    has_station = select(Station.id).where(Station.city_id == City.id).exists()
    empty = select(City.id).where(City.name.startswith(PLACEHOLDER_PREFIX), ~has_station)
    conn.execute(delete(Weather).where(Weather.city_id.in_(empty)))
    conn.execute(delete(City).where(City.id.in_(empty)))


def _nearest_city(lat: float | None, lon: float | None, cities) -> str | None:
    cities = [c for c in cities if not c.name.startswith(PLACEHOLDER_PREFIX)]
    if lat is None or lon is None or not cities:
        return None
    km, name = min((haversine_km(lat, lon, c.lat, c.lon), c.name) for c in cities)
    return name if km <= NEAREST_CITY_KM else None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in km."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


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


def write_published_aqi(conn: Connection, frame: pd.DataFrame, station_ids: dict[str, int]) -> int:
    """Upsert AirNow's published AQI rows (station_code, parameter, ts, aqi); a newer file's value wins."""
    if frame.empty:
        return 0
    rows = [{"station_id": station_ids[c], "parameter": p, "ts": t.to_pydatetime(), "aqi": int(a)}
            for c, p, t, a in frame[["station_code", "parameter", "ts", "aqi"]].itertuples(index=False)]
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(AirNowAQI)
    conn.execute(insert.on_conflict_do_update(index_elements=["station_id", "parameter", "ts"],
                                              set_={"aqi": insert.excluded.aqi}), rows)
    return len(rows)


def write_weather(conn: Connection, frame: pd.DataFrame, city_ids: dict[str, int]) -> int:
    """Upsert a weather frame keyed by city name."""
    if frame.empty:
        return 0
    rows = frame.drop(columns="city").assign(city_id=frame["city"].astype(str).map(city_ids).astype("int64"))
    return upsert_weather(conn, rows)


@dataclass
class WeatherWritten:
    """City-hours of weather written from sites' readings, and readings of sites not stored as stations."""

    city_hours: int = 0
    unknown_sites: int = 0


def write_site_weather(conn: Connection, frame: pd.DataFrame) -> WeatherWritten:
    """Upsert each city's hourly weather from its sites' readings (SITE_WEATHER_COLUMNS) in the caller's transaction.

    A city's value is the mean over its sites that hour; the wind direction is the direction of the mean
    unit vector (the mean of 350° and 10° is 0°, not 180°), none when the directions cancel out.
    """
    if frame.empty:
        return WeatherWritten()
    city_of = dict(conn.execute(select(Station.code, Station.city_id)).all())
    city = frame["station_code"].map(city_of)
    known = frame.assign(city_id=city).loc[city.notna()]
    written = WeatherWritten(unknown_sites=int(frame.loc[city.isna(), "station_code"].nunique()))
    if known.empty:
        return written
    keys = ["city_id", "ts"]
    scalar = known[known["variable"] != "wind_dir_deg"]
    wide = scalar.pivot_table(index=keys, columns="variable", values="value", aggfunc="mean")
    direction = known[known["variable"] == "wind_dir_deg"]
    if not direction.empty:
        radians = np.radians(direction["value"].to_numpy(dtype=float))
        vectors = pd.DataFrame({"city_id": direction["city_id"].to_numpy(), "ts": direction["ts"].to_numpy(),
                                "x": np.sin(radians), "y": np.cos(radians)}).groupby(keys)[["x", "y"]].mean()
        degrees = np.degrees(np.arctan2(vectors["x"], vectors["y"])) % 360.0
        wide = wide.join((degrees.where(np.hypot(vectors["x"], vectors["y"]) > 1e-6)).rename("wind_dir_deg"),
                         how="outer")
    rows = wide.reset_index().reindex(columns=WEATHER_COLUMNS)
    rows["city_id"] = rows["city_id"].astype("int64")
    rows["ts"] = pd.to_datetime(rows["ts"], utc=True)
    # Six decimals: a mean's float noise (208.29999999999998) is no information.
    written.city_hours = upsert_weather(conn, rows.astype({c: float for c in WEATHER_COLUMNS[2:]}).round(
        {c: 6 for c in WEATHER_COLUMNS[2:]}))
    return written

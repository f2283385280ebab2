"""Load an OpenAQ or AirNow file into the database: whole or not at all."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from core import catalog
from core.airquality import invalidate_current
from core.db.models import City, Station
from core.ingest.importers import ImportResult, parse_file
from core.ingest.store import ensure_cities, ensure_stations, write_measurements

NEAREST_CITY_KM = 100


class ImportRejected(ValueError):
    """Strict mode: the file had rejected lines, so nothing was loaded."""


@dataclass
class ImportSummary:
    path: str
    source: str
    lines_read: int
    loaded: int
    new_stations: int
    rejected: list = field(default_factory=list)
    conversions: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def import_file(engine: Engine, path: str | Path, city: str | None = None, strict: bool = False) -> ImportSummary:
    """Parse, validate and load one file in a single transaction.

    Impossible values are rejected and reported by line; with strict=True any rejection loads nothing.
    """
    result = parse_file(path)
    if strict and result.rejected:
        raise ImportRejected(f"{len(result.rejected)} rejected line(s); nothing loaded: "
                             + "; ".join(f"line {r.line}: {r.reason}" for r in result.rejected[:20]))
    with engine.begin() as conn:
        cities = [dict(r._mapping) for r in conn.execute(select(City.id, City.name, City.lat, City.lon))]
        if city is not None and city not in {c["name"] for c in cities}:
            raise ValueError(f"no city named '{city}'; known: {', '.join(sorted(c['name'] for c in cities))}")
        before = ensure_stations(conn, [])
        rows = [_station_row(s, result, city, cities) for s in result.stations if s.code not in before]
        new_cities = {r["city"]: r.pop("_new_city") for r in rows}
        city_ids = ensure_cities(conn, [c for c in new_cities.values() if c is not None])
        for r in rows:
            r["city_id"] = city_ids[r.pop("city")]
        station_ids = ensure_stations(conn, rows)
        loaded = write_measurements(conn, result.measurements, station_ids)
        touched = _cities_of(conn, {station_ids[c] for c in result.measurements["station_code"].astype(str).unique()})
    if rows:
        catalog.invalidate()
    invalidate_current(touched)
    return ImportSummary(str(path), result.source, result.lines_read, loaded, len(rows), result.rejected,
                         result.conversions, result.skipped)


def _cities_of(conn, station_ids: set[int]) -> list[str]:
    return list(conn.execute(select(City.name).join(Station, Station.city_id == City.id)
                             .where(Station.id.in_(station_ids)).distinct()).scalars())


def _station_row(station, result: ImportResult, city: str | None, cities: list[dict]) -> dict:
    name = city or _nearest_city(station.lat, station.lon, cities)
    new_city = None
    if name is None:
        name = f"Unassigned ({result.source})"
        new_city = {"name": name, "country": "", "timezone": _zone(station.utc_offset_hours),
                    "lat": station.lat or 0.0, "lon": station.lon or 0.0}
    return {"code": station.code, "name": station.name, "lat": station.lat, "lon": station.lon, "kind": "reference",
            "source": result.source, "active": True, "city": name, "_new_city": new_city}


def _nearest_city(lat: float | None, lon: float | None, cities: list[dict]) -> str | None:
    if lat is None or lon is None or not cities:
        return None
    km, name = min((_haversine_km(lat, lon, c["lat"], c["lon"]), c["name"]) for c in cities)
    return name if km <= NEAREST_CITY_KM else None


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def _zone(offset_hours: float | None) -> str:
    # IANA's Etc/GMT zones have inverted signs (Etc/GMT+8 is UTC-8) and whole hours only.
    if offset_hours is None or offset_hours != int(offset_hours):
        return "UTC"
    return "UTC" if offset_hours == 0 else f"Etc/GMT{-int(offset_hours):+d}"

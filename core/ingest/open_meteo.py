"""Open-Meteo on our side: its variables and units, writing its weather and CAMS rows, and its CSV download.

The CSV download (`format=csv`, the website's "Download CSV") holds the hourly weather of one location. Its layout, as Open-Meteo's server writes it (tests/fixtures/open_meteo/README.md): the header
`latitude,longitude,elevation,utc_offset_seconds,timezone,timezone_abbreviation` and its row, a blank line,
then one block per section (current, hourly, daily…), each a header `time,<variable> (<unit>),…` and its rows,
blocks separated by blank lines. Times are local ISO times of utc_offset_seconds, or unix seconds: a download
in a zone with daylight saving states one offset, so download in GMT (or unixtime) to be exact across a change.
Several locations add a leading `location_id` column; we take one location per file.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import CamsForecast, City, Station, Weather
from core.ingest.airnow import WEATHER_RANGE
from core.ingest.store import haversine_km
from core.ingest.tabular import ImportFormatError, Rejected

# Open-Meteo hourly variable -> weather table column. surface_pressure, not pressure_msl: the sites'
# barometers (AirNow BARPR, the PRSA file's PRES) read the pressure where they stand, which is what the
# model learnt from; sea-level pressure is about 12 hPa higher per 100 m of elevation (Denver: ~170 hPa).
# Open-Meteo's precipitation at T is the sum of the hour before T; a weather row holds the hour starting at
# its ts (AirNow's convention): see precipitation_to_hour_start.
HOURLY = {"temperature_2m": "temperature_c", "relative_humidity_2m": "humidity_pct",
          "wind_speed_10m": "wind_speed_ms", "wind_direction_10m": "wind_dir_deg",
          "surface_pressure": "pressure_hpa", "precipitation": "precipitation_mm"}
WEATHER_COLUMNS = tuple(HOURLY.values())
# Names Open-Meteo used before 2023 and still answers under when asked so (its own tests use them).
ALIASES = {"wind_speed_10m": "windspeed_10m", "wind_direction_10m": "winddirection_10m",
           "relative_humidity_2m": "relativehumidity_2m"}
# Open-Meteo air-quality variable (CAMS) -> our parameter; all of them µg/m³.
CAMS = {"pm2_5": "pm25", "pm10": "pm10", "ozone": "o3", "nitrogen_dioxide": "no2", "sulphur_dioxide": "so2",
        "carbon_monoxide": "co"}
# (column, unit as Open-Meteo writes it) -> (scale, offset) to the weather table's unit.
WEATHER_UNITS = {
    ("temperature_c", "°C"): (1.0, 0.0), ("temperature_c", "°F"): (5 / 9, -32 * 5 / 9),
    ("humidity_pct", "%"): (1.0, 0.0), ("wind_dir_deg", "°"): (1.0, 0.0),
    ("wind_speed_ms", "m/s"): (1.0, 0.0), ("wind_speed_ms", "km/h"): (1 / 3.6, 0.0),
    ("wind_speed_ms", "mp/h"): (0.44704, 0.0), ("wind_speed_ms", "kn"): (0.514444, 0.0),
    ("pressure_hpa", "hPa"): (1.0, 0.0), ("precipitation_mm", "mm"): (1.0, 0.0),
    ("precipitation_mm", "inch"): (25.4, 0.0),
}
METADATA = ("latitude", "longitude", "elevation", "utc_offset_seconds", "timezone", "timezone_abbreviation")
SOURCE = "open-meteo-csv"
MAX_CITY_DISTANCE_KM = 50.0  # a file's location further than this from every city needs --city
_UNIX = re.compile(r"-?\d{1,12}")  # unix seconds: the archive reaches back to 1940
_COLUMN = re.compile(r"(?P<name>[a-z0-9_]+) \((?P<unit>[^)]*)\)")
_VARIABLE = {**{name: column for name, column in HOURLY.items()},
             **{ALIASES[name]: column for name, column in HOURLY.items() if name in ALIASES}}


@dataclass
class WeatherExport:
    """One location's hourly weather from the file, in the weather table's units, and what was rejected."""

    path: str
    latitude: float
    longitude: float
    frame: pd.DataFrame  # ts (UTC) and WEATHER_COLUMNS
    lines_read: int
    rejected: list[Rejected] = field(default_factory=list)
    conversions: list[str] = field(default_factory=list)


def is_export(text: str) -> bool:
    """Whether the text starts with Open-Meteo's location header (one location or several)."""
    first = text.split("\n", 1)[0].strip().lstrip("\ufeff")
    return tuple(first.split(",")) in (METADATA, ("location_id", *METADATA))


def parse_export(text: str, path: Path) -> WeatherExport:
    """The hourly block of an Open-Meteo CSV; ImportFormatError when the file as a whole is unusable."""
    lines = text.lstrip("\ufeff").splitlines()
    if lines and lines[0].startswith("location_id"):
        raise ImportFormatError("several locations in one file: download one location per file", path=path, line=1)
    if len(lines) < 4 or lines[2].strip():
        raise ImportFormatError("expected the location row, then a blank line, then the data", path=path, line=3)
    meta = dict(zip(METADATA, next(csv.reader([lines[1]]))))
    try:
        lat, lon, offset = float(meta["latitude"]), float(meta["longitude"]), int(meta["utc_offset_seconds"])
    except (KeyError, ValueError):
        raise ImportFormatError(f"not a location row: {lines[1][:120]!r}", path=path, line=2) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ImportFormatError(f"latitude/longitude out of range: {lat}, {lon}", path=path, line=2)
    for start, end in _blocks(lines):
        header = next(csv.reader([lines[start]]))
        columns = {i: _column(h) for i, h in enumerate(header[1:], start=1)}
        ours = {i: c for i, c in columns.items() if c and c[0] in _VARIABLE}
        if header[0] == "time" and ours and _hourly(lines[start + 1:end]):
            return _parse_block(lines, start, end, ours, offset, lat, lon, path)
    raise ImportFormatError("no hourly block with temperature_2m, relative_humidity_2m, wind_speed_10m, "
                            "wind_direction_10m, surface_pressure or precipitation", path=path)


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(header index, end index) of each block after the location rows (0-based, end exclusive)."""
    blocks, start = [], None
    for i in range(3, len(lines) + 1):
        blank = i == len(lines) or not lines[i].strip()
        if start is None and not blank:
            start = i
        elif start is not None and blank:
            blocks.append((start, i))
            start = None
    return blocks


def _column(header: str) -> tuple[str, str] | None:
    match = _COLUMN.fullmatch(header.strip())
    return (match["name"], match["unit"]) if match else None


def _hourly(rows: list[str]) -> bool:
    """A block of hour stamps: ISO times on the hour, or unix seconds on the hour (negative before 1970)."""
    first = rows[0].split(",", 1)[0] if rows else ""
    return bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00", first)
                or (_UNIX.fullmatch(first) and int(first) % 3600 == 0))


def _parse_block(lines: list[str], start: int, end: int, ours: dict[int, tuple[str, str]], offset: int,
                 lat: float, lon: float, path: Path) -> WeatherExport:
    export = WeatherExport(str(path), lat, lon, pd.DataFrame(), lines_read=end - start - 1)
    scales = {}
    for i, (name, unit) in ours.items():
        column = _VARIABLE[name]
        if (column, unit) not in WEATHER_UNITS:
            raise ImportFormatError(f"unexpected unit {unit!r} for {name}", path=path, line=start + 1)
        scales[i] = (column, *WEATHER_UNITS[column, unit])
        if WEATHER_UNITS[column, unit] != (1.0, 0.0):
            export.conversions.append(f"{name}: {unit} → the weather table's unit")
    width = len(next(csv.reader([lines[start]])))
    records, seen = [], set()
    for index in range(start + 1, end):
        number = index + 1  # physical line numbers, the header of the file is line 1
        fields = next(csv.reader([lines[index]]))
        problem, record = _row(fields, width, scales, offset)
        if problem is None and record["ts"] in seen:
            problem = f"hour {record['ts']:%Y-%m-%d %H:00} UTC repeated"
        if problem:
            export.rejected.append(Rejected(number, problem))
            continue
        seen.add(record["ts"])
        records.append(record)
    frame = pd.DataFrame(records, columns=["ts", *WEATHER_COLUMNS])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    export.frame = precipitation_to_hour_start(frame)
    return export


def precipitation_to_hour_start(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with Open-Meteo's precipitation (the sum of the hour ending at ts) moved to the row of the hour
    it fell in (ts − 1 h); the last hour's, still unknown, is missing."""
    sums = pd.Series(frame["precipitation_mm"].to_numpy(dtype=float), index=frame["ts"] - pd.Timedelta(hours=1))
    sums = sums[~sums.index.duplicated()]
    return frame.assign(precipitation_mm=sums.reindex(frame["ts"]).to_numpy())


def _row(fields: list[str], width: int, scales: dict, offset: int) -> tuple[str | None, dict]:
    if len(fields) != width:
        return f"expected {width} fields, found {len(fields)}", {}
    stamp = fields[0].strip()
    try:
        if _UNIX.fullmatch(stamp):
            ts = datetime.fromtimestamp(int(stamp), timezone.utc)
        else:
            ts = datetime.strptime(stamp, "%Y-%m-%dT%H:%M").replace(tzinfo=timezone.utc) - timedelta(seconds=offset)
    except (ValueError, OverflowError):
        return f"time {stamp[:40]!r} is not YYYY-MM-DDTHH:MM or unix seconds", {}
    if ts.minute or ts.second:
        return f"time {stamp[:40]!r} is not on the hour", {}
    record = {"ts": ts, **{c: math.nan for c in WEATHER_COLUMNS}}
    for i, (column, scale, shift) in scales.items():
        raw = fields[i].strip()
        if raw in ("", "NaN"):
            continue
        try:
            value = float(raw) * scale + shift
        except ValueError:
            return f"{column}: {raw[:40]!r} is not a number", {}
        low, high = WEATHER_RANGE[column]
        if not math.isfinite(value) or not low <= value <= high:
            return f"{column}: {value:g} is outside {low:g}…{high:g}", {}
        record[column] = round(value, 3)
    return None, record


def city_locations(conn: Connection) -> list[tuple[int, float, float]]:
    """(city_id, latitude, longitude) of every city: the centroid of its located stations, else its own point."""
    centroids = {cid: (lat, lon) for cid, lat, lon in conn.execute(
        select(Station.city_id, func.avg(Station.lat), func.avg(Station.lon))
        .where(Station.lat.is_not(None), Station.lon.is_not(None)).group_by(Station.city_id))}
    out = []
    for cid, lat, lon in conn.execute(select(City.id, City.lat, City.lon).order_by(City.id)):
        lat, lon = centroids.get(cid, (lat, lon))
        if lat is not None and lon is not None:
            out.append((cid, round(float(lat), 4), round(float(lon), 4)))
    return out


def _upsert(conn: Connection, model, key: list[str], rows: list[dict], replaced: tuple[str, ...] | None,
            guard=None) -> int:
    """Insert rows; on a key already stored replace `replaced` where `guard` holds and a value differs (None:
    keep the stored row). Returns the rows inserted or changed."""
    if not rows:
        return 0
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(model)
    table = model.__table__
    if replaced is None:
        statement = insert.on_conflict_do_nothing(index_elements=key)
    else:
        changed = or_(*[table.c[c].is_distinct_from(insert.excluded[c]) for c in replaced])
        statement = insert.on_conflict_do_update(index_elements=key, set_={c: insert.excluded[c] for c in replaced},
                                                 where=changed if guard is None else and_(guard, changed))
    return len(conn.execute(statement.returning(table.c.ts), rows).all())


def write_weather(conn: Connection, city_id: int, frame: pd.DataFrame, source: str, now: datetime) -> int:
    """Upsert one city's hourly weather (weather table units) as `source` ('forecast' or 'archive') in the
    caller's transaction, never over an observed hour; hours with no value at all are left out. A forecast
    replaces forecasts of the hours after now and only fills gaps before it. Returns rows new or changed."""
    frame = frame.dropna(subset=list(WEATHER_COLUMNS), how="all")
    rows = [{"city_id": city_id, "ts": ts.to_pydatetime(), "source": source,
             **{c: (None if math.isnan(v) else float(v)) for c, v in zip(WEATHER_COLUMNS, values)}}
            for ts, *values in frame[["ts", *WEATHER_COLUMNS]].itertuples(index=False)]
    key, replaced, stored = ["city_id", "ts"], (*WEATHER_COLUMNS, "source"), Weather.__table__.c.source
    if source == "archive":
        return _upsert(conn, Weather, key, rows, replaced, stored != "observed")
    return (_upsert(conn, Weather, key, [r for r in rows if r["ts"] > now], replaced, stored == "forecast")
            + _upsert(conn, Weather, key, [r for r in rows if r["ts"] <= now], None))


def write_cams(conn: Connection, city_id: int, rows: pd.DataFrame, now: datetime) -> int:
    """Upsert one city's CAMS values (parameter, ts, value, unit): the newest run for hours after now, the
    first one stored for hours already past (the forecast as it stood before the hour). Returns rows new or
    changed."""
    records = [{"city_id": city_id, "parameter": p, "ts": ts.to_pydatetime(), "value": float(v), "unit": u,
                "fetched_at": now} for p, ts, v, u in rows[["parameter", "ts", "value", "unit"]].itertuples(index=False)]
    key = ["city_id", "parameter", "ts"]
    return (_upsert(conn, CamsForecast, key, [r for r in records if r["ts"] > now], ("value", "unit"))
            + _upsert(conn, CamsForecast, key, [r for r in records if r["ts"] <= now], None))


def target_city(conn: Connection, export: WeatherExport, name: str | None) -> tuple[int, str]:
    """The named city, else the one nearest the file's location within MAX_CITY_DISTANCE_KM."""
    cities = dict(conn.execute(select(City.id, City.name)).all())
    if name is not None:
        match = next((cid for cid, n in cities.items() if n == name), None)
        if match is None:
            raise ImportFormatError(f"no city named {name[:80]!r}; known: {', '.join(sorted(cities.values()))}")
        return match, name
    distances = {cid: haversine_km(export.latitude, export.longitude, lat, lon) for cid, lat, lon in city_locations(conn)}
    nearest = min(distances, key=distances.get, default=None)
    if nearest is None or distances[nearest] > MAX_CITY_DISTANCE_KM:
        raise ImportFormatError(f"no city within {MAX_CITY_DISTANCE_KM:g} km of {export.latitude}, "
                                f"{export.longitude}: name it with --city", path=export.path)
    return nearest, cities[nearest]


def load_export(engine: Engine, export: WeatherExport, city: str | None, now: datetime) -> tuple[int, str]:
    """Write the file's hours for its city in one transaction: past hours as archive (they replace forecasts,
    never observations), later ones as forecast; returns (rows written, city name)."""
    with engine.begin() as conn:
        city_id, name = target_city(conn, export, city)
        past = export.frame[export.frame["ts"] <= now]
        later = export.frame[export.frame["ts"] > now]
        written = write_weather(conn, city_id, past, "archive", now) + write_weather(conn, city_id, later,
                                                                                     "forecast", now)
    return written, name

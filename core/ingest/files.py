"""Read an OpenAQ, AirNow or Open-Meteo (weather CSV) file and load it into the database: whole or not at all."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from core import catalog
from core.snapshots import invalidate_current
from core.ingest import airnow, open_meteo, openaq, prsa
from core.ingest.store import place_stations, write_measurements, write_published_aqi, write_site_weather
from core.ingest.tabular import ImportFormatError, ImportResult, decode, read_text

if TYPE_CHECKING:
    from core.context import Context


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
    updated_stations: int = 0  # known stations whose metadata (or area) the file changed
    moved_stations: int = 0  # of those, moved out of a placeholder into their area
    published_aqi: int = 0  # AirNow's own AQI values stored (HourlyAQObs)
    cities: list[str] = field(default_factory=list)  # cities whose stations or readings changed


def parse_file(path: str | Path, now: datetime | None = None) -> ImportResult:
    """Parse an OpenAQ archive CSV (.csv/.csv.gz) or an AirNow HourlyData, site-locations or HourlyAQObs file.

    Raises ImportFormatError when the format is unknown or a line is structurally broken.
    """
    path = Path(path)
    return parse_text(read_text(path), path, now)


def parse_bytes(data: bytes, name: str, now: datetime | None = None) -> ImportResult:
    """parse_file for downloaded bytes (not gzip), named by where they came from."""
    return parse_text(decode(data), Path(name), now)


def parse_text(text: str, path: Path, now: datetime | None = None) -> ImportResult:
    """Detect the format of a file's text from its first line and parse it."""
    first = text.split("\n", 1)[0].rstrip("\r")
    if not text.strip():
        raise ImportFormatError("the file is empty", path=path)
    if not first.strip():
        raise ImportFormatError("the first line is blank", path=path, line=1)
    pipes = first.count("|")
    if pipes == airnow.FIELD_COUNT - 1:
        return airnow.parse_hourly_data(text, path, now)
    if pipes == airnow.SITE_FIELD_COUNT - 1:
        return airnow.parse_site_locations(text, path)
    header = [h.strip() for h in next(csv.reader([first]))]
    if tuple(h.lower() for h in header) == openaq.COLUMNS:
        return openaq.parse_openaq(text, path, now)
    if header[0] == "AQSID":
        return airnow.parse_hourly_aqobs(text, path, now)
    if tuple(h.lower() for h in header) == prsa.COLUMNS:
        return prsa.parse_prsa(text, path, now)
    name = path.name.lower()
    if header[0].lower() == "location_id" or name.endswith((".csv", ".csv.gz")):
        raise ImportFormatError(
            f"not an OpenAQ archive header: expected {','.join(openaq.COLUMNS)}, found {first[:200]!r}",
            path=path, line=1,
        )
    if name.endswith((".dat", ".dat.gz")):
        raise ImportFormatError(
            f"expected {airnow.FIELD_COUNT} (HourlyData) or {airnow.SITE_FIELD_COUNT} (site locations) "
            f"pipe-delimited fields, or an HourlyAQObs header, found {pipes + 1} fields",
            path=path, line=1,
        )
    raise ImportFormatError("unknown format: neither an OpenAQ archive CSV nor an AirNow file", path=path, line=1)


def load_result(conn: Connection, result: ImportResult, city: str | None = None) -> ImportSummary:
    """Write a parsed file's stations, measurements, published AQI and site weather in the caller's transaction."""
    placed = place_stations(conn, result.stations, city)
    loaded = write_measurements(conn, result.measurements, placed.ids)
    published = write_published_aqi(conn, result.published_aqi, placed.ids)
    write_site_weather(conn, result.site_weather)
    return ImportSummary(result.path, result.source, result.lines_read, loaded, placed.new, result.rejected,
                         result.conversions, result.skipped, placed.updated, placed.moved, published,
                         sorted(placed.cities | {placed.city_of[c] for c in result.measurements["station_code"].unique()}))


def import_file(engine: Engine, path: str | Path, city: str | None = None, strict: bool = False, *,
                now: datetime | None = None, ctx: Context | None = None) -> ImportSummary:
    """Parse, validate and load one file in a single transaction.

    Impossible values are rejected and reported by line; with strict=True any rejection loads nothing.
    Readings more than an hour after `now` (default: the clock) are rejected. An Open-Meteo CSV download loads
    as the weather of `city` (default: the city nearest its location). With the app context `ctx`,
    the cached station lists and the current AQI of the touched cities are dropped afterwards.
    """
    text = read_text(Path(path))
    if open_meteo.is_export(text):
        return import_weather(engine, text, Path(path), city, strict, now)
    result = parse_text(text, Path(path), now)
    if strict and result.rejected:
        raise refusal(result.rejected)
    with engine.begin() as conn:
        summary = load_result(conn, result, city)
    summary.path = str(path)
    if ctx is not None:
        invalidate_caches(ctx, summary)
    return summary


def import_weather(engine: Engine, text: str, path: Path, city: str | None, strict: bool,
                   now: datetime | None) -> ImportSummary:
    """An Open-Meteo CSV download as the hourly weather of `city` (default: the city nearest its location)."""
    export = open_meteo.parse_export(text, path)
    if strict and export.rejected:
        raise refusal(export.rejected)
    written, name = open_meteo.load_export(engine, export, city, now or datetime.now(timezone.utc))
    return ImportSummary(str(path), open_meteo.SOURCE, export.lines_read, written, 0, export.rejected,
                         export.conversions, cities=[name])


def refusal(rejected: list) -> ImportRejected:
    """Strict mode's error: how many lines were rejected and why (the first 20)."""
    return ImportRejected(f"{len(rejected)} rejected line(s); nothing loaded: "
                          + "; ".join(f"line {r.line}: {r.reason}" for r in rejected[:20]))


def invalidate_caches(ctx: Context, summary: ImportSummary) -> None:
    """Drop what a load made stale: station lists when stations changed, the touched cities' current AQI."""
    if summary.new_stations or summary.updated_stations:
        catalog.invalidate(ctx)
    invalidate_current(ctx, summary.cities)

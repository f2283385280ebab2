"""CSV export of measurements for a station or a city, streamed a week of one station at a time (constant
memory, and no database connection held while a slow client reads)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import catalog
from core.aqi.sensors import epa_pm25_correction
from core.context import Context
from core.db import queries
from core.parameters import POLLUTANTS
from core.times import iso

MAX_DAYS = 366
CHUNK = timedelta(days=7)  # one short session per station and week: at most 6 × 168 rows in memory
# A spreadsheet runs a text cell starting with one of these as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ["ts_utc", "station_id", "station_code", "station_name", "city", "kind", "parameter", "value", "unit",
           "quality", "epa_corrected_pm25"]


class ExportError(ValueError):
    """The selection cannot be exported; the message says why."""


@dataclass(frozen=True)
class Selection:
    stations: list[dict]
    parameters: list[str]
    start: datetime
    end: datetime

    @property
    def filename(self) -> str:
        who = (f"station-{self.stations[0]['id']}" if len(self.stations) == 1
               else self.stations[0]["city"].lower().replace(" ", "-"))
        return f"aqi-{who}-{self.start:%Y%m%dT%H}-{self.end:%Y%m%dT%H}.csv"


def selection(ctx: Context, station_id: int | None, city: str | None, parameters: list[str] | None, start: datetime,
              end: datetime) -> Selection:
    """Validate what is asked for; ExportError names the problem, catalog.UnknownCity / catalog.UnknownStation
    (LookupErrors) a name the catalogue lacks."""
    if (station_id is None) == (city is None):
        raise ExportError("give either a station or a city")
    if start.tzinfo is None or end.tzinfo is None:
        raise ExportError("start and end need a time zone (use Z for UTC)")
    if end <= start:
        raise ExportError("end must be after start")
    if end - start > timedelta(days=MAX_DAYS):
        raise ExportError(f"at most {MAX_DAYS} days per export")
    parameters = parameters or list(POLLUTANTS)
    unknown = [p for p in parameters if p not in POLLUTANTS]
    if unknown:
        raise ExportError(f"unknown pollutant(s) {', '.join(unknown)}; known: {', '.join(POLLUTANTS)}")
    if station_id is not None:
        stations = [catalog.station(ctx, station_id)]
    else:
        stations = catalog.stations(ctx, city)
        if not stations:
            raise ExportError(f"the city {city!r} has no stations")
    return Selection(stations, parameters, start, end)


def csv_chunks(header: Iterable, batches: Iterable[Iterable[Iterable]]) -> Iterator[str]:
    """The one CSV writer of every export: the header, then each non-empty batch of rows as one text chunk.

    Lines end in \n; memory holds one batch, so any range streams in constant memory. Text cells that a
    spreadsheet would run as a formula get a leading ' (numbers, negative ones included, are data and stay).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    yield buffer.getvalue()
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_inert(cell) for cell in row] for row in rows)
        if buffer.tell():
            yield buffer.getvalue()


def _inert(cell):
    return "'" + cell if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def csv_lines(ctx: Context, sel: Selection) -> Iterator[str]:
    """The header, then one CSV line per measurement; low-cost PM2.5 also gets EPA's corrected value."""
    by_id = {s["id"]: s for s in sel.stations}

    def row(ts, sid, parameter, value, unit, quality, humidity) -> list:
        s = by_id[sid]
        corrected = ""
        if s["kind"] == "low_cost" and parameter == "pm25" and humidity is not None:
            corrected = round(float(epa_pm25_correction(value, humidity)), 1)  # a number, never a formula
        return [iso(ts), sid, s["code"], s["name"], s["city"], s["kind"], parameter, value, unit, quality, corrected]

    def batches() -> Iterator[list]:
        for sid in sorted(by_id):
            t = sel.start
            while t < sel.end:
                upto = min(t + CHUNK, sel.end)
                # A short session per chunk: between chunks, while the client reads, no connection is held.
                with ctx.read_session() as session:
                    rows = queries.export_measurements(session, [sid], sel.parameters, t, upto).all()
                yield [row(*r) for r in rows]
                t = upto
    return csv_chunks(COLUMNS, batches())

"""OpenAQ S3 archive CSV (records/csv.gz/locationid=…/location-<id>-<yyyymmdd>.csv.gz) importer."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.ingest.tabular import (
    ImportResult, ImportedStation, TS_DTYPE, assemble, drop_blank_lines, factorize_strip, raise_first_problem,
    read_table,
)
from core.parameters import POLLUTANTS

SOURCE = "openaq"
COLUMNS = ("location_id", "sensors_id", "location", "datetime", "lat", "lon", "parameter", "units", "value")
PARAMETERS = {p: p for p in POLLUTANTS}  # OpenAQ already writes pm25, pm10, o3, no2, so2, co

# Local time with its UTC offset, e.g. 2024-01-01T01:00:00+05:30 (also 'Z', '+0530', '+05').
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?P<tz>Z|(?P<sign>[+-])(?P<hh>\d{2})(?::?(?P<mm>\d{2}))?)$"
)
_DIGITS = re.compile(r"^[0-9]+$")


def parse_openaq(text: str, path: str | Path, now: datetime | None = None) -> ImportResult:
    """Parse the text of an OpenAQ archive CSV (header included): local datetimes with offset, hour ends."""
    path = Path(path)
    frame, lines, blank = read_table(text, path, columns=COLUMNS, sep=",", quoting=csv.QUOTE_MINIMAL, header_lines=1)
    lines_read = len(frame)
    skipped: Counter = Counter()
    frame, lines = drop_blank_lines(frame, lines, blank, skipped)

    loc_codes, loc_uniques = factorize_strip(frame["location_id"])
    loc_ok = np.array([bool(_DIGITS.match(u)) for u in loc_uniques], dtype=bool)

    dt_codes, dt_uniques = factorize_strip(frame["datetime"])
    matches = [_DATETIME.match(u) for u in dt_uniques]
    parsed = pd.to_datetime(
        pd.Series([u if m else None for u, m in zip(dt_uniques, matches)], dtype=object),
        format="ISO8601", utc=True, errors="coerce",
    ) - pd.Timedelta(hours=1)  # OpenAQ stamps the END of each hourly average; we store the hour's start
    dt_ok = parsed.notna().to_numpy(dtype=bool)
    offsets = np.array([_offset_hours(m) for m in matches], dtype=float)

    lat, lat_ok = _coordinate(frame["lat"], 90.0)
    lon, lon_ok = _coordinate(frame["lon"], 180.0)
    param_empty = (frame["parameter"].str.strip() == "").to_numpy(dtype=bool)

    raise_first_problem(path, lines, [
        (~loc_ok[loc_codes], lambda i: f"location_id {frame['location_id'].iat[i]!r} is not a number"),
        (~dt_ok[dt_codes], lambda i: f"unparseable datetime {frame['datetime'].iat[i]!r}"),
        (~lat_ok, lambda i: f"unparseable latitude {frame['lat'].iat[i]!r}"),
        (~lon_ok, lambda i: f"unparseable longitude {frame['lon'].iat[i]!r}"),
        (param_empty, lambda i: "empty parameter"),
    ])

    codes = np.array([f"openaq-{u}" for u in loc_uniques], dtype=object)
    last_rows = pd.Series(np.arange(len(frame))).groupby(loc_codes).max() if len(frame) else pd.Series([], dtype=int)
    names = frame["location"].to_numpy()
    stations = {}
    for loc, row in zip(last_rows.index, last_rows.to_numpy()):
        stations[codes[loc]] = ImportedStation(
            code=codes[loc],
            name=str(names[row]).strip(),
            lat=None if np.isnan(lat[row]) else float(lat[row]),
            lon=None if np.isnan(lon[row]) else float(lon[row]),
            utc_offset_hours=float(offsets[dt_codes[row]]),
            source=SOURCE,
        )

    return assemble(
        source=SOURCE,
        path=path,
        lines_read=lines_read,
        line=lines,
        station_code=codes[loc_codes],
        parameter=frame["parameter"],
        unit=frame["units"],
        value=frame["value"],
        ts=pd.Series(parsed.astype(TS_DTYPE).array.take(dt_codes)),
        stations=stations,
        parameter_names=PARAMETERS,
        skipped=skipped,
        now=now,
    )


def _offset_hours(match: re.Match | None) -> float:
    if match is None:
        return float("nan")
    if match["tz"] == "Z":
        return 0.0
    hours = int(match["hh"]) + int(match["mm"] or 0) / 60
    return -hours if match["sign"] == "-" else hours


def _coordinate(column: pd.Series, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(degrees per row, NaN when empty; row is usable) for a lat or lon column."""
    codes, uniques = factorize_strip(column)
    values = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float, copy=True)
    empty = np.array([u == "" for u in uniques], dtype=bool)
    ok = empty | (np.isfinite(values) & (np.abs(values) <= limit))
    values[empty] = np.nan
    return values[codes], ok[codes]

"""AirNow hourly data file (HourlyData_YYYYMMDDHH.dat) importer: pipe-delimited, no header."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from core.ingest.importers import (
    TS_DTYPE,
    ImportedStation,
    ImportResult,
    assemble,
    factorize_strip,
    raise_first_problem,
    read_table,
)

SOURCE = "airnow"
COLUMNS = ("date", "time", "aqsid", "site_name", "gmt_offset", "parameter", "units", "value", "data_source")
FIELD_COUNT = len(COLUMNS)
# AirNow parameter names (lower-cased) we store; BARPR, TEMP, RHUM, WS, WD, NO, NOX, NOY… are skipped.
PARAMETERS = {"ozone": "o3", "o3": "o3", "pm2.5": "pm25", "pm25": "pm25", "pm10": "pm10",
              "co": "co", "no2": "no2", "so2": "so2"}
MISSING = -999.0  # AirNow's "no value"


def parse_airnow(text: str, path: str | Path) -> ImportResult:
    """Parse the text of an AirNow hourly data file; see importers.parse_file.

    Times are the site's local standard time: UTC = local - GMT offset (14:00 at -8 is 22:00Z).
    """
    path = Path(path)
    frame, lines, blank = read_table(text, path, columns=COLUMNS, sep="|", quoting=csv.QUOTE_NONE, header_lines=0)
    lines_read = len(frame)
    skipped: Counter = Counter()
    if blank.any():
        skipped["blank line"] = int(blank.sum())
        frame = frame.loc[~blank].reset_index(drop=True)
        lines = lines[~blank]

    id_codes, id_uniques = factorize_strip(frame["aqsid"])
    id_ok = np.array([u != "" for u in id_uniques], dtype=bool)

    off_codes, off_uniques = factorize_strip(frame["gmt_offset"])
    off_values = pd.to_numeric(pd.Series(off_uniques, dtype=object), errors="coerce").to_numpy(dtype=float, copy=True)
    off_ok = np.isfinite(off_values) & (np.abs(off_values) <= 14)

    # Few distinct (date, time) pairs per file: parse each pair once.
    date_codes, date_uniques = factorize_strip(frame["date"])
    time_codes, time_uniques = factorize_strip(frame["time"])
    width = max(len(time_uniques), 1)
    pair_codes, pairs = pd.factorize(date_codes.astype(np.int64) * width + time_codes, sort=False)
    local = pd.to_datetime(
        pd.Series([f"{date_uniques[p // width]} {time_uniques[p % width]}" for p in pairs], dtype=object),
        format="%m/%d/%y %H:%M", errors="coerce",
    )
    local_ok = local.notna().to_numpy(dtype=bool)
    param_empty = (frame["parameter"].str.strip() == "").to_numpy(dtype=bool)

    raise_first_problem(path, lines, [
        (~local_ok[pair_codes], lambda i: f"unparseable date and time {frame['date'].iat[i] + ' ' + frame['time'].iat[i]!r}"),
        (~id_ok[id_codes], lambda i: "empty AQSID"),
        (~off_ok[off_codes], lambda i: f"unparseable GMT offset {frame['gmt_offset'].iat[i]!r}"),
        (param_empty, lambda i: "empty parameter"),
    ])

    offset_us = np.round(off_values * 3_600_000_000).astype("timedelta64[us]")
    utc = local.astype("datetime64[us]").to_numpy()[pair_codes] - offset_us[off_codes]
    ts = pd.Series(utc).dt.tz_localize("UTC").astype(TS_DTYPE)

    codes = np.array([f"airnow-{u}" for u in id_uniques], dtype=object)
    last_rows = pd.Series(np.arange(len(frame))).groupby(id_codes).max() if len(frame) else pd.Series([], dtype=int)
    names = frame["site_name"].to_numpy()
    stations = {}
    for site, row in zip(last_rows.index, last_rows.to_numpy()):
        stations[codes[site]] = ImportedStation(
            code=codes[site],
            name=str(names[row]).strip(),
            lat=None,  # the hourly file carries no coordinates (they are in monitoring_site_locations.dat)
            lon=None,
            utc_offset_hours=float(off_values[off_codes[row]]),
            source=SOURCE,
        )

    return assemble(
        source=SOURCE,
        path=path,
        lines_read=lines_read,
        line=lines,
        station_code=codes[id_codes],
        parameter=frame["parameter"],
        unit=frame["units"],
        value=frame["value"],
        ts=ts,
        stations=stations,
        parameter_names=PARAMETERS,
        skipped=skipped,
        missing_sentinel=MISSING,
    )

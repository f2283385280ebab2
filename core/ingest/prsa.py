"""UCI "Beijing PM2.5" (PRSA) file: the US Embassy's hourly PM2.5 with Beijing Capital Airport's weather.

Columns No,year,month,day,hour,pm2.5,DEWP,TEMP,PRES,cbwd,Iws,Is,Ir; Beijing local time (UTC+8) hour starts;
`NA` where PM2.5 is missing. Liang et al. (2015), Proc. R. Soc. A 471, CC BY 4.0.
"""
from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.ingest.tabular import (
    ImportResult, ImportedStation, assemble, drop_blank_lines, raise_first_problem, read_table,
)

SOURCE = "prsa"
HEADER = ("No", "year", "month", "day", "hour", "pm2.5", "DEWP", "TEMP", "PRES", "cbwd", "Iws", "Is", "Ir")
COLUMNS = tuple(h.lower() for h in HEADER)
UTC_OFFSET_HOURS = 8  # China Standard Time all year (no daylight saving since 1991)
STATION = ImportedStation(
    code="prsa-beijing-us-embassy", name="Beijing US Embassy", lat=39.9550, lon=116.4660,
    utc_offset_hours=UTC_OFFSET_HOURS, source=SOURCE, active=True, agency="US Department of State",
    country="CN", area="Beijing", timezone="Asia/Shanghai")
# cbwd: the combined wind direction (where the wind comes from); cv is calm or variable: no direction.
WIND_DEGREES = {"N": 0.0, "NE": 45.0, "E": 90.0, "SE": 135.0, "S": 180.0, "SW": 225.0, "W": 270.0, "NW": 315.0}


def parse_prsa(text: str, path: str | Path, now: datetime | None = None) -> ImportResult:
    """PM2.5 as measurements of one station; dew point, temperature, pressure and wind as its site weather.

    Humidity comes from dew point and temperature (Magnus formula); the hourly wind speed from `Iws`, which
    sums the speed over the consecutive hours with the same direction. `Is`/`Ir` count hours of snow and rain,
    not millimetres: there is no precipitation amount.
    """
    path = Path(path)
    frame, lines, blank = read_table(text, path, columns=HEADER, sep=",", quoting=csv.QUOTE_MINIMAL, header_lines=1)
    lines_read = len(frame)
    skipped: Counter = Counter()
    frame, lines = drop_blank_lines(frame, lines, blank, skipped)
    parts = {c: pd.to_numeric(frame[c], errors="coerce") for c in ("year", "month", "day", "hour")}
    local = pd.to_datetime(pd.DataFrame(parts), errors="coerce")
    bad_time = local.isna().to_numpy()
    raise_first_problem(path, lines, [(bad_time, lambda i: f"no valid date and hour in {frame.iloc[i, 1:5].tolist()}")])
    ts = (local - pd.Timedelta(hours=UTC_OFFSET_HOURS)).dt.tz_localize("UTC")
    value = frame["pm2.5"].str.strip().replace("NA", "")  # NA is a missing hour, not a bad value
    n = len(frame)
    result = assemble(
        source=SOURCE, path=path, lines_read=lines_read, line=lines,
        station_code=np.full(n, STATION.code, dtype=object), parameter=pd.Series(["pm25"] * n),
        unit=pd.Series(["µg/m³"] * n), value=value, ts=ts, stations={STATION.code: STATION},
        parameter_names={"pm25": "pm25"}, skipped=skipped, now=now)
    result.site_weather = _weather(frame, ts)
    return result


def _weather(frame: pd.DataFrame, ts: pd.Series) -> pd.DataFrame:
    """SITE_WEATHER_COLUMNS rows (long format) of every hour's observed weather."""
    number = {c: pd.to_numeric(frame[c], errors="coerce") for c in ("DEWP", "TEMP", "PRES", "Iws")}
    dew, temp = number["DEWP"], number["TEMP"]
    humidity = 100.0 * np.exp(17.625 * dew / (243.04 + dew) - 17.625 * temp / (243.04 + temp))
    direction = frame["cbwd"].str.strip().str.upper()
    cumulated = number["Iws"]
    # Iws restarts whenever the direction changes: the hour's speed is the increase within one run.
    same_run = direction.eq(direction.shift()) & cumulated.gt(cumulated.shift())
    speed = cumulated.where(~same_run, cumulated - cumulated.shift())
    wide = pd.DataFrame({"ts": ts, "temperature_c": temp, "humidity_pct": humidity.clip(0.0, 100.0),
                         "pressure_hpa": number["PRES"], "wind_speed_ms": speed,
                         "wind_dir_deg": direction.map(WIND_DEGREES)})
    long = wide.melt(id_vars="ts", var_name="variable", value_name="value").dropna(subset=["value"])
    long.insert(0, "station_code", STATION.code)
    long["value"] = long["value"].astype(float).round(6)
    return long.reset_index(drop=True)

"""AirNow file products: HourlyData_*.dat, monitoring_site_locations.dat and HourlyAQObs_*.dat.

Facts of the formats (shared/REAL_DATA.md): HourlyData dates and times are UTC hour starts; the GMT
offset is the site's local standard time, information about the site, never a shift of the time.
Coordinates come from the site-locations file (one row per site and parameter, 23 fields) or from
HourlyAQObs (quoted CSV with a header, which also carries AirNow's own AQI per pollutant).
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.ingest.tabular import (
    ImportFormatError, ImportResult, ImportedStation, PUBLISHED_AQI_COLUMNS, Rejected, TS_DTYPE, assemble,
    drop_blank_lines, factorize_strip, raise_first_problem, read_table,
)

SOURCE = "airnow"
COLUMNS = ("date", "time", "aqsid", "site_name", "gmt_offset", "parameter", "units", "value", "data_source")
FIELD_COUNT = len(COLUMNS)
SITE_COLUMNS = ("aqsid", "parameter", "site_code", "site_name", "status", "agency_id", "agency", "epa_region",
                "lat", "lon", "elevation", "gmt_offset", "country", "f14", "f15", "msa_code", "msa",
                "state_code", "state", "county_code", "county", "f22", "f23")
SITE_FIELD_COUNT = len(SITE_COLUMNS)
AQOBS_REQUIRED = ("AQSID", "SiteName", "Status", "Latitude", "Longitude", "GMTOffset", "CountryCode", "StateName",
                  "ValidDate", "ValidTime")
# HourlyAQObs column prefix -> our pollutant code; each has <P> and <P>_Unit columns, some <P>_AQI.
AQOBS_POLLUTANTS = {"PM25": "pm25", "PM10": "pm10", "OZONE": "o3", "NO2": "no2", "CO": "co", "SO2": "so2"}
# AirNow parameter names (lower-cased) we store as pollutants; NO, NOX, NOY, BC, SRAD… are skipped.
PARAMETERS = {"ozone": "o3", "o3": "o3", "pm2.5": "pm25", "pm25": "pm25", "pm10": "pm10",
              "co": "co", "no2": "no2", "so2": "so2"}
# Weather parameters -> weather table column. AirNow reports TEMP in C, RHUM in PERCENT, WS in M/S, WD in
# DEGREES, BARPR in MILLIBAR, PRECIP in MM (every such line of the 2024-04-16 files); the resultant wind
# (RWS in KNOTS, RWD) is the same wind averaged otherwise and is skipped.
WEATHER = {"TEMP": "temperature_c", "RHUM": "humidity_pct", "WS": "wind_speed_ms", "WD": "wind_dir_deg",
           "BARPR": "pressure_hpa", "PRECIP": "precipitation_mm"}
# (column, unit) -> (scale, offset) to the weather table's unit; other spellings of a unit are rejected.
WEATHER_UNITS = {
    ("temperature_c", "C"): (1.0, 0.0), ("temperature_c", "F"): (5 / 9, -32 * 5 / 9),
    ("humidity_pct", "PERCENT"): (1.0, 0.0), ("humidity_pct", "%"): (1.0, 0.0),
    ("wind_speed_ms", "M/S"): (1.0, 0.0), ("wind_speed_ms", "KNOTS"): (0.514444, 0.0),
    ("wind_speed_ms", "MPH"): (0.44704, 0.0), ("wind_dir_deg", "DEGREES"): (1.0, 0.0),
    ("pressure_hpa", "MILLIBAR"): (1.0, 0.0), ("pressure_hpa", "MB"): (1.0, 0.0), ("pressure_hpa", "HPA"): (1.0, 0.0),
    ("precipitation_mm", "MM"): (1.0, 0.0), ("precipitation_mm", "INCHES"): (25.4, 0.0),
}
# Values outside these (weather table units) are instrument faults, not weather.
WEATHER_RANGE = {"temperature_c": (-90.0, 60.0), "humidity_pct": (0.0, 100.0), "wind_speed_ms": (0.0, 110.0),
                 "wind_dir_deg": (0.0, 360.0), "pressure_hpa": (500.0, 1100.0), "precipitation_mm": (0.0, 500.0)}
MISSING = -999.0  # "no value" in AirNow's daily files; HourlyData simply leaves the row out

# Local time zones of areas by country and standard offset (hours), with the states or provinces that differ.
_ZONES: dict[str, dict[float, str]] = {
    "US": {-4: "America/Puerto_Rico", -5: "America/New_York", -6: "America/Chicago", -7: "America/Denver",
           -8: "America/Los_Angeles", -9: "America/Anchorage", -10: "Pacific/Honolulu", 10: "Pacific/Guam",
           -11: "Pacific/Pago_Pago"},
    "CA": {-3.5: "America/St_Johns", -4: "America/Halifax", -5: "America/Toronto", -6: "America/Winnipeg",
           -7: "America/Edmonton", -8: "America/Vancouver"},
    "MX": {-5: "America/Cancun", -6: "America/Mexico_City", -7: "America/Mazatlan", -8: "America/Tijuana"},
}
_REGION_ZONES = {("US", "AZ", -7): "America/Phoenix", ("CA", "SASKATCHEWAN", -6): "America/Regina"}
# Offsets with no Etc/ zone (those are whole hours): the zone of the country that keeps that offset.
_FRACTIONAL_ZONES = {-9.5: "Pacific/Marquesas", -3.5: "America/St_Johns", 3.5: "Asia/Tehran", 4.5: "Asia/Kabul",
                     5.5: "Asia/Kolkata", 5.75: "Asia/Kathmandu", 6.5: "Asia/Yangon", 8.75: "Australia/Eucla",
                     9.5: "Australia/Darwin", 10.5: "Australia/Adelaide", 12.75: "Pacific/Chatham"}
_EMPTY = {"", "N/A", "NA"}


def fixed_zone(offset_hours: float) -> str:
    """IANA zone for a standard offset: Etc/GMT+5 for -5 h (POSIX signs are inverted), UTC for 0.

    Offsets of half or three-quarter hours have no Etc/ zone: the zone of the country keeping that
    offset stands in (5.5 -> Asia/Kolkata, 5.75 -> Asia/Kathmandu); an offset no country keeps -> UTC.
    """
    if offset_hours != int(offset_hours):
        return _FRACTIONAL_ZONES.get(offset_hours, "UTC")
    return "UTC" if offset_hours == 0 else f"Etc/GMT{-int(offset_hours):+d}"


def area_zone(offset_hours: float, country: str | None, region: str | None) -> str:
    """The zone of a site's area: its country's zone for that standard offset (with DST), else fixed_zone."""
    country, region = (country or "").upper(), (region or "").upper()
    return (_REGION_ZONES.get((country, region, offset_hours))
            or _ZONES.get(country, {}).get(offset_hours)
            or fixed_zone(offset_hours))


def area_name(msa: str | None, county: str | None, state: str | None, country: str | None, site: str) -> str:
    """The area people know a site by: its MSA, else "County, State" (province and country outside the US)."""
    if msa:
        return msa
    if county:
        where = state if (country or "US") == "US" and state else (country or state)
        return f"{_title(county)}, {where}" if where else _title(county)
    return f"{site}, {country}" if country else site


def _title(text: str) -> str:
    return text.title() if text.isupper() else text


def _clean(text: str) -> str | None:
    text = text.strip()
    return None if text in _EMPTY else text


def _offsets(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, offset per unique, usable per unique) of a GMT offset column."""
    codes, uniques = factorize_strip(column)
    values = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float, copy=True)
    return codes, values, np.isfinite(values) & (np.abs(values) <= 14)



def _require_complete(text: str, path: Path) -> None:
    # AirNow writes every line with its CRLF: a last line without one is a download cut short, and its
    # last field (a value, or a data source) may be cut too, so the file is refused rather than misread.
    if text and not text.endswith("\n"):
        raise ImportFormatError("the file ends in the middle of a line (truncated)", path=path,
                                line=text.count("\n") + 1)


def parse_hourly_data(text: str, path: str | Path, now: datetime | None = None) -> ImportResult:
    """Parse an AirNow HourlyData file: ValidDate|ValidTime are the UTC start of the hour."""
    path = Path(path)
    _require_complete(text, path)
    frame, lines, blank = read_table(text, path, columns=COLUMNS, sep="|", quoting=csv.QUOTE_NONE, header_lines=0)
    lines_read = len(frame)
    skipped: Counter = Counter()
    frame, lines = drop_blank_lines(frame, lines, blank, skipped)

    id_codes, id_uniques = factorize_strip(frame["aqsid"])
    id_ok = np.array([u != "" for u in id_uniques], dtype=bool)
    off_codes, off_values, off_ok = _offsets(frame["gmt_offset"])

    # Few distinct (date, time) pairs per file: parse each pair once.
    date_codes, date_uniques = factorize_strip(frame["date"])
    time_codes, time_uniques = factorize_strip(frame["time"])
    width = max(len(time_uniques), 1)
    pair_codes, pairs = pd.factorize(date_codes.astype(np.int64) * width + time_codes, sort=False)
    utc = pd.to_datetime(
        pd.Series([f"{date_uniques[p // width]} {time_uniques[p % width]}" for p in pairs], dtype=object),
        format="%m/%d/%y %H:%M", errors="coerce",
    )
    utc_ok = utc.notna().to_numpy(dtype=bool)
    param_empty = (frame["parameter"].str.strip() == "").to_numpy(dtype=bool)

    raise_first_problem(path, lines, [
        (~utc_ok[pair_codes], lambda i: f"unparseable date and time {frame['date'].iat[i] + ' ' + frame['time'].iat[i]!r}"),
        (~id_ok[id_codes], lambda i: "empty AQSID"),
        (~off_ok[off_codes], lambda i: f"unparseable GMT offset {frame['gmt_offset'].iat[i]!r}"),
        (param_empty, lambda i: "empty parameter"),
    ])

    ts = pd.Series(utc.dt.tz_localize("UTC").astype(TS_DTYPE).array.take(pair_codes))
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

    result = assemble(
        source=SOURCE, path=path, lines_read=lines_read, line=lines, station_code=codes[id_codes],
        parameter=frame["parameter"], unit=frame["units"], value=frame["value"], ts=ts, stations=stations,
        parameter_names=PARAMETERS, skipped=skipped, now=now, missing_sentinel=MISSING,
    )
    _site_weather(result, frame, lines, codes[id_codes], ts)
    return result


def _site_weather(result: ImportResult, frame: pd.DataFrame, lines: np.ndarray, station_code: np.ndarray,
                  ts: pd.Series) -> None:
    """Move the weather lines out of the skipped parameters into result.site_weather, rejecting faults by line."""
    parameter = frame["parameter"].str.strip().str.upper()
    rows = np.flatnonzero(parameter.isin(list(WEATHER)).to_numpy())
    if not rows.size:
        return
    column = parameter.iloc[rows].map(WEATHER).to_numpy()
    unit = frame["units"].iloc[rows].str.strip().str.upper().to_numpy()
    raw = frame["value"].iloc[rows].str.strip()
    number = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    conversion = [WEATHER_UNITS.get((c, u)) for c, u in zip(column, unit)]
    scale = np.array([c[0] if c else np.nan for c in conversion])
    value = np.round(number * scale + np.array([c[1] if c else 0.0 for c in conversion]), 6)
    low = np.array([WEATHER_RANGE[c][0] for c in column])
    high = np.array([WEATHER_RANGE[c][1] for c in column])
    empty = (raw == "").to_numpy() | (number == MISSING)
    ok = ~empty & np.isfinite(value) & (value >= low) & (value <= high)
    rejected = []
    for i in np.flatnonzero(~ok & ~empty):
        name, text = parameter.iat[rows[i]], raw.iat[i]
        if conversion[i] is None:
            reason = f"unit {unit[i]!r} makes no sense for {name}"
        elif not np.isfinite(number[i]):
            reason = f"{name} value {text!r} is not a number"
        else:
            reason = f"{name} value {text} {unit[i]} is outside {low[i]:g}…{high[i]:g} ({column[i]})"
        rejected.append(Rejected(int(lines[rows[i]]), reason))
    for name in set(parameter.iloc[rows]):
        result.skipped.pop(f"parameter {name}", None)
    if empty.any():
        result.skipped["missing weather value"] = int(empty.sum())
    result.rejected = sorted(result.rejected + rejected, key=lambda r: r.line)
    kept = rows[ok]
    result.site_weather = pd.DataFrame({
        "station_code": pd.Series(station_code[kept], dtype=str),
        "ts": ts.iloc[kept].reset_index(drop=True).dt.floor("h"),
        "variable": pd.Series(column[ok], dtype=str), "value": value[ok]})


def parse_site_locations(text: str, path: str | Path) -> ImportResult:
    """Parse monitoring_site_locations.dat into one station per AQSID (Active if any of its rows is)."""
    path = Path(path)
    _require_complete(text, path)
    frame, lines, blank = read_table(text, path, columns=SITE_COLUMNS, sep="|", quoting=csv.QUOTE_NONE,
                                     header_lines=0)
    skipped: Counter = Counter()
    lines_read = len(frame)
    frame, lines = drop_blank_lines(frame, lines, blank, skipped)
    lat = pd.to_numeric(frame["lat"].str.strip(), errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(frame["lon"].str.strip(), errors="coerce").to_numpy(dtype=float)
    off_codes, off_values, off_ok = _offsets(frame["gmt_offset"])
    raise_first_problem(path, lines, [
        ((frame["aqsid"].str.strip() == "").to_numpy(dtype=bool), lambda i: "empty AQSID"),
        (~(np.abs(lat) <= 90), lambda i: f"unparseable latitude {frame['lat'].iat[i]!r}"),
        (~(np.abs(lon) <= 180), lambda i: f"unparseable longitude {frame['lon'].iat[i]!r}"),
        (~off_ok[off_codes], lambda i: f"unparseable GMT offset {frame['gmt_offset'].iat[i]!r}"),
    ])
    active = frame["status"].str.strip().str.lower() == "active"
    stations: dict[str, ImportedStation] = {}
    aqsids = frame["aqsid"].str.strip().to_numpy()
    any_active = pd.Series(active.to_numpy()).groupby(aqsids).any().to_dict()
    for i in range(len(frame)):
        code = f"airnow-{aqsids[i]}"
        if code in stations:
            skipped["further parameter row of a site"] += 1
            continue
        row = frame.iloc[i]
        offset = float(off_values[off_codes[i]])
        country, state, county = _clean(row["country"]), _clean(row["state"]), _clean(row["county"])
        msa, name = _clean(row["msa"]), row["site_name"].strip()
        # Outside the US the state column holds a placeholder (CC, MX) and the county column the province.
        region = state if country in (None, "US") else county
        stations[code] = ImportedStation(
            code=code, name=name, lat=float(lat[i]), lon=float(lon[i]), utc_offset_hours=offset, source=SOURCE,
            active=bool(any_active[aqsids[i]]), agency=_clean(row["agency"]), country=country, state=state,
            county=county, msa=msa, area=area_name(msa, county, state, country, name),
            timezone=area_zone(offset, country, region),
        )
    return ImportResult(source=SOURCE, path=str(path), stations=list(stations.values()),
                        measurements=pd.DataFrame(columns=["station_code", "parameter", "ts", "value", "unit",
                                                           "quality"]),
                        skipped=dict(skipped), lines_read=lines_read)


def parse_hourly_aqobs(text: str, path: str | Path, now: datetime | None = None) -> ImportResult:
    """Parse an HourlyAQObs file: sites with coordinates, their hourly values and AirNow's own AQI."""
    path = Path(path)
    header = next(csv.reader([text.split("\n", 1)[0].rstrip("\r")]))
    header = [h.strip() for h in header]
    missing = [c for c in AQOBS_REQUIRED if c not in header]
    if missing:
        raise ImportFormatError(f"HourlyAQObs header lacks {', '.join(missing)}", path=path, line=1)
    frame, lines, blank = read_table(text, path, columns=tuple(header), sep=",", quoting=csv.QUOTE_MINIMAL,
                                     header_lines=1)
    skipped: Counter = Counter()
    lines_read = len(frame)
    frame, lines = drop_blank_lines(frame, lines, blank, skipped)
    utc = pd.to_datetime(frame["ValidDate"].str.strip() + " " + frame["ValidTime"].str.strip(),
                         format="%m/%d/%Y %H:%M", errors="coerce")
    lat = pd.to_numeric(frame["Latitude"].str.strip(), errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(frame["Longitude"].str.strip(), errors="coerce").to_numpy(dtype=float)
    off_codes, off_values, off_ok = _offsets(frame["GMTOffset"])
    aqsids = frame["AQSID"].str.strip().to_numpy()
    raise_first_problem(path, lines, [
        (utc.isna().to_numpy(dtype=bool),
         lambda i: f"unparseable date and time {frame['ValidDate'].iat[i] + ' ' + frame['ValidTime'].iat[i]!r}"),
        (aqsids == "", lambda i: "empty AQSID"),
        (~(np.abs(lat) <= 90), lambda i: f"unparseable latitude {frame['Latitude'].iat[i]!r}"),
        (~(np.abs(lon) <= 180), lambda i: f"unparseable longitude {frame['Longitude'].iat[i]!r}"),
        (~off_ok[off_codes], lambda i: f"unparseable GMT offset {frame['GMTOffset'].iat[i]!r}"),
    ])
    ts = utc.dt.tz_localize("UTC").astype(TS_DTYPE)
    codes = np.array([f"airnow-{a}" for a in aqsids], dtype=object)
    stations = {}
    for i in range(len(frame)):
        country = _clean(frame["CountryCode"].iat[i])
        stations[codes[i]] = ImportedStation(
            code=codes[i], name=frame["SiteName"].iat[i].strip(), lat=float(lat[i]), lon=float(lon[i]),
            utc_offset_hours=float(off_values[off_codes[i]]), source=SOURCE,
            active=frame["Status"].iat[i].strip().lower() == "active", country=country,
            state=_clean(frame["StateName"].iat[i]) if country == "US" else None,
        )

    # One long table of (station, pollutant, unit, value) for the shared validation.
    present = [p for p in AQOBS_POLLUTANTS if p in frame.columns and f"{p}_Unit" in frame.columns]
    n = len(frame)
    result = assemble(
        source=SOURCE, path=path, lines_read=lines_read,
        line=np.tile(lines, len(present)), station_code=np.tile(codes, len(present)),
        parameter=pd.Series(np.repeat(present, n), dtype=object),
        unit=pd.concat([frame[f"{p}_Unit"] for p in present], ignore_index=True) if present else pd.Series([], dtype=str),
        value=pd.concat([frame[p] for p in present], ignore_index=True) if present else pd.Series([], dtype=str),
        ts=pd.concat([ts] * len(present), ignore_index=True) if present else pd.Series([], dtype=TS_DTYPE),
        stations=stations, parameter_names={p.lower(): c for p, c in AQOBS_POLLUTANTS.items()},
        skipped=skipped, now=now,
    )
    # An empty concentration of a pollutant a site does not measure is no skip worth telling.
    result.skipped.pop("missing value (empty)", None)
    result.stations = list(stations.values())
    result.lines_read = lines_read

    published = []
    for prefix, pollutant in AQOBS_POLLUTANTS.items():
        column = f"{prefix}_AQI"
        if column not in frame.columns:
            continue
        aqi = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        rows = aqi.notna().to_numpy()
        published.append(pd.DataFrame({"station_code": codes[rows], "parameter": pollutant, "ts": ts[rows].to_numpy(),
                                       "aqi": aqi[rows].astype("int64").to_numpy()}))
    if published:
        frame_aqi = pd.concat(published, ignore_index=True)
        frame_aqi["ts"] = pd.to_datetime(frame_aqi["ts"], utc=True).astype(TS_DTYPE)
        result.published_aqi = frame_aqi[list(PUBLISHED_AQI_COLUMNS)]
    return result

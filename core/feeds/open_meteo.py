"""Open-Meteo over plain HTTP JSON: hourly weather (forecast and archive APIs) and CAMS air quality per city.

A request carries every city's location as comma-separated latitude/longitude lists; the answer is then a
JSON list in the same order (a single location answers one object). Each object has `hourly_units` and
`hourly` (`time` plus one array per variable, null where the model has no value) and `utc_offset_seconds`
(ISO times are local times of that offset; we ask timezone=GMT and timeformat=unixtime, so they are UTC
seconds). A bad request answers HTTP 400 with {"error": true, "reason": "..."}. tests/fixtures/open_meteo/
holds recorded responses (its README gives the source of each).

The forecast API is the live source `open-meteo` (a cursor, the lag checks); the archive API backfills
(`backfill_archive`, no cursor). How rows are written (observed > archive > forecast; CAMS as published
before each hour): core.ingest.open_meteo.write_weather and write_cams.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import Engine

from core.aqi import AQIError
from core.aqi import units as aqi_units
from core.feeds.common import FetchReport, hour_floor
from core.feeds.http import FeedError, Fetcher
from core.ingest.airnow import WEATHER_RANGE
from core.ingest.open_meteo import (ALIASES, CAMS, HOURLY, WEATHER_COLUMNS, WEATHER_UNITS, city_locations,
                                    precipitation_to_hour_start, write_cams, write_weather)
from core.metrics import timed
from core.parameters import PHYSICAL_MAX, UNITS
from core.settings import Settings

SOURCE = "open-meteo"  # forecast API (the recent past and the next hours), plus CAMS when cams_enabled
__all__ = ["ALIASES", "CAMS", "HOURLY", "SOURCE", "WEATHER_COLUMNS", "WEATHER_UNITS", "ResponseError",
           "backfill_archive", "city_locations", "parse_response", "run_archive", "run_forecast", "write_cams",
           "write_weather"]
LOCATIONS_PER_REQUEST = 50  # keeps the URL short; Open-Meteo counts each location as a call anyway
MAX_PAST_DAYS = 92  # the forecast API's limit
ARCHIVE_CHUNK_DAYS = 31  # longer ranges cost Open-Meteo several calls each; a month per request is one
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ResponseError(ValueError):
    """An Open-Meteo answer we cannot use (not JSON, an error object, arrays of the wrong length, a unit)."""


# --------------------------------------------------------------------------- parsing

def parse_response(content: bytes, variables: Mapping[str, str], locations: int) -> list[tuple[pd.DataFrame, dict]]:
    """Per requested location, in request order: a frame (ts UTC, one column per variable, in the variable's
    unit as sent, NaN for null) and the hourly_units of the answer. ResponseError when unusable."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise ResponseError(f"not JSON ({exc})") from None
    if isinstance(data, dict) and data.get("error"):
        raise ResponseError(f"Open-Meteo refused the request: {clean(data.get('reason'))}")
    items = data if isinstance(data, list) else [data]
    if len(items) != locations:
        raise ResponseError(f"asked for {locations} location(s), got {len(items)}")
    return [parse_location(item, variables) for item in items]


def parse_location(item: dict, variables: Mapping[str, str]) -> tuple[pd.DataFrame, dict]:
    """One location's `hourly` block as a frame: ts (UTC) and each requested variable Open-Meteo sent."""
    try:
        hourly, units = item["hourly"], item["hourly_units"]
        times = hourly["time"]
        offset = int(item.get("utc_offset_seconds", 0))
        if not (isinstance(hourly, dict) and isinstance(units, dict) and isinstance(times, list)):
            raise TypeError("hourly, hourly_units or hourly.time is not an object or a list")
    except (KeyError, TypeError, ValueError) as exc:
        raise ResponseError(f"no hourly block ({type(exc).__name__}: {clean(exc)})") from None
    frame = pd.DataFrame({"ts": parse_times(times, units.get("time", "iso8601"), offset)})
    sent = {}
    for name, column in variables.items():
        name = name if name in hourly else ALIASES.get(name, name)
        if name not in hourly:
            continue
        sent[column] = units.get(name, "")
        values = hourly[name]
        if not isinstance(values, list) or len(values) != len(times):
            raise ResponseError(f"hourly.{name} has {len(values) if isinstance(values, list) else 'no'} values "
                                f"for {len(times)} times")
        try:
            frame[column] = np.array([np.nan if v is None else v for v in values], dtype=float)
        except (TypeError, ValueError):
            raise ResponseError(f"hourly.{name} holds a value that is not a number") from None
    return frame, sent


def parse_times(times: list, kind: str, offset_s: int) -> pd.DatetimeIndex:
    """hourly.time as UTC: unix seconds, or ISO local times of the answer's utc_offset_seconds (the one offset
    an answer states; we ask timezone=GMT, so no daylight-saving change can fall inside a series)."""
    try:
        if kind == "unixtime":
            return pd.to_datetime(np.asarray(times, dtype="int64"), unit="s", utc=True)
        local = pd.to_datetime(pd.Series(times, dtype=object), format="%Y-%m-%dT%H:%M")
        return pd.DatetimeIndex(local - pd.Timedelta(seconds=offset_s)).tz_localize("UTC")
    except (TypeError, ValueError) as exc:
        raise ResponseError(f"hourly.time is not {kind} ({exc})") from None


def to_weather_units(frame: pd.DataFrame, units: dict) -> tuple[pd.DataFrame, int]:
    """The frame in the weather table's units and hours (precipitation_to_hour_start), impossible values dropped;
    and how many were dropped."""
    out, dropped = frame.copy(), 0
    for column in WEATHER_COLUMNS:
        if column not in out:
            out[column] = np.nan
            continue
        unit = units.get(column, "")
        if (column, unit) not in WEATHER_UNITS:
            raise ResponseError(f"unexpected unit {clean(unit)!r} for {column}")
        scale, shift = WEATHER_UNITS[column, unit]
        values = out[column].to_numpy(dtype=float) * scale + shift
        low, high = WEATHER_RANGE[column]
        bad = np.isfinite(values) & ((values < low) | (values > high))
        dropped += int(bad.sum())
        out[column] = np.where(bad, np.nan, np.round(values, 3))
    return precipitation_to_hour_start(out), dropped


def to_storage_units(frame: pd.DataFrame, units: dict) -> tuple[pd.DataFrame, int]:
    """CAMS frame (ts + parameters) as long rows (parameter, ts, value, unit) in storage units, nulls and
    impossible values left out; and how many impossible values there were."""
    rows, dropped = [], 0
    for parameter in CAMS.values():
        if parameter not in frame:
            continue
        try:
            source = aqi_units.parse_unit(units.get(parameter, ""))
            values = aqi_units.convert_array(frame[parameter].to_numpy(dtype=float), source,
                                             aqi_units.parse_unit(UNITS[parameter]), parameter)
        except AQIError as exc:
            raise ResponseError(f"{parameter}: {exc}") from None
        bad = np.isfinite(values) & ((values < 0) | (values > PHYSICAL_MAX[parameter]))
        dropped += int(bad.sum())
        keep = np.isfinite(values) & ~bad
        rows.append(pd.DataFrame({"parameter": parameter, "ts": frame["ts"][keep],
                                  "value": np.round(values[keep], 4), "unit": UNITS[parameter]}))
    long = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["parameter", "ts", "value", "unit"])
    return long, dropped


def clean(text) -> str:
    """Remote text fit for a message or a log: one line, at most 300 characters."""
    return _CONTROL.sub(" ", str(text))[:300]


# --------------------------------------------------------------------------- runs

@timed("feed", "open_meteo_forecast")
def run_forecast(engine: Engine, settings: Settings, start: datetime, end: datetime, now: datetime,
                 report: FetchReport) -> None:
    """The forecast API for every city: the hours since `start` (past_days) and the next
    weather_forecast_hours; CAMS over the same hours when cams_enabled. `end` does not cut the forecast."""
    horizon = hour_floor(now) + timedelta(hours=settings.weather_forecast_hours)
    past_days = min(MAX_PAST_DAYS, max(0, math.ceil((now - start).total_seconds() / 86400)))
    # forecast_days counts whole GMT days from today's midnight: one more than the hours need, then trimmed.
    days = math.ceil(settings.weather_forecast_hours / 24) + 1
    weather = {"hourly": ",".join(HOURLY), "wind_speed_unit": "ms", "timezone": "GMT", "timeformat": "unixtime",
               "past_days": past_days, "forecast_days": min(days, 16)}
    _fetch(engine, settings, settings.open_meteo_forecast_url, weather, "forecast", start, horizon, now, report)
    if not report.errors:
        report.newest_hour = hour_floor(now)  # the forecast is as fresh as its last good run
    if settings.cams_enabled:  # an extra from another API: its failure is reported, the weather stays fresh
        cams = {"hourly": ",".join(CAMS), "timezone": "GMT", "timeformat": "unixtime", "past_days": past_days,
                "forecast_days": min(days, 7)}
        try:
            _fetch(engine, settings, settings.open_meteo_air_quality_url, cams, "cams", start, horizon, now, report)
        except FeedError as exc:
            report.errors.append(f"CAMS: {exc}")


def backfill_archive(engine: Engine, settings: Settings, start: datetime, end: datetime,
                     now: datetime) -> FetchReport:
    """Past weather of every city from the archive API, hours start..end (UTC). Not a live source: it keeps no
    cursor, so the feed lag checks never count it."""
    report = FetchReport("open-meteo-archive", hour_floor(start), hour_floor(end))
    run_archive(engine, settings, report.start, report.end, now, report)
    return report


@timed("feed", "open_meteo_archive")
def run_archive(engine: Engine, settings: Settings, start: datetime, end: datetime, now: datetime,
                report: FetchReport) -> None:
    """The historical archive API for every city, a month per request, hours start..end (UTC) kept."""
    day = start.date()
    while day <= end.date():
        last = min(day + timedelta(days=ARCHIVE_CHUNK_DAYS - 1), end.date())
        params = {"hourly": ",".join(HOURLY), "wind_speed_unit": "ms", "timezone": "GMT", "timeformat": "unixtime",
                  "start_date": day.isoformat(), "end_date": last.isoformat()}
        _fetch(engine, settings, settings.open_meteo_archive_url, params, "archive", start, end, now, report)
        day = last + timedelta(days=1)


def _fetch(engine: Engine, settings: Settings, url: str, params: dict, kind: str, start: datetime,
           end: datetime, now: datetime, report: FetchReport) -> None:
    """Every city in batches of LOCATIONS_PER_REQUEST; each batch is stored in its own transaction."""
    with engine.connect() as conn:
        locations = city_locations(conn)
    if not locations:
        report.skipped["no cities to fetch weather for"] += 1
        return
    fetcher = Fetcher(settings)
    fetcher.client.event_hooks["response"] = [_keep_reason]
    try:
        for first in range(0, len(locations), LOCATIONS_PER_REQUEST):
            batch = locations[first:first + LOCATIONS_PER_REQUEST]
            query = {**params, "latitude": ",".join(str(lat) for _, lat, _ in batch),
                     "longitude": ",".join(str(lon) for _, _, lon in batch)}
            response = fetcher.get(url, params=query)
            try:
                _store(engine, response.content, batch, kind, start, end, now, report)
            except ResponseError as exc:
                report.errors.append(f"{url} ({kind}): {exc}")
    finally:
        report.requests += fetcher.requests
        fetcher.close()


def _store(engine: Engine, content: bytes, batch: list[tuple[int, float, float]], kind: str, start: datetime,
           end: datetime, now: datetime, report: FetchReport) -> None:
    parsed = parse_response(content, CAMS if kind == "cams" else HOURLY, len(batch))
    converted = []
    for (city_id, _, _), (frame, units) in zip(batch, parsed):
        # Weather first converted, then cut: the precipitation of the range's last hour comes from the next hour.
        if kind == "cams":
            rows, dropped = to_storage_units(frame[(frame["ts"] >= start) & (frame["ts"] <= end)], units)
        else:
            rows, dropped = to_weather_units(frame, units)
            rows = rows[(rows["ts"] >= start) & (rows["ts"] <= end)]
        if dropped:
            report.skipped[f"impossible {kind} values from Open-Meteo"] += dropped
        converted.append((city_id, rows))
    with engine.begin() as conn:  # the whole batch or nothing
        for city_id, rows in converted:
            written = (write_cams(conn, city_id, rows, now) if kind == "cams"
                       else write_weather(conn, city_id, rows, kind, now))
            report.rows += written
    if kind != "cams":
        stamps = [rows["ts"].max() for _, rows in converted if not rows.empty]
        report.hours = max([report.hours, *[len(rows) for _, rows in converted]])
        if kind == "archive" and stamps:
            newest = max(stamps).to_pydatetime()
            report.newest_hour = max(report.newest_hour or newest, newest)


def _keep_reason(response: httpx.Response) -> None:
    """Open-Meteo explains a refused request in its 400 body: keep that reason in the error."""
    if response.status_code != 400:
        return
    response.read()
    try:
        reason = response.json().get("reason")
    except (ValueError, AttributeError):
        reason = response.text
    url = response.request.url.copy_with(query=None)
    raise FeedError(f"{url}: HTTP 400: {clean(reason)}", 400)

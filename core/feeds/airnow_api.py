"""AirNow's observation API by bounding box (/aq/data/): hourly concentrations of every site in the box.

The response (verbose=1, dataType=B, includerawconcentrations=1; tests/fixtures/README.md gives the source)
is a list of records: Latitude, Longitude, UTC ("2024-04-16T11:00", the hour's start), Parameter ("PM2.5",
"OZONE"…), Unit ("UG/M3", "PPB", "PPM"), Value (the NowCast concentration the AQI is computed from),
RawConcentration (the hour's own average, -999 when missing), AQI, Category, SiteName, AgencyName,
FullAQSCode (the AQSID as the file products write it: 9 characters for many US and Canadian sites, 12
with the country prefix for the others) and IntlAQSCode (always 12: the 3-digit country, then 9).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, select

from core.db.models import Station
from core.feeds.common import FetchReport, hour_floor, records_result, store
from core.feeds.cursor import add_requests, requests_in_hour
from core.feeds.http import FeedError, Fetcher, join
from core.ingest.airnow import MISSING, PARAMETERS
from core.ingest.tabular import PUBLISHED_AQI_COLUMNS, TS_DTYPE, ImportedStation
from core.settings import Settings

SOURCE = "airnow-api"
QUERY_PARAMETERS = "PM25,PM10,OZONE,NO2,CO,SO2"
CHUNK_HOURS = 6  # hours per request: a US-wide box answers in a few MB
REQUESTS_PER_HOUR = 500  # AirNow's limit per key and clock hour, counted over every run (feed_requests)


def run(engine: Engine, settings: Settings, start: datetime, end: datetime, now: datetime,
        report: FetchReport) -> None:
    """Query the box chunk by chunk, newest chunk first, so a long backfill spends the budget on recent hours."""
    if not settings.airnow_api_key:
        raise FeedError("airnow-api needs AQI_AIRNOW_API_KEY")
    hour = hour_floor(now)
    used = requests_in_hour(engine, SOURCE, hour)
    attempts = settings.feed_retries + 1  # a request may be retried: never start one the budget cannot finish
    with engine.connect() as conn:
        known = set(conn.execute(select(Station.code).where(Station.source == "airnow")).scalars())
    fetcher = Fetcher(settings)
    url = join(settings.airnow_api_url, "aq", "data/")
    chunk_end = end
    try:
        while chunk_end >= start:
            if used + fetcher.requests + attempts > REQUESTS_PER_HOUR:
                hours = int((chunk_end - start).total_seconds() // 3600) + 1
                report.skipped[f"hours beyond {REQUESTS_PER_HOUR} requests this hour (fetch them next hour)"] += hours
                break
            chunk_start = max(start, chunk_end - timedelta(hours=CHUNK_HOURS - 1))
            response = fetcher.get(url, params={
                "startDate": f"{chunk_start:%Y-%m-%dT%H}", "endDate": f"{chunk_end:%Y-%m-%dT%H}",
                "parameters": QUERY_PARAMETERS, "BBOX": settings.airnow_bbox, "dataType": "B",
                "format": "application/json", "verbose": "1", "monitorType": "0",
                "includerawconcentrations": "1", "API_KEY": settings.airnow_api_key})
            _store(engine, response.content, f"{url}?startDate={chunk_start:%Y-%m-%dT%H}", known, now, report)
            chunk_end = chunk_start - timedelta(hours=1)
    finally:
        report.requests += fetcher.requests
        add_requests(engine, SOURCE, hour, fetcher.requests)
        fetcher.close()


def station_code(full: str, intl: str, known: set[str]) -> str:
    """Our code for a site: the one its AQSID already has from the file products, in either of its two forms."""
    for aqsid in (full, intl, intl[3:]):
        if f"airnow-{aqsid}" in known:
            return f"airnow-{aqsid}"
    return f"airnow-{full}"


def _store(engine: Engine, content: bytes, url: str, known: set[str], now: datetime, report: FetchReport) -> None:
    try:
        rows = json.loads(content)
    except ValueError as exc:
        report.errors.append(f"{url}: not JSON ({exc})")
        return
    if not isinstance(rows, list):
        report.errors.append(f"{url}: expected a list of observations, got {type(rows).__name__}")
        return
    records, published, stations = [], [], {}
    for i, row in enumerate(rows, start=1):
        try:
            code = station_code(str(row["FullAQSCode"]).strip(), str(row["IntlAQSCode"]).strip(), known)
            ts = row["UTC"] + ":00Z"
            # The hour's own average: Value is the NowCast (a 12-hour weighting) for PM and ozone.
            records.append({"station_code": code, "parameter": row["Parameter"], "unit": row["Unit"],
                            "value": row["RawConcentration"], "ts": ts})
            pollutant = PARAMETERS.get(str(row["Parameter"]).lower())
            if pollutant and row.get("AQI") is not None and row["AQI"] >= 0:
                published.append({"station_code": code, "parameter": pollutant, "ts": ts, "aqi": int(row["AQI"])})
            stations.setdefault(code, ImportedStation(
                code=code, name=str(row.get("SiteName", "")).strip(), lat=float(row["Latitude"]),
                lon=float(row["Longitude"]), utc_offset_hours=None, source="airnow",
                agency=row.get("AgencyName") or None))
        except (KeyError, TypeError, ValueError) as exc:
            report.errors.append(f"{url}, record {i}: {type(exc).__name__}: {exc}")
            return
    if not records:
        return
    result = records_result("airnow", url, records, stations, PARAMETERS, now, missing_sentinel=MISSING)
    result.stations = list(stations.values())
    if published:
        frame = pd.DataFrame(published, columns=list(PUBLISHED_AQI_COLUMNS))
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601").astype(TS_DTYPE)
        result.published_aqi = frame
    store(engine, result, report)
    known.update(stations)
    newest = result.measurements["ts"].max() if not result.measurements.empty else None
    if newest is not None:
        report.newest_hour = max(report.newest_hour or newest.to_pydatetime(), newest.to_pydatetime())
        report.hours += result.measurements["ts"].nunique()

"""AirNow's observation API by bounding box (/aq/data/): hourly concentrations of every site in the box."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Engine

from core.feeds.common import FetchReport, records_result, store
from core.feeds.http import FeedError, Fetcher, join
from core.ingest.airnow import PARAMETERS
from core.ingest.tabular import ImportedStation
from core.settings import Settings

SOURCE = "airnow-api"
QUERY_PARAMETERS = "PM25,PM10,OZONE,NO2,CO,SO2"
CHUNK_HOURS = 6  # hours per request: a US-wide box answers in a few MB
MAX_REQUESTS = 500  # AirNow allows 500 requests per hour per key: one run never spends more


def run(engine: Engine, settings: Settings, start: datetime, end: datetime, now: datetime,
        report: FetchReport) -> None:
    """Query the box chunk by chunk, newest chunk first, so a long backfill spends the budget on recent hours."""
    if not settings.airnow_api_key:
        raise FeedError("airnow-api needs AQI_AIRNOW_API_KEY")
    chunks = []
    chunk_end = end
    while chunk_end >= start and len(chunks) < MAX_REQUESTS:
        chunk_start = max(start, chunk_end - timedelta(hours=CHUNK_HOURS - 1))
        chunks.append((chunk_start, chunk_end))
        chunk_end = chunk_start - timedelta(hours=1)
    if chunk_end >= start:
        report.skipped[f"hours beyond {MAX_REQUESTS} requests (fetch again later)"] += 1
    fetcher = Fetcher(settings)
    url = join(settings.airnow_api_url, "aq", "data/")
    try:
        for chunk_start, chunk_end in chunks:
            response = fetcher.get(url, params={
                "startDate": f"{chunk_start:%Y-%m-%dT%H}", "endDate": f"{chunk_end:%Y-%m-%dT%H}",
                "parameters": QUERY_PARAMETERS, "BBOX": settings.airnow_bbox, "dataType": "C",
                "format": "application/json", "verbose": "1", "API_KEY": settings.airnow_api_key})
            _store(engine, response.content, f"{url}?startDate={chunk_start:%Y-%m-%dT%H}", now, report)
    finally:
        report.requests += fetcher.requests
        fetcher.close()


def _store(engine: Engine, content: bytes, url: str, now: datetime, report: FetchReport) -> None:
    try:
        rows = json.loads(content)
    except ValueError as exc:
        report.errors.append(f"{url}: not JSON ({exc})")
        return
    if not isinstance(rows, list):
        report.errors.append(f"{url}: expected a list of observations, got {type(rows).__name__}")
        return
    records, stations = [], {}
    for i, row in enumerate(rows, start=1):
        try:
            # FullAQSCode is the AQSID of the file products, so both AirNow feeds share stations.
            code = f"airnow-{row['FullAQSCode']}"
            records.append({"station_code": code, "parameter": row["Parameter"], "unit": row["Unit"],
                            "value": row["Value"], "ts": row["UTC"] + ":00Z"})
            stations.setdefault(code, ImportedStation(
                code=code, name=str(row.get("SiteName", "")).strip(), lat=float(row["Latitude"]),
                lon=float(row["Longitude"]), utc_offset_hours=None, source="airnow",
                agency=row.get("AgencyName") or None))
        except (KeyError, TypeError, ValueError) as exc:
            report.errors.append(f"{url}, record {i}: {type(exc).__name__}: {exc}")
            return
    if not records:
        return
    result = records_result("airnow", url, records, stations, PARAMETERS, now)
    result.stations = list(stations.values())
    store(engine, result, report)
    newest = result.measurements["ts"].max() if not result.measurements.empty else None
    if newest is not None:
        report.newest_hour = max(report.newest_hour or newest.to_pydatetime(), newest.to_pydatetime())
        report.hours += result.measurements["ts"].nunique()

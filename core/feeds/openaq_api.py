"""OpenAQ API v3: locations (a bounding box or ids), their sensors, and each sensor's hourly values."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Engine

from core.feeds.common import FetchReport, records_result, store
from core.feeds.http import FeedError, Fetcher, join
from core.ingest.tabular import ImportedStation
from core.parameters import POLLUTANTS
from core.settings import Settings

SOURCE = "openaq"
PAGE_LIMIT = 1000
MAX_PAGES = 50  # per listing: a runaway "found" never loops forever


def run(engine: Engine, settings: Settings, start: datetime, end: datetime, now: datetime,
        report: FetchReport) -> None:
    """Stations from the locations, then per pollutant sensor its hours from start to end (hour starts, UTC)."""
    if not settings.openaq_api_key:
        raise FeedError("openaq needs AQI_OPENAQ_API_KEY")
    if not (settings.openaq_bbox or settings.openaq_locations):
        raise FeedError("openaq needs AQI_OPENAQ_BBOX or AQI_OPENAQ_LOCATIONS")
    base = join(settings.openaq_url, "v3")
    fetcher = Fetcher(settings, headers={"X-API-Key": settings.openaq_api_key})
    try:
        if settings.openaq_locations:
            locations = [loc for i in settings.openaq_locations.split(",") if i.strip()
                         for loc in _pages(fetcher, join(base, "locations", i.strip()), {})]
        else:
            locations = _pages(fetcher, join(base, "locations"), {"bbox": settings.openaq_bbox})
        for location in locations:
            _location(engine, fetcher, base, location, start, end, now, report)
    finally:
        report.requests += fetcher.requests
        fetcher.close()


def _pages(fetcher: Fetcher, url: str, params: dict) -> list[dict]:
    """Every result of a v3 listing; meta.found may be a number or a string like '>1000'."""
    results, page = [], 1
    while page <= MAX_PAGES:
        response = fetcher.get(url, params={**params, "limit": PAGE_LIMIT, "page": page})
        try:
            body = json.loads(response.content)
            batch = body["results"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FeedError(f"{url}: not an OpenAQ v3 listing ({exc})") from exc
        results.extend(batch)
        found = body.get("meta", {}).get("found")
        more = isinstance(found, str) or (isinstance(found, int) and found > page * PAGE_LIMIT)
        if len(batch) < PAGE_LIMIT or not more:
            return results
        page += 1
    return results


def _location(engine: Engine, fetcher: Fetcher, base: str, location: dict, start: datetime, end: datetime,
              now: datetime, report: FetchReport) -> None:
    code = f"openaq-{location['id']}"
    coordinates = location.get("coordinates") or {}
    station = ImportedStation(
        code=code, name=str(location.get("name") or code), lat=coordinates.get("latitude"),
        lon=coordinates.get("longitude"), utc_offset_hours=None, source="openaq",
        country=(location.get("country") or {}).get("code"),
        area=location.get("locality") or None, timezone=location.get("timezone") or None)
    records = []
    for sensor in location.get("sensors", []):
        parameter = sensor.get("parameter") or {}
        if parameter.get("name") not in POLLUTANTS:
            report.skipped[f"sensor {parameter.get('name')}"] += 1
            continue
        url = join(base, "sensors", str(sensor["id"]), "hours")
        hours = _pages(fetcher, url, {"datetime_from": f"{start:%Y-%m-%dT%H:%M:%SZ}",
                                      "datetime_to": f"{end + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"})
        for row in hours:
            try:
                records.append({"station_code": code, "parameter": row["parameter"]["name"],
                                "unit": row["parameter"]["units"], "value": row["value"],
                                "ts": row["period"]["datetimeFrom"]["utc"]})  # the hour's start
            except (KeyError, TypeError) as exc:
                report.errors.append(f"{url}: record without {exc}")
                return
    if not records:
        return
    result = records_result("openaq", join(base, "locations", str(location["id"])), records, {code: station},
                            {p: p for p in POLLUTANTS}, now)
    result.stations = [station]
    store(engine, result, report)
    if not result.measurements.empty:
        newest = result.measurements["ts"].max().to_pydatetime()
        report.newest_hour = max(report.newest_hour or newest, newest)
        report.hours = max(report.hours, result.measurements["ts"].nunique())

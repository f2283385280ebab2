"""AirNow's file archive: {base}/airnow/YYYY/YYYYMMDD/HourlyData_YYYYMMDDHH.dat, with that day's site locations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from core.feeds.common import FetchReport, hours_between, store
from core.feeds.http import Fetcher, join
from core.ingest.files import parse_bytes
from core.ingest.tabular import ImportFormatError
from core.settings import Settings

SOURCE = "airnow-files"


def day_folder(base: str, hour: datetime) -> str:
    return join(base, "airnow", f"{hour:%Y}", f"{hour:%Y%m%d}")


def hour_url(base: str, hour: datetime) -> str:
    return join(day_folder(base, hour), f"HourlyData_{hour:%Y%m%d%H}.dat")


def run(engine: Engine, settings: Settings, start: datetime, end: datetime, now: datetime,
        report: FetchReport) -> None:
    """Read the newest site locations, then every hour's file from start to end; a 404 hour is not published yet."""
    base = settings.airnow_files_url
    fetcher = Fetcher(settings)
    try:
        sites_url = join(day_folder(base, end), "monitoring_site_locations.dat")
        sites = fetcher.get(sites_url, missing_ok=True)
        if sites is None:
            report.skipped["site locations not published"] += 1
        elif not _store_file(engine, sites.content, sites_url, now, report):
            return
        for hour in hours_between(start, end):
            url = hour_url(base, hour)
            response = fetcher.get(url, missing_ok=True)
            if response is None:
                report.skipped["hour not published (404)"] += 1
                continue
            if _store_file(engine, response.content, url, now, report):
                report.hours += 1
                report.newest_hour = max(report.newest_hour or hour, hour)
    finally:
        report.requests += fetcher.requests
        fetcher.close()


def _store_file(engine: Engine, content: bytes, url: str, now: datetime, report: FetchReport) -> bool:
    try:
        result = parse_bytes(content, url, now)
    except ImportFormatError as exc:
        # The file is refused whole: nothing of it is written, the others still are.
        where = f", line {exc.line}" if exc.line is not None else ""
        report.errors.append(f"{url}{where}: {str(exc).split(': ', 1)[-1]}")
        return False
    store(engine, result, report)
    return True

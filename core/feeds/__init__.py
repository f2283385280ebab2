"""Live feeds: AirNow files, the AirNow API, OpenAQ v3 and Open-Meteo (weather, CAMS), each with a cursor,
idempotent upserts and retries.

`fetch(engine, settings, source, start, end, now)` runs one source once; `freshness(engine)` says how each is doing.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from core.feeds import airnow_api, airnow_files, open_meteo, openaq_api
from core.feeds.common import FetchReport, hour_floor
from core.feeds.cursor import all_cursors, newest_hour, record_run
from core.feeds.http import FeedError
from core.settings import Settings

SOURCES = {airnow_files.SOURCE: airnow_files.run, airnow_api.SOURCE: airnow_api.run, openaq_api.SOURCE: openaq_api.run,
           open_meteo.SOURCE: open_meteo.run_forecast}
# AirNow rewrites hours for about two days; the API sources are re-read a few hours back for late values.
# Open-Meteo's forecast re-reads the last day (its model's recent past).
REVISION_HOURS = {airnow_files.SOURCE: None, airnow_api.SOURCE: 3, openaq_api.SOURCE: 3, open_meteo.SOURCE: 24}

__all__ = ["SOURCES", "FeedError", "FetchReport", "fetch", "freshness"]


def fetch(engine: Engine, settings: Settings, source: str, start: datetime | None = None,
          end: datetime | None = None, now: datetime | None = None) -> FetchReport:
    """Fetch one source's hours from start to end (UTC, both included) and store what is new or changed.

    Without start: from the cursor (newest hour stored) less the revision window, or feed_backfill_days back
    on a first run. Without end: the current hour. FeedError when the whole run cannot proceed (a refused
    key, a server that keeps failing); a broken file or response is an error of the report instead.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown feed {source!r}; known: {', '.join(SOURCES)}")
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    end = hour_floor(end or now)
    if start is None:
        with engine.connect() as conn:
            cursor = newest_hour(conn, source)
        revision = REVISION_HOURS[source]
        revision = settings.feed_revision_hours if revision is None else revision
        if cursor is None:
            start = end - timedelta(days=settings.feed_backfill_days)
        else:
            start = min(cursor + timedelta(hours=1), end - timedelta(hours=max(revision - 1, 0)))
    report = FetchReport(source, hour_floor(start), end)
    try:
        SOURCES[source](engine, settings, report.start, end, now, report)
    except FeedError as exc:
        report.errors.append(str(exc))
        record_run(engine, source, at=now, newest=report.newest_hour, rows=report.rows, error=str(exc))
        raise
    record_run(engine, source, at=now, newest=report.newest_hour, rows=report.rows,
               error="; ".join(report.errors) or None)
    return report


def freshness(engine: Engine, now: datetime | None = None) -> list[dict]:
    """Per source that ever ran: newest hour stored, its age in hours, last run, rows it wrote, failures, error."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    out = []
    for row in all_cursors(engine):
        newest = row["newest_hour"]
        newest = newest.replace(tzinfo=timezone.utc) if newest is not None and newest.tzinfo is None else newest
        out.append({"source": row["source"], "newest_hour": newest,
                    "age_hours": None if newest is None else (now - newest).total_seconds() / 3600,
                    "last_run_at": row["last_run_at"], "last_rows": row["last_rows"],
                    "failures": row["failures"], "last_error": row["last_error"]})
    return out

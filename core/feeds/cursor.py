"""The feed cursor: newest hour stored per source, how its runs went, and the requests it made per hour."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import FeedCursor, FeedRequests
from core.db.queries import utc


def newest_hour(conn: Connection, source: str) -> datetime | None:
    value = conn.execute(select(FeedCursor.newest_hour).where(FeedCursor.source == source)).scalar_one_or_none()
    return utc(value) if value is not None else None


def record_run(engine: Engine, source: str, *, at: datetime, newest: datetime | None, rows: int,
               error: str | None) -> None:
    """Advance the cursor (never backwards) and note the run: rows written, error, consecutive failures."""
    error = error[:1000] if error else None
    with engine.begin() as conn:
        row = conn.execute(select(FeedCursor.__table__).where(FeedCursor.source == source)).one_or_none()
        if row is None:
            conn.execute(FeedCursor.__table__.insert(), {"source": source, "newest_hour": newest, "last_run_at": at,
                                                         "last_rows": rows, "last_error": error,
                                                         "failures": 1 if error else 0})
            return
        previous = utc(row.newest_hour) if row.newest_hour is not None else None
        values = {"last_run_at": at, "last_rows": rows, "last_error": error,
                  "failures": row.failures + 1 if error else 0}
        if newest is not None and (previous is None or newest > previous):
            values["newest_hour"] = newest
        conn.execute(update(FeedCursor).where(FeedCursor.source == source).values(**values))


def all_cursors(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(FeedCursor.__table__).order_by(FeedCursor.source)).mappings()]


def requests_in_hour(engine: Engine, source: str, hour: datetime) -> int:
    """Requests the source has made in the UTC hour starting at `hour`, over every run."""
    with engine.connect() as conn:
        used = conn.execute(select(FeedRequests.requests).where(
            FeedRequests.source == source, FeedRequests.hour == hour)).scalar_one_or_none()
    return used or 0


def add_requests(engine: Engine, source: str, hour: datetime, count: int) -> None:
    """Add a run's requests to its hour's count (the rows of older hours are dropped: only the hour matters)."""
    if not count:
        return
    insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(FeedRequests)
    with engine.begin() as conn:
        conn.execute(FeedRequests.__table__.delete().where(FeedRequests.source == source, FeedRequests.hour < hour))
        conn.execute(insert.values(source=source, hour=hour, requests=count).on_conflict_do_update(
            index_elements=["source", "hour"], set_={"requests": FeedRequests.requests + count}))

"""The feed cursor: newest hour stored per source, and how its runs went."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from core.db.models import FeedCursor
from core.db.queries import utc


def newest_hour(conn: Connection, source: str) -> datetime | None:
    value = conn.execute(select(FeedCursor.newest_hour).where(FeedCursor.source == source)).scalar_one_or_none()
    return utc(value) if value is not None else None


def record_run(engine: Engine, source: str, *, at: datetime, newest: datetime | None, rows: int,
               error: str | None) -> None:
    """Advance the cursor (never backwards) and note the run: rows written, error, consecutive failures."""
    with engine.begin() as conn:
        row = conn.execute(select(FeedCursor.__table__).where(FeedCursor.source == source)).one_or_none()
        if row is None:
            conn.execute(FeedCursor.__table__.insert(), {"source": source, "newest_hour": newest, "last_run_at": at,
                                                         "last_rows": rows, "last_error": error,
                                                         "failures": 1 if error else 0})
            return
        previous = utc(row.newest_hour) if row.newest_hour is not None else None
        values = {"last_run_at": at, "last_rows": rows, "last_error": error[:1000] if error else None,
                  "failures": row.failures + 1 if error else 0}
        if newest is not None and (previous is None or newest > previous):
            values["newest_hour"] = newest
        conn.execute(update(FeedCursor).where(FeedCursor.source == source).values(**values))


def all_cursors(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(FeedCursor.__table__).order_by(FeedCursor.source)).mappings()]

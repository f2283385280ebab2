"""Monthly range partitions of measurements in PostgreSQL, created on demand."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Connection, text


def month_starts(first: datetime, last: datetime) -> list[datetime]:
    """The first instant of every month from first's month to last's month, inclusive (UTC)."""
    month, out = datetime(first.year, first.month, 1, tzinfo=timezone.utc), []
    while (month.year, month.month) <= (last.year, last.month):
        out.append(month)
        month = next_month(month)
    return out


def next_month(month: datetime) -> datetime:
    return datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=timezone.utc)


def partition_name(month: datetime) -> str:
    return f"measurements_y{month.year:04d}m{month.month:02d}"


def ensure_partitions(conn: Connection, first: datetime, last: datetime) -> list[str]:
    """Create the monthly partitions covering [first, last]; returns those created."""
    if conn.dialect.name != "postgresql":
        return []
    existing = set(conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'measurements'::regclass")).scalars())
    created = []
    for start in month_starts(first, last):
        name = partition_name(start)
        if name in existing:
            continue
        end = next_month(start)
        conn.execute(text(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF measurements "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"))
        created.append(name)
    return created

"""Time in one convention: aware UTC datetimes, hours starting on the hour, ISO 8601 text with Z."""
from __future__ import annotations

from datetime import datetime, timezone


def utc(ts: datetime) -> datetime:
    """ts as aware UTC; a naive ts is UTC already (our storage rule, and what SQLite hands back)."""
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def hour_floor(ts: datetime) -> datetime:
    """The UTC hour that ts falls in."""
    return utc(ts).replace(minute=0, second=0, microsecond=0)


def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(timezone.utc)


def now_hour() -> datetime:
    """The start of the current UTC hour."""
    return hour_floor(now())


def iso(ts: datetime) -> str:
    """UTC ISO 8601 to the second with Z, e.g. 2026-11-20T12:00:00Z."""
    return utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_epoch(seconds: float) -> datetime:
    """Aware UTC datetime of a Unix time."""
    return datetime.fromtimestamp(seconds, timezone.utc)


def parse_iso(text: str) -> datetime:
    """ISO 8601 text (Z, an offset, or none = UTC; a space for '+' as URLs carry it) as aware UTC; ValueError if not."""
    return utc(datetime.fromisoformat(text.strip().upper().replace(" ", "+")))

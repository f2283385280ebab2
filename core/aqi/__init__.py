"""AQI engine: US EPA (2024, with NowCast), India NAQI (CPCB 2014) and the European EAQI.

Rules and conventions: /work/shared/AQI_STANDARDS.md. Entry points: `calculator` (one value),
`current` (every station's current index, vectorised) and `nowcast`.
"""
from __future__ import annotations

from dataclasses import dataclass


class AQIError(ValueError):
    """Bad input to the AQI engine; the message is meant for the user."""


@dataclass(frozen=True)
class Category:
    """One band of a standard's scale: its name, colour, index bounds and general health message."""

    name: str
    color: str
    low: int
    high: int | None  # None: open top
    health_message: str


@dataclass(frozen=True)
class SubIndex:
    """A pollutant's index under one standard; value None when the rules give no index (note says why)."""

    value: int | None
    category: int  # position in the standard's category list, -1 without an index
    note: str | None = None


NO_INDEX = Category("No index", "#9E9E9E", 0, None, "")

"""One shape of paged answer: 1-based pages of `limit` rows with the count of all matching rows."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page of rows and where it sits: page number, rows per page, rows found over every page."""

    data: list
    page: int
    limit: int
    found: int

    def as_dict(self, **meta) -> dict:
        """{"data": rows, "meta": {page, limit, found, **meta}}, the body of every list endpoint."""
        return {"data": self.data, "meta": {"page": self.page, "limit": self.limit, "found": self.found, **meta}}


def offset(page: int, limit: int) -> int:
    """Rows before a 1-based page."""
    return (page - 1) * limit


def page_of(rows: list, page: int, limit: int, found: int | None = None) -> Page:
    """The page of `rows` (every row, or at least those up to this page when `found` gives the full count)."""
    start = offset(page, limit)
    return Page(rows[start:start + limit], page, limit, len(rows) if found is None else found)

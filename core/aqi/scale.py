"""A pollutant's breakpoint table: truncate to the reporting step, interpolate, round half up, and back."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np

from core.aqi import AQIError
from core.aqi.units import LABELS, steps_to_decimal, truncate_steps

# int64 arithmetic stays exact up to here; no air comes near 10**12 reporting steps.
_MAX_STEPS = 10.0**12


@dataclass(frozen=True)
class Row:
    """One breakpoint row in reporting steps: concentrations c_lo..c_hi map to indices i_lo..i_hi."""

    c_lo: int
    c_hi: int
    i_lo: int
    i_hi: int

    def index(self, c: int) -> int:
        """(i_hi − i_lo)/(c_hi − c_lo)·(c − c_lo) + i_lo rounded half up, in exact integer arithmetic."""
        span = self.c_hi - self.c_lo
        return self.i_lo + (2 * (self.i_hi - self.i_lo) * (c - self.c_lo) + span) // (2 * span)


@dataclass(frozen=True)
class Scale:
    """A pollutant's breakpoint table; concentrations are counted in steps of 10**-decimals of `unit`."""

    code: str
    unit: str
    decimals: int
    rows: tuple[Row, ...]
    # Above the last row: "extend" continues its slope (no cap), "cap" holds its top index, "none" has no index.
    above: Literal["extend", "cap", "none"]
    below_note: str | None = None  # set when concentrations under the first row have no index
    above_note: str | None = None

    def steps(self, value: Decimal) -> int:
        """value (in `unit`) truncated to the table's reporting step."""
        return truncate_steps(value, self.decimals)

    def evaluate(self, c: int) -> tuple[int | None, str | None]:
        """(index, note) of a truncated concentration in steps."""
        if c < self.rows[0].c_lo:
            return None, self.below_note
        for row in self.rows:
            if c <= row.c_hi:
                return row.index(c), None
        if self.above == "extend":
            return self.rows[-1].index(c), None
        return (self.rows[-1].i_hi if self.above == "cap" else None), self.above_note

    def index_array(self, steps: np.ndarray) -> np.ndarray:
        """Indices (float, NaN for none) of truncated concentrations in steps (NaN = missing)."""
        valid = ~np.isnan(steps)
        c = np.where(valid, np.minimum(steps, _MAX_STEPS), 0).astype(np.int64)
        c_lo = np.array([r.c_lo for r in self.rows])
        position = np.searchsorted(c_lo, c, side="right") - 1
        valid &= position >= 0
        row = np.clip(position, 0, len(self.rows) - 1)
        lo, hi = c_lo[row], np.array([r.c_hi for r in self.rows])[row]
        i_lo, i_hi = np.array([r.i_lo for r in self.rows])[row], np.array([r.i_hi for r in self.rows])[row]
        index = i_lo + (2 * (i_hi - i_lo) * (c - lo) + (hi - lo)) // (2 * (hi - lo))
        beyond = c > self.rows[-1].c_hi
        if self.above == "cap":
            index = np.where(beyond, self.rows[-1].i_hi, index)
        elif self.above == "none":
            valid &= ~beyond
        return np.where(valid, index, np.nan)

    def interval(self, aqi: int) -> tuple[int, int | None]:
        """The truncated concentrations (steps) whose rounded index is `aqi`; high None when open."""
        first, last = self.rows[0], self.rows[-1]
        if aqi < first.i_lo or (aqi > last.i_hi and self.above != "extend"):
            span = f"{first.i_lo} and up" if self.above == "extend" else f"{first.i_lo}–{last.i_hi}"
            note = self.below_note if aqi < first.i_lo else self.above_note
            raise AQIError(f"{self.code} gives index values {span}, not {aqi}" + (f" ({note})" if note else ""))
        row = next((r for r in self.rows if r.i_lo <= aqi <= r.i_hi), last)
        span, rise, k = row.c_hi - row.c_lo, row.i_hi - row.i_lo, aqi - row.i_lo
        # Inverse of Row.index: index(c) >= aqi  <=>  c - c_lo >= span·(2k − 1) / (2·rise), etc.
        low = max(row.c_lo, row.c_lo - (-span * (2 * k - 1) // (2 * rise)))
        high = row.c_lo - (-span * (2 * k + 1) // (2 * rise)) - 1
        if row is not last or self.above != "extend":
            high = min(high, row.c_hi)
        if low > high:
            raise AQIError(
                f"no {self.code} concentration gives exactly {aqi}: at its reporting step the index goes from "
                f"{row.index(high)} at {self.format(high)} to {row.index(low)} at {self.format(low)}")
        if row is last and self.above == "cap" and aqi == last.i_hi:
            return low, None
        return low, high

    def format(self, c: int) -> str:
        """A concentration in steps as text with its unit, e.g. '0.070 ppm'."""
        return f"{steps_to_decimal(c, self.decimals)} {LABELS[self.unit]}"


def scale(code: str, unit: str, decimals: int, rows: list[tuple[str, str, int, int]],
          above: Literal["extend", "cap", "none"], below_note: str | None = None,
          above_note: str | None = None) -> Scale:
    """A Scale from breakpoints written as in the published table."""
    def steps(text: str) -> int:
        return int(Decimal(text).scaleb(decimals))
    return Scale(code, unit, decimals, tuple(Row(steps(lo), steps(hi), i_lo, i_hi) for lo, hi, i_lo, i_hi in rows),
                 above, below_note, above_note)

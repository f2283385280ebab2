"""US EPA AQI (TAD 2024): breakpoints, truncate → interpolate → round half up, cautionary statements."""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

import numpy as np

from core.aqi import AQIError, Category, SubIndex
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


CATEGORIES: tuple[Category, ...] = (
    Category("Good", "#00E400", 0, 50, "Air quality is satisfactory, and air pollution poses little or no risk."),
    Category("Moderate", "#FFFF00", 51, 100,
             "Air quality is acceptable. However, there may be a risk for some people, particularly those who are "
             "unusually sensitive to air pollution."),
    Category("Unhealthy for Sensitive Groups", "#FF7E00", 101, 150,
             "Members of sensitive groups may experience health effects. The general public is less likely to be "
             "affected."),
    Category("Unhealthy", "#FF0000", 151, 200,
             "Some members of the general public may experience health effects; members of sensitive groups may "
             "experience more serious health effects."),
    Category("Very Unhealthy", "#8F3F97", 201, 300,
             "Health alert: the risk of health effects is increased for everyone."),
    Category("Hazardous", "#7E0023", 301, None,
             "Health warning of emergency conditions: everyone is more likely to be affected."),
)
# TAD 2024 Table 3, the colour-vision-assist palette, in category order.
CVD_COLORS: tuple[str, ...] = ("#9EFF91", "#FFC905", "#FF8205", "#F02200", "#890997", "#640015")

_O3_8H_NOTE = ("8-hour ozone does not define the AQI above 300 (0.201 ppm and more): a 1-hour ozone value is "
               "needed (o3_1h)")
SCALES: dict[str, Scale] = {s.code: s for s in (
    scale("o3_8h", "ppm", 3, [("0.000", "0.054", 0, 50), ("0.055", "0.070", 51, 100), ("0.071", "0.085", 101, 150),
                              ("0.086", "0.105", 151, 200), ("0.106", "0.200", 201, 300)],
          "none", above_note=_O3_8H_NOTE),
    scale("o3_1h", "ppm", 3, [("0.125", "0.164", 101, 150), ("0.165", "0.204", 151, 200), ("0.205", "0.404", 201, 300),
                              ("0.405", "0.604", 301, 500)],
          "extend", below_note="1-hour ozone defines the AQI only from 0.125 ppm (101); below that use the "
                               "8-hour value (o3_8h)"),
    scale("pm25_24h", "ug/m3", 1, [("0.0", "9.0", 0, 50), ("9.1", "35.4", 51, 100), ("35.5", "55.4", 101, 150),
                                   ("55.5", "125.4", 151, 200), ("125.5", "225.4", 201, 300),
                                   ("225.5", "325.4", 301, 500)], "extend"),
    scale("pm10_24h", "ug/m3", 0, [("0", "54", 0, 50), ("55", "154", 51, 100), ("155", "254", 101, 150),
                                   ("255", "354", 151, 200), ("355", "424", 201, 300), ("425", "604", 301, 500)],
          "extend"),
    scale("co_8h", "ppm", 1, [("0.0", "4.4", 0, 50), ("4.5", "9.4", 51, 100), ("9.5", "12.4", 101, 150),
                              ("12.5", "15.4", 151, 200), ("15.5", "30.4", 201, 300), ("30.5", "50.4", 301, 500)],
          "extend"),
    scale("so2_1h", "ppb", 0, [("0", "35", 0, 50), ("36", "75", 51, 100), ("76", "185", 101, 150),
                               ("186", "304", 151, 200)],
          "cap", above_note="1-hour SO2 defines the AQI only up to 200: at 305 ppb or more the AQI is 200 unless "
                            "the 24-hour average is also 305 ppb or more (so2_24h)"),
    scale("so2_24h", "ppb", 0, [("305", "604", 201, 300), ("605", "1004", 301, 500)],
          "extend", below_note="24-hour SO2 defines the AQI only from 305 ppb (201); below that use the 1-hour "
                               "value (so2_1h)"),
    scale("no2_1h", "ppb", 0, [("0", "53", 0, 50), ("54", "100", 51, 100), ("101", "360", 101, 150),
                               ("361", "649", 151, 200), ("650", "1249", 201, 300), ("1250", "2049", 301, 500)],
          "extend"),
)}
# Hourly PM (a NowCast or a single hour) is read on the 24-hour table, as AirNow does.
SCALES["pm25_1h"] = replace(SCALES["pm25_24h"], code="pm25_1h")
SCALES["pm10_1h"] = replace(SCALES["pm10_24h"], code="pm10_1h")

POLLUTANT_CODES: tuple[str, ...] = ("pm25_24h", "pm25_1h", "pm10_24h", "pm10_1h", "o3_8h", "o3_1h", "co_8h",
                                    "so2_1h", "so2_24h", "no2_1h")

SENSITIVE_GROUPS: dict[str, str] = {
    "o3": "People with lung disease such as asthma, children and teenagers, older adults, people who are active "
          "outdoors (including outdoor workers), people with certain genetic variants, and people with diets "
          "limited in certain nutrients",
    "pm25": "People with heart or lung disease, older adults, children, and people of lower socioeconomic status",
    "pm10": "People with heart or lung disease, older adults, children, and people of lower socioeconomic status",
    "co": "People with heart disease",
    "so2": "People with asthma, children, and older adults",
    "no2": "People with asthma, children, and older adults",
}

_PM_GROUPS = "People with heart or lung disease, older adults, children, and people of lower socioeconomic status"
_PM_STATEMENTS = (
    "None.",
    "Unusually sensitive people should consider reducing prolonged or heavy exertion.",
    f"{_PM_GROUPS} should reduce prolonged or heavy exertion.",
    f"{_PM_GROUPS} should avoid prolonged or heavy exertion; everyone else should reduce prolonged or heavy "
    "exertion.",
    f"{_PM_GROUPS} should avoid all physical activity outdoors; everyone else should avoid prolonged or heavy "
    "exertion.",
    "Everyone should avoid all physical activity outdoors; "
    f"{_PM_GROUPS[0].lower()}{_PM_GROUPS[1:]} should remain indoors and keep activity levels low.",
)
_O3_GROUPS = "People with lung disease, such as asthma, children, older adults, and outdoor workers"
_CO_GROUPS = "People with heart disease, such as angina,"
_GAS_GROUPS = "People with asthma, children and older adults"
# Cautionary statements by pollutant, in category order.
CAUTIONARY_STATEMENTS: dict[str, tuple[str, ...]] = {
    "pm25": _PM_STATEMENTS,
    "pm10": _PM_STATEMENTS,
    "o3": (
        "None.",
        "Unusually sensitive people should consider reducing prolonged or heavy outdoor exertion.",
        f"{_O3_GROUPS} should reduce prolonged or heavy outdoor exertion.",
        f"{_O3_GROUPS} should avoid prolonged or heavy outdoor exertion; everyone else should reduce prolonged or "
        "heavy outdoor exertion.",
        f"{_O3_GROUPS} should avoid all physical activity outdoors; everyone else should avoid prolonged or heavy "
        "outdoor exertion.",
        "Everyone should avoid all physical activity outdoors.",
    ),
    "co": (
        "None.",
        "None.",
        f"{_CO_GROUPS} should reduce heavy exertion and avoid sources of CO, such as heavy traffic.",
        f"{_CO_GROUPS} should reduce moderate exertion and avoid sources of CO, such as heavy traffic.",
        f"{_CO_GROUPS} should avoid exertion and sources of CO, such as heavy traffic.",
        f"{_CO_GROUPS} should avoid exertion and sources of CO, such as heavy traffic; everyone else should reduce "
        "heavy exertion.",
    ),
    "so2": (
        "None.",
        "None.",
        "People with asthma should consider limiting outdoor exertion.",
        "Children, people with asthma, or other lung diseases, should limit outdoor exertion.",
        "Children, people with asthma, or other lung diseases, should avoid outdoor exertion; everyone else should "
        "reduce outdoor exertion.",
        "Children, people with asthma, or other lung diseases, should remain indoors; everyone else should avoid "
        "outdoor exertion.",
    ),
    "no2": (
        "None.",
        "Unusually sensitive individuals should consider limiting prolonged exertion especially near busy roads.",
        f"{_GAS_GROUPS} should limit prolonged exertion especially near busy roads.",
        f"{_GAS_GROUPS} should avoid prolonged exertion near roadways; everyone else should limit prolonged "
        "exertion especially near busy roads.",
        f"{_GAS_GROUPS} should avoid all outdoor exertion; everyone else should avoid prolonged exertion "
        "especially near busy roads.",
        f"{_GAS_GROUPS} should remain indoors; everyone else should avoid all outdoor exertion.",
    ),
}

_CATEGORY_LOWS = np.array([c.low for c in CATEGORIES[1:]])


def category_index(aqi: float) -> int:
    """Position of an AQI value in CATEGORIES."""
    return int(np.searchsorted(_CATEGORY_LOWS, aqi, side="right"))


def category_index_array(aqi: np.ndarray) -> np.ndarray:
    """Positions in CATEGORIES, -1 where aqi is NaN."""
    return np.where(np.isnan(aqi), -1, np.searchsorted(_CATEGORY_LOWS, aqi, side="right"))


def assess(code: str, value: Decimal) -> SubIndex:
    """Sub-index of a concentration in the table's unit (see SCALES[code].unit)."""
    index, note = SCALES[code].evaluate(SCALES[code].steps(value))
    return SubIndex(index, -1 if index is None else category_index(index), note)


def ozone_index_array(steps_8h: np.ndarray, steps_1h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ozone sub-index from truncated ppm steps: (index, undefined) where undefined marks 8-h ≥ 0.201 ppm alone.

    The 8-h value is required; the 1-h value counts only from 0.125 ppm, and then the higher index wins.
    """
    index_8h, index_1h = SCALES["o3_8h"].index_array(steps_8h), SCALES["o3_1h"].index_array(steps_1h)
    has_8h = ~np.isnan(steps_8h)
    index = np.where(has_8h, np.fmax(index_8h, index_1h), np.nan)
    return index, has_8h & np.isnan(index)


def so2_index_array(steps_1h: np.ndarray, steps_24h: np.ndarray) -> np.ndarray:
    """SO2 sub-index from truncated ppb: the 1-h table up to 200, the 24-h average from 305 ppb (201+)."""
    # The 1-h table holds 200 from 305 ppb up; the 24-h table has an index only from 305 ppb, so the
    # higher of the two is the rule: 1-h ≥ 305 with 24-h < 305 gives exactly 200.
    return np.fmax(SCALES["so2_1h"].index_array(steps_1h), SCALES["so2_24h"].index_array(steps_24h))

"""The registry of AQI standards: codes, names, categories, palettes, advice, and which category holds an index."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.aqi import NO_INDEX, AQIError, Category, eea, india, us_epa
from core.aqi.categories import position, positions


@dataclass(frozen=True)
class Standard:
    """One standard: its code, display name, categories in order and colour palettes (each in category order)."""

    code: str
    name: str
    index_label: str  # what its number is called: "AQI", or "Level" for the EAQI
    categories: tuple[Category, ...]
    palettes: dict[str, tuple[str, ...]]


STANDARDS: dict[str, Standard] = {s.code: s for s in (
    Standard("us_epa", "US EPA", "AQI", us_epa.CATEGORIES,
             {"standard": tuple(c.color for c in us_epa.CATEGORIES), "cvd": us_epa.CVD_COLORS}),
    Standard("india_naqi", "India NAQI", "AQI", india.CATEGORIES,
             {"standard": tuple(c.color for c in india.CATEGORIES)}),
    Standard("eea", "European EAQI", "Level", eea.CATEGORIES, {"standard": tuple(c.color for c in eea.CATEGORIES)}),
)}
STANDARD_CODES: tuple[str, ...] = tuple(STANDARDS)
StandardCode = Literal[STANDARD_CODES]  # type: ignore[valid-type]  # for pydantic fields: the codes above
US_SENSITIVE_FROM = 2  # TAD 2024 Table 4: sensitive groups are named only above 100 (USG and worse)


def standard(code: str) -> Standard:
    """The registered standard; AQIError naming the known ones otherwise."""
    if code not in STANDARDS:
        raise AQIError(f"unknown standard {code!r}; use one of: {', '.join(STANDARD_CODES)}")
    return STANDARDS[code]


def palette(code: str, name: str = "standard") -> tuple[str, ...]:
    """The standard's colours in category order; AQIError for a palette it does not define."""
    palettes = standard(code).palettes
    if name not in palettes:
        raise AQIError(f"palette {name!r} is not defined for {code}; it has: {', '.join(palettes)}")
    return palettes[name]


def category_of(code: str, index: float | None) -> int:
    """Position of the category holding `index` (-1 for None or NaN), the index rounded half up first."""
    return position(standard(code).categories, index)


def category_array(code: str, index: np.ndarray) -> np.ndarray:
    """category_of for an array: int positions, -1 where the index is NaN."""
    return positions(standard(code).categories, index)


def category(code: str, position: int) -> Category:
    """The category at a position (-1: NO_INDEX); AQIError outside the standard's range."""
    categories = standard(code).categories
    if position == -1:
        return NO_INDEX
    if not 0 <= position < len(categories):
        raise AQIError(f"{code} has categories 0–{len(categories) - 1}, not {position}")
    return categories[position]


def advice(code: str, species: str, position: int) -> dict:
    """{health_message, sensitive_groups, cautionary_statement} for a pollutant species (pm25, o3…) in a category.

    US: sensitive groups only above 100 (TAD Table 4), a cautionary statement per pollutant and category;
    EEA: its sensitive populations; India: the category's message only. Absent items are None.
    """
    found = category(code, position)
    groups = statement = None
    if code == "us_epa" and position >= 0:
        statement = us_epa.CAUTIONARY_STATEMENTS[species][position]
        if position >= US_SENSITIVE_FROM:
            groups = us_epa.SENSITIVE_GROUPS[species]
    elif code == "eea":
        groups = eea.SENSITIVE_GROUPS
    return {"health_message": found.health_message, "sensitive_groups": groups, "cautionary_statement": statement}


def _luminance(color: str) -> float:
    """WCAG 2 relative luminance of #RRGGBB."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(int(color[i:i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours (1 to 21)."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_color(background: str) -> str:
    """Black or white text for a chip of `background`, whichever contrasts more (AA, ≥ 4.5, on every palette)."""
    return "#000000" if contrast("#000000", background) >= contrast("#FFFFFF", background) else "#FFFFFF"

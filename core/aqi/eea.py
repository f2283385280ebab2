"""European Air Quality Index (EEA, 2024 bands): hourly µg/m³, rounded half up, looked up in bands."""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from core.aqi import AQIError, Category, SubIndex
from core.aqi.units import round_half_up, round_half_up_array

_SENSITIVE = ("Consider reducing intense outdoor activities, if you experience symptoms.",
              "Consider reducing physical activities, particularly outdoors, especially if you experience symptoms.",
              "Reduce physical activities, particularly outdoors, especially if you experience symptoms.",
              "Avoid physical activities outdoors.")
_SYMPTOMS = ("Consider reducing intense activities outdoors, if you experience symptoms such as sore eyes, a cough "
             "or sore throat.")


def _advice(general: str, sensitive: str) -> str:
    return f"General population: {general} Sensitive populations: {sensitive}"


# Level n (1..6) is CATEGORIES[n - 1]; low and high are the level itself, as the EAQI has no index number.
CATEGORIES: tuple[Category, ...] = (
    Category("Good", "#50F0E6", 1, 1, _advice("The air quality is good. Enjoy your usual outdoor activities.",
                                              "The air quality is good. Enjoy your usual outdoor activities.")),
    Category("Fair", "#50CCAA", 2, 2, _advice("Enjoy your usual outdoor activities.",
                                              "Enjoy your usual outdoor activities.")),
    Category("Moderate", "#F0E641", 3, 3, _advice("Enjoy your usual outdoor activities.", _SENSITIVE[0])),
    Category("Poor", "#FF5050", 4, 4, _advice(_SYMPTOMS, _SENSITIVE[1])),
    Category("Very poor", "#960032", 5, 5, _advice(_SYMPTOMS, _SENSITIVE[2])),
    Category("Extremely poor", "#7D2181", 6, 6, _advice("Reduce physical activities outdoors.", _SENSITIVE[3])),
)
SENSITIVE_GROUPS = "Adults and children with respiratory problems, and adults with heart conditions"

# Top of levels 1..5 in whole µg/m³; above the last is level 6.
BANDS: dict[str, tuple[int, ...]] = {
    "pm25_1h": (5, 15, 50, 90, 140),
    "pm10_1h": (15, 45, 120, 195, 270),
    "no2_1h": (10, 25, 60, 100, 150),
    "o3_1h": (60, 100, 120, 160, 180),
    "so2_1h": (20, 40, 125, 190, 275),
}
POLLUTANT_CODES: tuple[str, ...] = tuple(BANDS)
UNIT = "ug/m3"


def level(code: str, rounded: int) -> int:
    """Level 1..6 of a concentration already rounded to whole µg/m³."""
    return int(np.searchsorted(BANDS[code], rounded, side="left")) + 1


def level_array(code: str, values: np.ndarray) -> np.ndarray:
    """Levels (float, NaN where missing) of raw µg/m³ values: rounded half up, then banded."""
    rounded = round_half_up_array(values)
    return np.where(np.isnan(rounded), np.nan, np.searchsorted(BANDS[code], rounded, side="left") + 1.0)


def assess(code: str, value: Decimal) -> SubIndex:
    """Level of a µg/m³ concentration, as SubIndex(level, level - 1)."""
    found = level(code, round_half_up(value))
    return SubIndex(found, found - 1)


def interval(code: str, found: int) -> tuple[int, int | None]:
    """Whole µg/m³ (after rounding) that give level `found`; high None for the open top level."""
    if not 1 <= found <= len(CATEGORIES):
        raise AQIError(f"EEA levels run from 1 to {len(CATEGORIES)}, not {found}")
    bands = BANDS[code]
    low = 0 if found == 1 else bands[found - 2] + 1
    return low, bands[found - 1] if found <= len(bands) else None

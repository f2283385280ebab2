"""Concentration units, conversion at 25 °C and 1 atm, truncation and half-up rounding."""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import numpy as np

from core.aqi import AQIError
from core.aqi.pollutants import MOLAR_VOLUME_25C, MOLECULAR_WEIGHT

# Unit code -> (kind, factor to the kind's base unit: µg/m³ for mass, ppb for volume).
_UNITS: dict[str, tuple[str, int]] = {"ug/m3": ("mass", 1), "mg/m3": ("mass", 1000), "ppb": ("volume", 1),
                                      "ppm": ("volume", 1000)}
LABELS: dict[str, str] = {"ug/m3": "µg/m³", "mg/m3": "mg/m³", "ppb": "ppb", "ppm": "ppm"}

# Binary floats carry noise (a mean of 35.4s can come out as 35.39999999999999, a unit round trip
# 0.06999999999999999): a value within this many reporting steps below a step counts as reaching it.
TOLERANCE = 1e-9
_TOLERANCE = Decimal("1e-9")
_HALF = Decimal("0.5")


def parse_unit(unit: str) -> str:
    """The unit's code ("ug/m3", "mg/m3", "ppb", "ppm") from any usual spelling; AQIError if unknown."""
    if not isinstance(unit, str):
        raise AQIError(f"unit must be text, got {unit!r}")
    code = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace("³", "3")
    if code not in _UNITS:
        raise AQIError(f"unknown unit {unit!r}; use one of: µg/m³, mg/m³, ppb, ppm")
    return code


def _factor(from_unit: str, to_unit: str, species: str) -> Decimal:
    from_kind, from_scale = _UNITS[from_unit]
    to_kind, to_scale = _UNITS[to_unit]
    factor = Decimal(from_scale) / Decimal(to_scale)
    if from_kind == to_kind:
        return factor
    if species not in MOLECULAR_WEIGHT:
        raise AQIError(f"{species} is a mass concentration: ppb and ppm do not apply to it (use µg/m³ or mg/m³)")
    # µg/m³ = ppb × M / Vm (ideal gas at 25 °C, 1 atm).
    mass_per_volume = Decimal(repr(MOLECULAR_WEIGHT[species])) / Decimal(repr(MOLAR_VOLUME_25C))
    return factor * mass_per_volume if from_kind == "volume" else factor / mass_per_volume


def same_kind(a: str, b: str) -> bool:
    """Whether two unit codes measure the same kind (mass or volume), so converting needs no molar volume."""
    return _UNITS[a][0] == _UNITS[b][0]


def conversion_factor(from_unit: str, to_unit: str, species: str) -> float:
    """The float multiplier from one unit code to another for `species`; AQIError when it makes no sense."""
    return float(_factor(from_unit, to_unit, species))


def convert(value: Decimal, from_unit: str, to_unit: str, species: str) -> Decimal:
    """value (Decimal) from one unit code to another for `species` (o3, no2, so2, co, nh3, pm25…)."""
    return value if from_unit == to_unit else value * _factor(from_unit, to_unit, species)


def convert_array(values: np.ndarray, from_unit: str, to_unit: str, species: str) -> np.ndarray:
    """Array version of convert, in floats."""
    return values if from_unit == to_unit else values * float(_factor(from_unit, to_unit, species))


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Exact decimal of a number; floats by their shortest repr, so 35.4 stays 35.4."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(float(value))) if not isinstance(value, str) else Decimal(value.strip())


def truncate_steps(value: Decimal, decimals: int) -> int:
    """value truncated to `decimals` decimals, as an integer count of 10**-decimals steps."""
    return int((value.scaleb(decimals) + _TOLERANCE).to_integral_value(rounding=ROUND_FLOOR))


def truncate_steps_array(values: np.ndarray, decimals: int) -> np.ndarray:
    """Array version of truncate_steps: float counts of steps, NaN kept."""
    return np.floor(values * 10.0**decimals + TOLERANCE)


def round_half_up(value: Decimal) -> int:
    """value rounded to an integer, halves up."""
    return int((value + _HALF + _TOLERANCE).to_integral_value(rounding=ROUND_FLOOR))


def round_half_up_array(values: np.ndarray) -> np.ndarray:
    """Array version of round_half_up, NaN kept."""
    return np.floor(values + 0.5 + TOLERANCE)


def steps_to_decimal(steps: int, decimals: int) -> Decimal:
    """The concentration of `steps` steps of 10**-decimals."""
    return Decimal(steps).scaleb(-decimals)

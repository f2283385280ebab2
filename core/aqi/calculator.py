"""One concentration → index, and one index → concentration range, under any of the three standards."""
from __future__ import annotations

import numbers
from datetime import date
from decimal import Decimal, InvalidOperation

from core.aqi import AQIError, Category, SubIndex, eea, india, standards, us_epa
from core.aqi.standards import STANDARD_CODES as STANDARDS
from core.aqi.units import LABELS, convert, parse_unit, steps_to_decimal, to_decimal

__all__ = ["AQIError", "POLLUTANT_CODES", "STANDARDS", "calculate", "categories_of", "concentration_range",
           "table_unit"]

# US: pm25_1h / pm10_1h are hourly (NowCast-style) values read on the 24-hour table, as AirNow does.
POLLUTANT_CODES: dict[str, tuple[str, ...]] = {
    "us_epa": us_epa.POLLUTANT_CODES, "india_naqi": india.POLLUTANT_CODES, "eea": eea.POLLUTANT_CODES}
_MAX_DIGITS = 10  # 1e10 of any unit is far beyond air; see _concentration
_ALL_CODES = tuple(dict.fromkeys(code for codes in POLLUTANT_CODES.values() for code in codes))


def check(standard: str, pollutant: str) -> None:
    """AQIError unless `standard` is known and defines `pollutant`."""
    standards.standard(standard)
    if pollutant not in _ALL_CODES:
        raise AQIError(f"unknown pollutant {pollutant!r}; known codes: {', '.join(_ALL_CODES)}")
    if pollutant not in POLLUTANT_CODES[standard]:
        raise AQIError(f"pollutant {pollutant!r} is not defined by {standard}; it accepts: "
                       f"{', '.join(POLLUTANT_CODES[standard])}")


def categories_of(standard: str) -> tuple[Category, ...]:
    """The standard's categories in order (EEA: levels 1..6)."""
    return standards.standard(standard).categories


def table_unit(standard: str, pollutant: str) -> str:
    """Unit code of the standard's own table for the pollutant (US O3/CO ppm, SO2/NO2 ppb; India CO mg/m³…)."""
    check(standard, pollutant)
    if standard == "eea":
        return eea.UNIT
    return (us_epa.SCALES if standard == "us_epa" else india.SCALES)[pollutant].unit


def _species(pollutant: str) -> str:
    return pollutant.split("_")[0]


def _concentration(value: float | str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str, Decimal)):
        raise AQIError(f"concentration must be a number, got {value!r}")
    try:
        number = to_decimal(value)
    except InvalidOperation:
        raise AQIError(f"concentration must be a number, got {value!r}") from None
    if not number.is_finite():
        raise AQIError(f"concentration must be a finite number, got {value!r}")
    if number < 0:
        raise AQIError(f"concentration must not be negative, got {value!r}")
    if number.adjusted() >= _MAX_DIGITS:  # also keeps exact integer arithmetic from growing without bound
        raise AQIError(f"concentration {value!r} is too large for a concentration in air")
    return number


def _units(standard: str, pollutant: str, unit: str | None) -> tuple[str, str]:
    own = table_unit(standard, pollutant)
    return own, own if unit is None else parse_unit(unit)


def _assess(standard: str, pollutant: str, value: Decimal, on: date | None = None) -> SubIndex:
    if standard == "us_epa":
        return us_epa.assess(pollutant, value, on)
    return {"india_naqi": india.assess, "eea": eea.assess}[standard](pollutant, value)


def calculate(standard: str, pollutant: str, concentration: float | str, unit: str | None = None,
              on: date | None = None) -> dict:
    """Index of one concentration: aqi, category, color, health_message, sensitive_groups, and note when relevant.

    unit defaults to the standard's own for the pollutant; others are converted at 25 °C, 1 atm. EEA gives
    "level" (1..6) and aqi None. US: sensitive groups only above 100, the cautionary statement of the category,
    PM2.5 on the table in force `on` (None: 2024). AQIError for an unknown standard, pollutant or unit, a
    pollutant the standard does not define, a unit that does not apply (ppb for PM), or a negative,
    non-numeric or non-finite value.
    """
    check(standard, pollutant)
    value = _concentration(concentration)
    own, used = _units(standard, pollutant, unit)
    sub = _assess(standard, pollutant, convert(value, used, own, _species(pollutant)), on)
    category = standards.category(standard, sub.category)
    advice = standards.advice(standard, _species(pollutant), sub.category)
    result = {"standard": standard, "pollutant": pollutant, "concentration": float(value), "unit": LABELS[used],
              "aqi": None if standard == "eea" else sub.value, "category": category.name, "color": category.color,
              "health_message": advice["health_message"],
              "sensitive_groups": advice["sensitive_groups"]}
    if advice["cautionary_statement"]:
        result["cautionary_statement"] = advice["cautionary_statement"]
    if standard == "eea":
        result["level"] = sub.value
    if sub.note:
        result["note"] = sub.note
    return result


def concentration_range(standard: str, pollutant: str, aqi: int, unit: str | None = None) -> dict:
    """Concentrations (low, high; high None when open) that give index `aqi` (EEA: level 1..6).

    US and India: the truncated concentrations whose rounded index is exactly `aqi`. AQIError for a
    negative or non-integer aqi, one the pollutant's table does not give, or any calculate() input error.
    """
    check(standard, pollutant)
    if isinstance(aqi, bool) or not isinstance(aqi, numbers.Integral):
        raise AQIError(f"the index must be a whole number, got {aqi!r}")
    aqi = int(aqi)
    if aqi < 0:
        raise AQIError(f"the index must not be negative, got {aqi}")
    if standard == "india_naqi" and aqi > 500:
        raise AQIError(f"India's AQI runs from 0 to 500, not {aqi}")
    own, used = _units(standard, pollutant, unit)
    if standard == "eea":
        low, high = (None if v is None else Decimal(v) for v in eea.interval(pollutant, aqi))
        category = aqi - 1
    else:
        scale = (us_epa.SCALES if standard == "us_epa" else india.SCALES)[pollutant]
        low_steps, high_steps = scale.interval(aqi)
        low = steps_to_decimal(low_steps, scale.decimals)
        high = None if high_steps is None else steps_to_decimal(high_steps, scale.decimals)
        category = _assess(standard, pollutant, low).category
    species = _species(pollutant)
    low_used = float(convert(low, own, used, species))
    high_used = None if high is None else float(convert(high, own, used, species))
    info = categories_of(standard)[category]
    return {"standard": standard, "pollutant": pollutant, "aqi": aqi, "category": info.name, "color": info.color,
            "low": low_used, "high": high_used, "unit": LABELS[used]}

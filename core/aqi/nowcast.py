"""EPA NowCast for PM2.5/PM10 (12 h) and the legacy AirNow ozone NowCast (8 h, 2016–2019)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from core.aqi import AQIError, us_epa
from core.aqi.categories import position
from core.aqi.units import steps_to_decimal, to_decimal, truncate_steps


@dataclass(frozen=True)
class Method:
    """How many hours a NowCast looks back and the floor on its weight factor (None: no floor)."""

    hours: int
    min_weight: float | None


# Ozone: EPA's current method is a two-week regression; we use the published legacy 8-hour one.
METHODS: dict[str, Method] = {"pm25": Method(12, 0.5), "pm10": Method(12, 0.5), "o3": Method(8, None)}
NEEDS_RECENT = "needs at least 2 of the 3 most recent hours"


@dataclass(frozen=True)
class NowCastResult:
    """A NowCast (not truncated; µg/m³ for PM, ppb for O3), its weight factor, or why there is none."""

    value: float | None
    weight: float | None
    reason: str | None = None


def _method(pollutant: str) -> Method:
    if pollutant not in METHODS:
        raise AQIError(f"NowCast is defined for {', '.join(METHODS)}, not {pollutant!r}")
    return METHODS[pollutant]


def nowcast(pollutant: str, hourly: Sequence[float | None]) -> NowCastResult:
    """NowCast of hourly values, newest first (hourly[0] = this hour); None or NaN for a missing hour.

    Negative hours (instrument noise near zero) count as they are, as AirNow does; a NowCast below zero reads
    as index 0. AQIError for an unknown pollutant or an infinite value.
    """
    method = _method(pollutant)
    window = [None if v is None or math.isnan(v) else float(v) for v in list(hourly)[:method.hours]]
    if any(v is not None and math.isinf(v) for v in window):
        raise AQIError("hourly values must be finite numbers")
    if sum(v is not None for v in window[:3]) < 2:
        return NowCastResult(None, None, NEEDS_RECENT)
    valid = [(i, v) for i, v in enumerate(window) if v is not None]
    highest = max(v for _, v in valid)
    # Clean air (nothing above 0): no change to weigh, so equal hours weigh alike (the plain mean).
    weight = 1.0 if highest <= 0 else min(v for _, v in valid) / highest
    # A negative lowest hour gives a negative ratio: floored (PM) or, for ozone, held at 0 (newest hour alone).
    weight = max(weight, method.min_weight or 0.0)
    # Exponents count from the newest valid hour: the same ratio for any weight > 0, and for weight 0
    # (ozone has no floor) the limit of the formula, that hour alone, instead of 0/0.
    first = valid[0][0]
    factors = [(weight ** (i - first), v) for i, v in valid]
    return NowCastResult(sum(f * v for f, v in factors) / sum(f for f, _ in factors), weight)


def nowcast_array(pollutant: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NowCast per row of (n_stations, n_hours), newest first, NaN missing: (values, weights), NaN where invalid."""
    method = _method(pollutant)
    window = np.asarray(values, dtype=float)[:, :method.hours]
    if np.isinf(window).any():
        raise AQIError("hourly values must be finite numbers")
    if window.shape[1] < method.hours:  # missing older hours are just missing
        window = np.pad(window, ((0, 0), (0, method.hours - window.shape[1])), constant_values=np.nan)
    present = ~np.isnan(window)
    window = np.where(present, window, 0.0)
    ok = present[:, :3].sum(axis=1) >= 2
    highest = np.where(present, window, -np.inf).max(axis=1)
    lowest = np.where(present, window, np.inf).min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(highest > 0, lowest / np.where(highest > 0, highest, 1.0), 1.0)
    weight = np.maximum(weight, method.min_weight or 0.0)
    first = np.argmax(present, axis=1)
    exponent = np.maximum(np.arange(method.hours) - first[:, None], 0)
    factors = np.where(present, np.where(ok, weight, 1.0)[:, None] ** exponent, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = (factors * window).sum(axis=1) / factors.sum(axis=1)
    return np.where(ok, result, np.nan), np.where(ok, weight, np.nan)


# How EPA reports each NowCast (TAD 2024): unit, decimals kept by truncation, and the US table it is read on.
REPORTED: dict[str, tuple[str, int, str]] = {"pm25": ("µg/m³", 1, "pm25_1h"), "pm10": ("µg/m³", 0, "pm10_1h"),
                                             "o3": ("ppb", 0, "o3_8h")}


@dataclass(frozen=True)
class NowCastAQI:
    """A NowCast as EPA reports it (truncated), its weight, its US index and category position, or why none."""

    value: float | None
    weight: float | None
    aqi: int | None
    category: int  # position in us_epa.CATEGORIES, -1 without an index
    reason: str | None = None


def nowcast_aqi(pollutant: str, hourly: Sequence[float | None], on: date | None = None) -> NowCastAQI:
    """NowCast of hourly values (newest first; µg/m³ PM, ppb O3), truncated as reported, and its US EPA index.

    Ozone follows the same rule as the live map: the 8-hour NowCast is required, this hour's 1-hour value
    counts from 0.125 ppm and the higher index wins; an 8-hour value of 0.201 ppm or more needs it. PM2.5 is
    read on the table in force `on` (us_epa.pm25_scale; None: the 2024 table).
    """
    result = nowcast(pollutant, hourly)
    if result.value is None:
        return NowCastAQI(None, None, None, -1, result.reason)
    _, decimals, code = REPORTED[pollutant]
    # A NowCast below zero (noise around clean air) is reported as 0, AirNow's lowest value.
    steps = truncate_steps(to_decimal(max(result.value, 0.0)), decimals)
    value = float(steps_to_decimal(steps, decimals))
    if pollutant == "o3":
        # Whole ppb are the 8-h and 1-h tables' 0.001 ppm steps.
        this_hour = hourly[0] if len(hourly) and hourly[0] is not None else math.nan
        one_hour = math.nan if math.isnan(this_hour) else truncate_steps(to_decimal(max(this_hour, 0.0)), 0)
        index, undefined = us_epa.ozone_index_array(np.array([float(steps)]), np.array([float(one_hour)]))
        if undefined[0]:
            return NowCastAQI(value, result.weight, None, -1, us_epa.SCALES["o3_8h"].above_note)
        aqi = None if math.isnan(index[0]) else int(index[0])
        return NowCastAQI(value, result.weight, aqi, position(us_epa.CATEGORIES, aqi), None)
    sub = us_epa.assess(code, steps_to_decimal(steps, decimals), on)
    return NowCastAQI(value, result.weight, sub.value, sub.category, sub.note)

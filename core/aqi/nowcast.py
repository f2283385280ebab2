"""EPA NowCast for PM2.5/PM10 (12 h) and the legacy AirNow ozone NowCast (8 h, 2016–2019)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.aqi import AQIError


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

    Negative hours count as 0. AQIError for an unknown pollutant or an infinite value.
    """
    method = _method(pollutant)
    window = [None if v is None or math.isnan(v) else max(float(v), 0.0) for v in list(hourly)[:method.hours]]
    if any(v is not None and math.isinf(v) for v in window):
        raise AQIError("hourly values must be finite numbers")
    if sum(v is not None for v in window[:3]) < 2:
        return NowCastResult(None, None, NEEDS_RECENT)
    valid = [(i, v) for i, v in enumerate(window) if v is not None]
    highest = max(v for _, v in valid)
    if highest == 0:
        return NowCastResult(0.0, 1.0)  # all zeros: every weight gives 0, and equal hours weigh alike
    weight = min(v for _, v in valid) / highest
    if method.min_weight is not None:
        weight = max(weight, method.min_weight)
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
    window = np.where(present, np.maximum(window, 0.0), 0.0)
    ok = present[:, :3].sum(axis=1) >= 2
    highest = np.where(present, window, -np.inf).max(axis=1)
    lowest = np.where(present, window, np.inf).min(axis=1)
    zero = ok & (highest == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = lowest / highest
    weight = np.where(zero, 1.0, weight)
    if method.min_weight is not None:
        weight = np.maximum(weight, method.min_weight)
    first = np.argmax(present, axis=1)
    exponent = np.maximum(np.arange(method.hours) - first[:, None], 0)
    factors = np.where(present, np.where(ok, weight, 1.0)[:, None] ** exponent, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = (factors * window).sum(axis=1) / factors.sum(axis=1)
    return np.where(ok, result, np.nan), np.where(ok, weight, np.nan)

"""Corrections for low-cost PM2.5 sensors, whose readings run high in humid air and flatten out in heavy smoke."""
from __future__ import annotations

import numpy as np

# EPA's extended US-wide correction for PurpleAir CF=1 PM2.5 (Barkjohn, Holder, Frederick & Clements,
# "Correction and Accuracy of PurpleAir PM2.5 Measurements for Extreme Wildfire Smoke", Sensors 22(24) 9669,
# 2022, doi:10.3390/s22249669; as used on the AirNow Fire and Smoke Map):
#   PA < 570:         0.524·PA − 0.0862·RH + 5.75                 (the 2021 correction; 300 µg/m³ at 50 % RH)
#   570 ≤ PA < 611:   w·quadratic + (1 − w)·linear, w = 0.0244·PA − 13.9  (blends 0 → 1 across the range)
#   PA ≥ 611:         4.21e-4·PA² + 0.392·PA + 3.44                (400 µg/m³ at 611)
LINEAR_UP_TO, QUADRATIC_FROM = 570.0, 611.0


def _linear(cf1: np.ndarray, rh: np.ndarray) -> np.ndarray:
    return 0.524 * cf1 - 0.0862 * rh + 5.75


def _quadratic(cf1: np.ndarray) -> np.ndarray:
    return 4.21e-4 * cf1**2 + 0.392 * cf1 + 3.44


def epa_pm25_correction(cf1: float | np.ndarray, rh: float | np.ndarray) -> float | np.ndarray:
    """EPA's extended correction of CF=1 PM2.5 (µg/m³) with relative humidity (%), clipped at 0; NaN stays NaN.

    Linear up to 570 µg/m³ raw, blended into a quadratic by 611, quadratic above (smoke-level concentrations).
    """
    cf1, rh = np.asarray(cf1, dtype=float), np.asarray(rh, dtype=float)
    weight = np.clip(0.0244 * cf1 - 13.9, 0.0, 1.0)
    blended = weight * _quadratic(cf1) + (1.0 - weight) * _linear(cf1, rh)
    corrected = np.where(cf1 < LINEAR_UP_TO, _linear(cf1, rh), np.where(cf1 < QUADRATIC_FROM, blended, _quadratic(cf1)))
    # The quadratic ignores humidity, so NaN humidity would not show there: the hour cannot be corrected.
    corrected = np.where(np.isnan(rh), np.nan, np.maximum(corrected, 0.0))
    return float(corrected) if corrected.ndim == 0 else corrected

"""Corrections for low-cost PM2.5 sensors, whose readings run high in humid air."""
from __future__ import annotations

import numpy as np


def epa_pm25_correction(cf1: float | np.ndarray, rh: float | np.ndarray) -> float | np.ndarray:
    """EPA's 2021 US-wide correction: 0.524·CF=1 PM2.5 (µg/m³) − 0.0862·RH (%) + 5.75, clipped at 0; NaN stays NaN.

    Only this first range of EPA's formula is used: the later smoke-level ranges need a citable source.
    """
    corrected = np.maximum(0.524 * np.asarray(cf1, dtype=float) - 0.0862 * np.asarray(rh, dtype=float) + 5.75, 0.0)
    return float(corrected) if corrected.ndim == 0 else corrected

"""Which category of a scale holds an index: the one rounding rule every standard and layer uses."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.aqi import Category
from core.aqi.units import round_half_up_array


def band_positions(lows: Sequence[int], index: np.ndarray) -> np.ndarray:
    """Positions (int, -1 where the index is NaN) in bands starting at `lows`, indices rounded half up first.

    Reported indices are whole numbers (US: rounded half up), so an interpolated or averaged 50.4 is Good and
    50.5 Moderate; EEA levels are whole numbers already. The last band is open above.
    """
    rounded = round_half_up_array(np.asarray(index, dtype=float))
    found = np.searchsorted(np.asarray(lows[1:]), np.nan_to_num(rounded), side="right")
    return np.where(np.isnan(rounded), -1, found).astype(int)


def positions(categories: tuple[Category, ...], index: np.ndarray) -> np.ndarray:
    """band_positions of a standard's categories."""
    return band_positions([c.low for c in categories], index)


def position(categories: tuple[Category, ...], index: float | None) -> int:
    """positions() of one index; -1 for None or NaN."""
    return -1 if index is None else int(positions(categories, np.array([index], dtype=float))[0])

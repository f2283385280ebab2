"""IDW surfaces: each city's snapshot values interpolated on a grid, cached in the spatial namespace."""
from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from core.context import Context
from core.metrics import timed
from core.snapshots import marker_value, snapshot_at

GRID = 48  # cells per side of a city's surface
POWER = 2.0  # inverse-distance weighting exponent (the usual choice; AirNow's contours are smoother)


def idw_grid(lats: np.ndarray, lons: np.ndarray, values: np.ndarray, bounds: tuple[float, float, float, float],
             size: int = GRID, power: float = POWER) -> tuple[np.ndarray, np.ndarray]:
    """IDW of `values` on a size×size grid over bounds (min_lon, min_lat, max_lon, max_lat).

    Returns (z, nearest_km): rows run north to south (image order). Distances are equirectangular km, exact
    enough inside a city. A cell on a station takes that station's value.
    """
    min_lon, min_lat, max_lon, max_lat = bounds
    glat = np.linspace(max_lat, min_lat, size)
    glon = np.linspace(min_lon, max_lon, size)
    gy, gx = np.meshgrid(glat, glon, indexing="ij")
    kx = 111.32 * math.cos(math.radians((min_lat + max_lat) / 2))
    d = np.hypot((gx[..., None] - lons) * kx, (gy[..., None] - lats) * 110.57)  # (size, size, n)
    exact = d < 1e-9
    w = 1.0 / np.maximum(d, 1e-9) ** power
    z = (w * values).sum(axis=-1) / w.sum(axis=-1)
    if exact.any():
        hit = exact.any(axis=-1)
        z[hit] = values[exact.argmax(axis=-1)[hit]]
    return z, d.min(axis=-1)


def city_surface(stations: list[dict], pollutant: str, size: int = GRID) -> dict | None:
    """One city's surface: grid values, nearest-station distance and its bounds; None with < 3 values."""
    pts = [(s["lat"], s["lon"], marker_value(s, pollutant)) for s in stations]
    pts = [(la, lo, v) for la, lo, v in pts if v is not None and not math.isnan(v)]
    if len(pts) < 3:
        return None
    lats, lons, values = (np.array(c, dtype=float) for c in zip(*pts))
    pad_lat = max(np.ptp(lats), 0.05) * 0.12
    pad_lon = max(np.ptp(lons), 0.05) * 0.12
    bounds = (lons.min() - pad_lon, lats.min() - pad_lat, lons.max() + pad_lon, lats.max() + pad_lat)
    z, nearest = idw_grid(lats, lons, values, bounds, size)
    # Beyond ~1.5 typical station spacings IDW only extrapolates: leave those cells empty.
    spacing = _typical_spacing_km(lats, lons)
    return {"bounds": [float(b) for b in bounds], "z": z.round(1).tolist(),
            "mask": (nearest <= 1.5 * spacing).tolist(), "stations": len(pts)}


def _typical_spacing_km(lats: np.ndarray, lons: np.ndarray) -> float:
    kx = 111.32 * math.cos(math.radians(float(lats.mean())))
    d = np.hypot((lons[:, None] - lons) * kx, (lats[:, None] - lats) * 110.57)
    np.fill_diagonal(d, np.inf)
    return float(max(np.median(d.min(axis=1)), 2.0)) * 2


@timed("spatial", "surfaces")
def compute_surfaces(snapshot: dict, pollutant: str) -> dict[str, dict]:
    """{city: surface} for every city in the snapshot with at least three values."""
    by_city: dict[str, list[dict]] = {}
    for s in snapshot["stations"]:
        by_city.setdefault(s["city"], []).append(s)
    out = {}
    for city, group in sorted(by_city.items()):
        surface = city_surface(group, pollutant)
        if surface is not None:
            out[city] = surface
    return out


def surfaces(ctx: Context, standard: str, city: str | None, as_of: datetime | None,
             pollutant: str) -> dict[str, dict]:
    """compute_surfaces of snapshot_at, cached in the spatial namespace."""
    snapshot = snapshot_at(ctx, standard, city, as_of)
    hour = snapshot["as_of"].isoformat() if snapshot["as_of"] else None
    return ctx.cache.get_or_compute("spatial", ("idw", standard, city, hour, pollutant),
                                      lambda: compute_surfaces(snapshot, pollutant))

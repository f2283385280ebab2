"""The map's data beyond "now": snapshots at past hours, an IDW surface per city, and rankings by current AQI."""
from __future__ import annotations

import math
import struct
import zlib
from datetime import datetime, timezone

import numpy as np

from core.airquality import current, station_snapshot
from core.aqi.current import categories
from core.cache import get_cache
from core.db.engine import session as db_session
from core.metrics import timed

GRID = 48  # cells per side of a city's surface
POWER = 2.0  # inverse-distance weighting exponent (the usual choice; AirNow's contours are smoother)
SURFACE_ALPHA = 150  # 0–255: the surface must not hide the tiles or the markers


def hour_floor(ts: datetime) -> datetime:
    return ts.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def snapshot_at(standard: str, city: str | None, as_of: datetime | None) -> dict:
    """station_snapshot at a past hour (None or the newest hour: the cached current snapshot)."""
    latest = current(standard, city)
    if as_of is None or latest["as_of"] is None or hour_floor(as_of) >= latest["as_of"]:
        return latest
    hour = hour_floor(as_of)

    def compute() -> dict:
        with db_session() as session:
            return station_snapshot(session, standard, as_of=hour, city=city)
    # Past hours rarely change (late data only), so the current_aqi TTL is plenty.
    return get_cache().get_or_compute("current_aqi", (standard, city, hour.isoformat()), compute)


def marker_value(station: dict, pollutant: str) -> float | None:
    """The overall index or one pollutant's sub-index of a snapshot row."""
    if pollutant == "aqi":
        return station["aqi"]
    entry = station["pollutants"].get(pollutant)
    return entry["sub_index"] if entry else None


# -- inverse-distance weighting ----------------------------------------------------------------------------
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


def surfaces(standard: str, city: str | None, as_of: datetime | None, pollutant: str) -> dict[str, dict]:
    """compute_surfaces of snapshot_at, cached in the spatial namespace."""
    snapshot = snapshot_at(standard, city, as_of)
    hour = snapshot["as_of"].isoformat() if snapshot["as_of"] else None
    return get_cache().get_or_compute("spatial", ("idw", standard, city, hour, pollutant),
                                      lambda: compute_surfaces(snapshot, pollutant))


def surface_png(surface: dict, cats: list[dict], alpha: int = SURFACE_ALPHA) -> bytes:
    """The surface as an RGBA PNG coloured by category (transparent where masked or without a category)."""
    z = np.array(surface["z"], dtype=float)
    mask = np.array(surface["mask"], dtype=bool)
    rgba = np.zeros(z.shape + (4,), dtype=np.uint8)
    low = -np.inf
    for cat in cats:
        high = np.inf if cat["high"] is None else cat["high"]
        # Index bounds are integers with gaps (50 → 51): an interpolated 50.4 rounds into "Good".
        inside = (np.round(z) > low) & (np.round(z) <= high) & mask
        rgba[inside] = [*(int(cat["color"][i:i + 2], 16) for i in (1, 3, 5)), alpha]
        low = high
    return png_bytes(rgba)


def png_bytes(rgba: np.ndarray) -> bytes:
    """A minimal RGBA PNG encoder (no imaging library needed for a few-KB overlay)."""
    height, width, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[y].tobytes() for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


# -- rankings ----------------------------------------------------------------------------------------------
def city_index(stations: list[dict], pollutant: str = "aqi") -> dict | None:
    """A city's current index: the highest among its reference monitors (all stations if none report).

    Like an AirNow reporting area, the city reports its worst monitor; sensors count only without monitors.
    """
    def best(group):
        rows = [(marker_value(s, pollutant), s) for s in group]
        rows = [(v, s) for v, s in rows if v is not None and not math.isnan(v)]
        return max(rows, key=lambda r: r[0]) if rows else None
    top = best([s for s in stations if s["kind"] == "reference"]) or best(stations)
    if top is None:
        return None
    return {"value": top[0], "station": top[1]}


def rankings(snapshot: dict, standard: str, pollutant: str = "aqi") -> dict:
    """Cities and stations ordered by current index, worst first (stations without an index left out)."""
    cats = categories(standard)
    by_city: dict[str, list[dict]] = {}
    for s in snapshot["stations"]:
        by_city.setdefault(s["city"], []).append(s)
    cities = []
    for city, group in by_city.items():
        top = city_index(group, pollutant)
        values = [v for v in (marker_value(s, pollutant) for s in group) if v is not None]
        cities.append({"city": city, "value": top["value"] if top else None,
                       "category": _category(top["value"], cats) if top else None,
                       "worst_station": top["station"]["name"] if top else None,
                       "reporting": len(values), "stations": len(group)})
    stations = [{"id": s["id"], "name": s["name"], "city": s["city"], "kind": s["kind"],
                 "value": marker_value(s, pollutant), "category": _category(marker_value(s, pollutant), cats)}
                for s in snapshot["stations"]]
    stations = [s for s in stations if s["value"] is not None]
    key = lambda r: (-(r["value"] if r["value"] is not None else -1), r.get("city", ""), r.get("name", ""))  # noqa: E731
    return {"cities": sorted(cities, key=key), "stations": sorted(stations, key=key)}


def _category(value: float | None, cats: list[dict]) -> str | None:
    if value is None or math.isnan(value):
        return None
    for cat in cats:
        if cat["high"] is None or round(value) <= cat["high"]:
            return cat["name"]
    return cats[-1]["name"]

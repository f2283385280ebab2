"""Category bands like AirNow's contour maps: each pollutant's concentrations interpolated between stations,
turned into the standard's index and category cell by cell, and outlined as polygons no farther than a reach
from the nearest station; cached in the spatial namespace."""
from __future__ import annotations

import math
from datetime import datetime
from itertools import pairwise

import numpy as np
import shapely
from contourpy import FillType, contour_generator
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from core import catalog
from core.aqi.engine import HOURS, compute_indexes
from core.aqi.standards import standard as standard_of
from core.context import Context
from core.metrics import timed
from core.parameters import POLLUTANTS
from core.snapshots import check_standard, snapshot_at
from core.times import hour_floor

EARTH_KM = 6371.0
NEIGHBOURS = 8  # stations each cell is interpolated from (local IDW: far stations must not flatten the field)
POWER = 2.0  # inverse-distance weighting exponent
MAX_CELLS = 160  # cells along the longer side of a group's grid
KM_PER_DEG = 111.2  # km per degree of latitude
DECIMALS = 3  # polygon coordinates rounded to about 100 m


def project_km(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """(n, 3) points on the Earth's sphere in km: their straight-line distances are the great-circle ones to
    within 0.01 % up to a few hundred km, with no projection's shear or seams."""
    lat, lon = np.radians(lats), np.radians(lons)
    return EARTH_KM * np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def station_groups(xy: np.ndarray, link_km: float) -> np.ndarray:
    """Group label per station: stations closer than link_km to one another, directly or in a chain."""
    pairs = cKDTree(xy).query_pairs(link_km, output_type="ndarray")
    n = len(xy)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def idw(xy: np.ndarray, values: np.ndarray, cells: np.ndarray, reach_km: float,
        neighbours: int = NEIGHBOURS, power: float = POWER) -> np.ndarray:
    """IDW of station `values` at `cells` (both project_km points) from the nearest stations within reach; NaN
    beyond.

    A cell on a station takes that station's value.
    """
    k = min(neighbours, len(xy))
    distance, index = cKDTree(xy).query(cells, k=k, distance_upper_bound=reach_km)
    distance, index = distance.reshape(len(cells), k), index.reshape(len(cells), k)
    found = np.isfinite(distance)
    weight = np.where(found, 1.0 / np.maximum(np.where(found, distance, 1.0), 1e-6) ** power, 0.0)
    picked = values[np.where(found, index, 0)]
    z = np.full(len(cells), np.nan)
    near = found[:, 0]
    z[near] = (weight[near] * picked[near]).sum(axis=1) / weight[near].sum(axis=1)
    return z


def cell_km(xy: np.ndarray, reach_km: float) -> float:
    """Grid spacing for a group: half its typical station spacing, between reach / 20 and reach / 8."""
    if len(xy) < 2:
        return reach_km / 8
    spacing = float(np.median(cKDTree(xy).query(xy, k=2)[0][:, 1]))
    return float(np.clip(spacing / 2, reach_km / 20, reach_km / 8))


def group_grid(lats: np.ndarray, lons: np.ndarray, reach_km: float, step_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Regular lon and lat axes over the stations' box widened by the reach, about step_km apart (coarser when
    the box is wide: at most MAX_CELLS a side)."""
    km_lon = KM_PER_DEG * max(math.cos(math.radians(float(lats.mean()))), 0.2)
    west, east = float(lons.min()) - reach_km / km_lon, float(lons.max()) + reach_km / km_lon
    south = max(float(lats.min()) - reach_km / KM_PER_DEG, -85.0)
    north = min(float(lats.max()) + reach_km / KM_PER_DEG, 85.0)
    lat_step = max((north - south) / MAX_CELLS, step_km / KM_PER_DEG)
    lon_step = max((east - west) / MAX_CELLS, step_km / km_lon)
    return (np.linspace(west, east, round((east - west) / lon_step) + 1),
            np.linspace(south, north, round((north - south) / lat_step) + 1))


def index_grid(standard: str, concentrations: dict[str, np.ndarray]) -> np.ndarray:
    """The standard's index (EEA: level) per cell from each pollutant's interpolated concentration (NaN: none).

    Each cell is read as a station whose averaging window holds that concentration every hour, so NowCasts and
    means return it unchanged and the standard's own tables and rules (India's three sub-indices) apply.
    """
    shape = next(iter(concentrations.values())).shape
    flat = {p: z.ravel() for p, z in concentrations.items()}
    covered = np.any([~np.isnan(z) for z in flat.values()], axis=0)
    index = np.full(covered.size, np.nan)
    if covered.any():
        history = {p: np.repeat(z[covered, None], HOURS, axis=1) for p, z in flat.items()}
        index[covered] = compute_indexes(standard, history).aqi
    return index.reshape(shape)


def band_polygons(lon: np.ndarray, lat: np.ndarray, index: np.ndarray, lows: list[int],
                  tolerance: float) -> dict[int, list]:
    """{category position: polygons}, each polygon [outer ring, holes…] of [lon, lat]: the filled contours of the
    index between category bounds (reported indices are rounded half up: 50.5 is already Moderate), simplified
    to `tolerance` degrees."""
    generator = contour_generator(lon, lat, np.ma.masked_invalid(index), fill_type=FillType.OuterOffset)
    edges = [-1e9, *[low - 0.5 for low in lows[1:]], 1e9]
    bands = {}
    for position, (lower, upper) in enumerate(pairwise(edges)):
        points, offsets = generator.filled(lower, upper)
        if not points:
            continue
        shapes = [shapely.Polygon(ring[0], ring[1:]) for ring in
                  ([r for r in np.split(outer, offset[1:-1])] for outer, offset in zip(points, offsets))]
        simple = shapely.simplify(shapes, tolerance, preserve_topology=True)
        bands[position] = [[np.round(shapely.get_coordinates(ring), DECIMALS).tolist()
                            for ring in (shape.exterior, *shape.interiors)]
                           for shape in simple if not shape.is_empty]
    return bands


def _current_values(stations: list[dict], pollutant: str, stale_after_h: float) -> dict[str, np.ndarray]:
    """Coordinates and concentrations of the stations whose reading is current (stale ones are left out)."""
    rows = [(s["lat"], s["lon"], s["pollutants"][pollutant]["concentration"]) for s in stations
            if pollutant in s["pollutants"] and s["lat"] is not None
            and s.get("age_hours") is not None and s["age_hours"] <= stale_after_h]
    lat, lon, value = (np.array(c, dtype=float) for c in zip(*rows)) if rows else (np.empty(0),) * 3
    return {"lat": lat, "lon": lon, "value": value}


def compute_bands(snapshot: dict, standard: str, pollutant: str, reach_km: float, stale_after_h: float) -> dict:
    """{"bands": [{category, polygons}], "stations": used, "reach_km"}: each pollutant's concentrations (all of
    them for the overall index) interpolated, then categorised; stations within twice the reach of one another
    share a grid, and a cell farther than the reach from every station is left out."""
    series = {p: _current_values(snapshot["stations"], p, stale_after_h)
              for p in POLLUTANTS if pollutant in ("aqi", p)}
    series = {p: v for p, v in series.items() if v["value"].size}
    if not series:
        return {"bands": [], "stations": 0, "reach_km": reach_km}
    lats = np.concatenate([v["lat"] for v in series.values()])
    lons = np.concatenate([v["lon"] for v in series.values()])
    xy = project_km(lats, lons)
    groups = station_groups(xy, 2 * reach_km)
    pollutant_of = np.concatenate([[p] * v["value"].size for p, v in series.items()])
    values = np.concatenate([v["value"] for v in series.values()])
    lows = [c.low for c in standard_of(standard).categories]
    bands: dict[int, list] = {}
    for label in np.unique(groups):
        member = groups == label
        step = cell_km(np.unique(xy[member], axis=0), reach_km)
        lon_axis, lat_axis = group_grid(lats[member], lons[member], reach_km, step)
        grid_lon, grid_lat = np.meshgrid(lon_axis, lat_axis)
        cells = project_km(grid_lat.ravel(), grid_lon.ravel())
        concentrations = {p: idw(xy[member & (pollutant_of == p)], values[member & (pollutant_of == p)], cells,
                                 reach_km).reshape(grid_lat.shape)
                          for p in series if (member & (pollutant_of == p)).any()}
        tolerance = 0.6 * (lat_axis[1] - lat_axis[0]) if lat_axis.size > 1 else 0.0
        for position, polygons in band_polygons(lon_axis, lat_axis, index_grid(standard, concentrations), lows,
                                                tolerance).items():
            bands.setdefault(position, []).extend(polygons)
    used = len(np.unique(xy, axis=0))
    return {"bands": [{"category": k, "polygons": v} for k, v in sorted(bands.items())], "stations": used,
            "reach_km": reach_km}


@timed("spatial", "surfaces")
def compute_surfaces(snapshot: dict, standard: str, pollutant: str, reach_km: float, stale_after_h: float) -> dict:
    """compute_bands, timed."""
    return compute_bands(snapshot, standard, pollutant, reach_km, stale_after_h)


def surfaces(ctx: Context, standard: str, city: str | None, as_of: datetime | None, pollutant: str) -> dict:
    """The category bands of snapshot_at (compute_bands with the `map_surface_reach_km` and `stale_after_h`
    settings), cached in the spatial namespace; the snapshot is read only to compute a missing entry.

    ValueError for an unknown pollutant (aqi or one of POLLUTANTS) or standard, catalog.UnknownCity for a city
    the catalogue lacks, before anything is computed.
    """
    if pollutant not in ("aqi", *POLLUTANTS):
        raise ValueError(f"unknown pollutant {pollutant!r}; known: aqi, {', '.join(POLLUTANTS)}")
    check_standard(standard)
    catalog.check_city(ctx, city)
    hour = hour_floor(as_of) if as_of else snapshot_at(ctx, standard, city, None)["as_of"]
    reach, stale = ctx.settings.map_surface_reach_km, ctx.settings.stale_after_h
    return ctx.cache.get_or_compute(
        "spatial", ("bands", standard, city, hour.isoformat() if hour else None, pollutant, reach, stale),
        lambda: compute_surfaces(snapshot_at(ctx, standard, city, hour), standard, pollutant, reach, stale))

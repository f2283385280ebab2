"""Category bands from interpolated concentrations, without a database."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from core.interpolation import (
    band_polygons,
    compute_bands,
    idw,
    project_km,
    station_groups,
)


def _station(i, lat, lon, pm25, age=0):
    return {"id": i, "lat": lat, "lon": lon, "age_hours": age,
            "pollutants": {"pm25": {"concentration": pm25, "sub_index": None, "unit": "µg/m³"}}}


def test_idw_takes_the_station_value_on_a_station_stays_within_the_range_and_ends_at_the_reach():
    xy = project_km(np.array([40.0, 40.0, 40.5]), np.array([-100.0, -99.5, -100.0]))
    values = np.array([10.0, 50.0, 90.0])
    cells = project_km(np.array([40.0, 40.2, 45.0]), np.array([-100.0, -99.8, -100.0]))
    z = idw(xy, values, cells, reach_km=75)
    assert z[0] == pytest.approx(10.0)
    assert 10.0 < z[1] < 90.0
    assert np.isnan(z[2])  # 500 km from every station


def test_distances_are_true_at_any_longitude():
    # One degree of latitude is 111 km at lon -95 as at lon 0 (a projection centred on 0 would shear it).
    for lon in (0.0, -95.0, 150.0):
        a, b = project_km(np.array([33.0, 34.0]), np.array([lon, lon]))
        assert abs(np.linalg.norm(a - b) - 111.2) < 0.5


def test_stations_within_the_link_distance_share_a_group():
    xy = project_km(np.array([40.0, 40.5, 41.0, 10.0]), np.array([-100.0, -100.0, -100.0, 20.0]))
    groups = station_groups(xy, 150)
    assert groups[0] == groups[1] == groups[2] != groups[3]


def test_bands_split_the_index_at_the_rounded_category_bounds():
    lon, lat = np.linspace(0, 1, 11), np.linspace(0, 1, 11)
    index = np.tile(np.linspace(0, 100, 11), (11, 1))  # rises west to east
    bands = band_polygons(lon, lat, index, [0, 51, 101], tolerance=0)
    assert set(bands) == {0, 1}
    good = shapely.Polygon(bands[0][0][0])
    assert abs(good.bounds[2] - 0.505) < 1e-3  # 50.5 rounds to 51: Moderate starts there


def test_concentrations_are_interpolated_then_categorised_and_masked_beyond_the_reach():
    # Two clean stations and a polluted one 40 km east; a lone station far away; a stale one left out.
    stations = [_station(1, 40.0, -100.0, 5.0), _station(2, 40.1, -100.0, 6.0), _station(3, 40.0, -99.5, 60.0),
                _station(4, 30.0, -80.0, 3.0), _station(5, 40.05, -99.75, 300.0, age=5)]
    surface = compute_bands({"stations": stations}, "us_epa", "pm25", reach_km=30, stale_after_h=3)
    assert surface["stations"] == 4
    categories = {b["category"] for b in surface["bands"]}
    assert 0 in categories and 3 in categories  # Good, and PM2.5 NowCast 60 µg/m³ is Unhealthy
    assert 5 not in categories  # the stale 300 µg/m³ reading draws nothing
    good = shapely.MultiPolygon([shapely.Polygon(p[0], p[1:]) for b in surface["bands"] if b["category"] == 0
                                 for p in b["polygons"]])
    assert good.contains(shapely.Point(-80.0, 30.0)) and good.contains(shapely.Point(-100.0, 40.05))
    assert not good.contains(shapely.Point(-90.0, 35.0))  # far from every station: no band
    assert compute_bands({"stations": []}, "us_epa", "aqi", 30, 3)["bands"] == []

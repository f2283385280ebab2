"""IDW surfaces, without a database."""
from __future__ import annotations

import numpy as np

from core.interpolation import city_surface, idw_grid


def _station(i, lat, lon, aqi, kind="reference", city="A"):
    return {"id": i, "name": f"S{i}", "city": city, "kind": kind, "lat": lat, "lon": lon, "aqi": aqi,
            "pollutants": {"pm25": {"sub_index": aqi, "concentration": 10.0, "unit": "µg/m³"}}}


def test_idw_takes_the_station_value_on_a_station_and_stays_within_the_range_elsewhere():
    lats, lons, values = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]), np.array([10.0, 50.0, 90.0])
    z, nearest = idw_grid(lats, lons, values, (0.0, 0.0, 1.0, 1.0), size=11)
    assert z[-1, 0] == 10.0 and z[-1, -1] == 50.0 and z[0, 0] == 90.0  # rows run north to south
    assert nearest[-1, 0] == 0.0
    assert z.min() >= 10.0 and z.max() <= 90.0


def test_idw_of_equal_values_is_flat():
    z, _ = idw_grid(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.7, 0.2]), np.full(3, 42.0), (0, 0, 1, 1), size=6)
    assert np.allclose(z, 42.0)


def test_surface_needs_three_values_and_masks_far_cells():
    assert city_surface([_station(1, 0, 0, 10), _station(2, 0.1, 0.1, 20)], "aqi") is None
    surface = city_surface([_station(i, lat, lon, 30 + i) for i, (lat, lon) in
                            enumerate([(0, 0), (0.05, 0.02), (0.02, 0.06), (0.5, 0.5)])], "aqi", size=20)
    mask = np.array(surface["mask"])
    assert mask.any() and not mask.all()

"""IDW surfaces, the PNG overlay and the rankings, without a database."""
from __future__ import annotations

import struct
import zlib

import numpy as np

from core.aqi.current import categories
from core.spatial import city_index, city_surface, idw_grid, png_bytes, rankings, surface_png


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


def test_surface_png_is_a_valid_rgba_png_in_category_colours():
    surface = {"z": [[10.0, 75.0], [120.0, 400.0]], "mask": [[True, True], [True, False]]}
    data = surface_png(surface, categories("us_epa"), alpha=200)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (2, 2)
    idat = data.index(b"IDAT")
    raw = zlib.decompress(data[idat + 4: idat + 4 + struct.unpack(">I", data[idat - 4: idat])[0]])
    pixels = [raw[1:9], raw[10:18]]
    assert pixels[0][:4] == bytes([0x00, 0xE4, 0x00, 200])  # Good
    assert pixels[0][4:] == bytes([0xFF, 0xFF, 0x00, 200])  # Moderate
    assert pixels[1][:4] == bytes([0xFF, 0x7E, 0x00, 200])  # USG
    assert pixels[1][4:] == bytes([0, 0, 0, 0])  # masked: transparent
    assert png_bytes(np.zeros((1, 1, 4), np.uint8))[12:16] == b"IHDR"


def test_city_index_is_the_worst_reference_monitor_and_sensors_only_without_monitors():
    stations = [_station(1, 0, 0, 40), _station(2, 0, 0, 80), _station(3, 0, 0, 150, kind="low_cost")]
    assert city_index(stations)["value"] == 80
    assert city_index([_station(3, 0, 0, 150, kind="low_cost"), _station(1, 0, 0, None)])["value"] == 150
    assert city_index([_station(1, 0, 0, None)]) is None


def test_rankings_order_cities_and_stations_worst_first():
    snapshot = {"stations": [_station(1, 0, 0, 40, city="A"), _station(2, 0, 0, 160, city="B"),
                             _station(3, 0, 0, 90, city="A"), _station(4, 0, 0, None, city="C")]}
    ranked = rankings(snapshot, "us_epa")
    assert [c["city"] for c in ranked["cities"]] == ["B", "A", "C"]
    assert ranked["cities"][0]["category"] == "Unhealthy"
    assert ranked["cities"][2]["value"] is None
    assert [s["id"] for s in ranked["stations"]] == [2, 3, 1]

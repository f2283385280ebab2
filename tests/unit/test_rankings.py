"""City indexes and rankings, without a database."""
from __future__ import annotations

from core.rankings import city_index, rankings


def _station(i, lat, lon, aqi, kind="reference", city="A"):
    return {"id": i, "name": f"S{i}", "city": city, "kind": kind, "lat": lat, "lon": lon, "aqi": aqi,
            "pollutants": {"pm25": {"sub_index": aqi, "concentration": 10.0, "unit": "µg/m³"}}}


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

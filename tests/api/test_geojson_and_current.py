"""GeoJSON output of /stations and /aqi/current, and the current AQI by bounding box."""
from __future__ import annotations

import pytest

from dashboard.api.responses import feature_collection
from tests.api.test_api import STATIONS_PER_SEEDED_CITY, assert_error, get_json

DELHI_BBOX = (76.5, 28.0, 77.8, 29.2)
EMPTY_OCEAN_BBOX = (-30.0, -30.0, -29.0, -29.0)


def bbox(box: tuple[float, ...]) -> str:
    return ",".join(str(x) for x in box)


def geojson(client, path: str, **params) -> dict:
    response = client.get(path, query_string={**params, "format": "geojson"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/geo+json"
    return response.get_json()


def assert_valid_point_collection(body: dict) -> None:
    """RFC 7946: a FeatureCollection of Features whose geometry is a Point [lon, lat] (or null)."""
    assert body["type"] == "FeatureCollection"
    assert isinstance(body["features"], list)
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        if geometry is not None:
            assert geometry["type"] == "Point"
            lon, lat = geometry["coordinates"]
            assert -180 <= lon <= 180 and -90 <= lat <= 90


@pytest.mark.parametrize("path, params", [("/api/v1/stations", {"city": "Delhi"}),
                                          ("/api/v1/aqi/current", {"city": "Delhi"})])
def test_geojson_is_the_json_list_as_points_in_lon_lat_order_with_the_same_meta(client, path, params):
    _, plain = get_json(client, path, **params)
    body = geojson(client, path, **params)
    assert_valid_point_collection(body)
    assert body["meta"] == plain["meta"]
    assert [f["id"] for f in body["features"]] == [row["id"] for row in plain["data"]]
    for feature, row in zip(body["features"], plain["data"]):
        assert feature["geometry"]["coordinates"] == [row["lon"], row["lat"]]
        assert feature["properties"] == {k: v for k, v in row.items() if k not in ("lat", "lon")}
        lon, lat = feature["geometry"]["coordinates"]
        assert 76 < lon < 78 and 28 < lat < 29.5  # Delhi: longitude first


def test_geojson_keeps_pagination(client):
    body = geojson(client, "/api/v1/stations", limit=3, page=2)
    assert len(body["features"]) == 3
    assert body["meta"]["page"] == 2 and body["meta"]["limit"] == 3 and body["meta"]["found"] >= 24


def test_a_station_without_coordinates_has_a_null_geometry():
    row = {"id": 7, "lat": None, "lon": None, "name": "AirNow site without coordinates"}
    body = feature_collection({"data": [row], "meta": {"page": 1, "limit": 100, "found": 1}},
                              lambda r: {"name": r["name"]})
    assert_valid_point_collection(body)
    assert body["features"][0]["geometry"] is None


def test_unknown_format_is_a_400_naming_the_allowed_ones(client):
    error = assert_error(client, "/api/v1/stations", 400, "format", format="kml")
    assert "geojson" in error["message"]


# --------------------------------------------------------------------------- /aqi/current details


def test_current_aqi_in_a_bbox_has_only_the_stations_inside(client):
    _, body = get_json(client, "/api/v1/aqi/current", bbox=bbox(DELHI_BBOX), limit=1000)
    min_lon, min_lat, max_lon, max_lat = DELHI_BBOX
    assert body["meta"]["found"] == len(body["data"]) >= STATIONS_PER_SEEDED_CITY
    assert all(min_lon <= r["lon"] <= max_lon and min_lat <= r["lat"] <= max_lat for r in body["data"])
    assert {r["city"] for r in body["data"]} == {"Delhi"}


def test_current_aqi_bbox_and_city_combine(client):
    _, both = get_json(client, "/api/v1/aqi/current", bbox=bbox(DELHI_BBOX), city="London")
    assert both["data"] == [] and both["meta"]["found"] == 0


def test_current_aqi_in_an_empty_bbox_is_an_empty_page(client):
    code, body = get_json(client, "/api/v1/aqi/current", bbox=bbox(EMPTY_OCEAN_BBOX))
    assert code == 200 and body["data"] == [] and body["meta"]["found"] == 0


def test_current_aqi_bbox_as_geojson(client):
    body = geojson(client, "/api/v1/aqi/current", bbox=bbox(DELHI_BBOX), standard="india_naqi")
    assert_valid_point_collection(body)
    assert body["features"] and body["meta"]["standard"] == "india_naqi"


@pytest.mark.parametrize("value", ["1,2,3", "78,28,77,29", "a,b,c,d"])
def test_current_aqi_bad_bbox_is_a_400(client, value):
    assert_error(client, "/api/v1/aqi/current", 400, "bbox", "minLon,minLat,maxLon,maxLat", bbox=value)


def test_current_indices_are_whole_numbers_with_a_unit_per_pollutant(client):
    _, body = get_json(client, "/api/v1/aqi/current", city="Delhi")
    for row in body["data"]:
        assert row["aqi"] is None or isinstance(row["aqi"], int)
        for reading in row["pollutants"].values():
            assert reading["sub_index"] is None or isinstance(reading["sub_index"], int)
            assert reading["unit"] in {"µg/m³", "ppb", "ppm"}


@pytest.mark.parametrize("standard, pm25", [("us_epa", "NowCast (12 h)"), ("india_naqi", "24-hour mean"),
                                            ("eea", "1-hour value")])
def test_current_meta_says_how_each_concentration_is_formed(client, standard, pm25):
    _, body = get_json(client, "/api/v1/aqi/current", city="London", standard=standard)
    assert body["meta"]["averaging"]["pm25"] == pm25
    if standard == "us_epa":
        assert "NowCast" in body["meta"]["averaging"]["o3"]


def test_a_nul_character_in_a_parameter_is_a_400_not_a_database_error(client):
    assert_error(client, "/api/v1/stations", 400, "city", "NUL", city="Del\x00hi")


def test_a_huge_page_number_is_a_400_not_a_database_error(client):
    assert_error(client, "/api/v1/stations", 400, "page", page=str(10**30))

"""ETag / 304, Cache-Control per data namespace, and compression (gzip and brotli) of API responses."""
from __future__ import annotations

import gzip
import json

import brotli
import pytest

from dashboard.context import EXTENSION

CURRENT = "/api/v1/aqi/current?city=London"


def ttl(app, namespace: str) -> int:
    return app.server.extensions[EXTENSION].settings.ttl(namespace)


def test_a_success_carries_a_strong_etag_of_its_body(client):
    first, again = client.get(CURRENT), client.get(CURRENT)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert again.headers["ETag"] == etag
    assert client.get("/api/v1/aqi/current?city=Delhi").headers["ETag"] != etag


def test_if_none_match_with_the_current_etag_is_a_304_without_a_body(client, app):
    etag = client.get(CURRENT).headers["ETag"]
    response = client.get(CURRENT, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == f"public, max-age={ttl(app, 'current_aqi')}"


def test_if_none_match_with_a_stale_etag_sends_the_body(client):
    response = client.get(CURRENT, headers={"If-None-Match": '"not-the-current-one"'})
    assert response.status_code == 200 and response.get_json()["data"]


def test_a_compressed_representation_has_its_own_etag_and_revalidates(client):
    plain = client.get("/api/v1/stations").headers["ETag"]
    compressed = client.get("/api/v1/stations", headers={"Accept-Encoding": "br"})
    assert compressed.headers["Content-Encoding"] == "br"
    assert compressed.headers["ETag"] != plain  # a strong ETag names one exact byte sequence
    again = client.get("/api/v1/stations", headers={"Accept-Encoding": "br",
                                                    "If-None-Match": compressed.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path, namespace", [
    ("/api/v1/cities", "stations"),
    ("/api/v1/stations", "stations"),
    ("/api/v1/stations?format=geojson", "stations"),
    ("/api/v1/aqi/current", "current_aqi"),
    ("/api/v1/aqi/current?format=geojson&city=Lagos", "current_aqi"),
])
def test_cache_control_follows_the_namespace_ttl(client, app, path, namespace):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == f"public, max-age={ttl(app, namespace)}"


def test_station_and_measurements_cache_control(client, app):
    station = client.get("/api/v1/stations?limit=1").get_json()["data"][0]["id"]
    one = client.get(f"/api/v1/stations/{station}")
    assert one.headers["Cache-Control"] == f"public, max-age={ttl(app, 'stations')}"
    # New hours (and late readings) land as often as the current index changes.
    for fmt in ("json", "csv"):
        response = client.get(f"/api/v1/stations/{station}/measurements?format={fmt}")
        assert response.headers["Cache-Control"] == f"public, max-age={ttl(app, 'current_aqi')}"


def test_a_streamed_csv_has_no_etag(client):
    station = client.get("/api/v1/stations?limit=1").get_json()["data"][0]["id"]
    response = client.get(f"/api/v1/stations/{station}/measurements?format=csv")
    assert response.status_code == 200 and "ETag" not in response.headers


@pytest.mark.parametrize("path, max_age", [
    ("/api/v1/aqi/calculate?standard=us_epa&pollutant=pm25_24h&concentration=12", 86400),
    ("/api/v1/aqi/nowcast?pollutant=pm25&hourly=10,20,30", 86400),
    ("/api/v1/openapi.json", 3600),
    ("/api/v1/docs", 3600),
], ids=["calculate", "nowcast", "openapi", "docs"])
def test_answers_that_change_only_with_a_deployment_are_cached_longer(client, path, max_age):
    assert client.get(path).headers["Cache-Control"] == f"public, max-age={max_age}"


@pytest.mark.parametrize("path", ["/api/v1/stations?limit=5000", "/api/v1/stations/987654321", "/api/v1/nothing",
                                  "/api/v1/aqi/current?city=Atlantis"])
def test_errors_are_never_cached(client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


def test_brotli_is_used_when_the_client_accepts_it(client):
    plain = client.get("/api/v1/aqi/current?limit=100")
    assert len(plain.get_data()) > 1024
    response = client.get("/api/v1/aqi/current?limit=100", headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert len(response.get_data()) < len(plain.get_data())
    assert json.loads(brotli.decompress(response.get_data())) == plain.get_json()


def test_geojson_is_compressed_too(client):
    response = client.get("/api/v1/stations?format=geojson", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.get_data()))["type"] == "FeatureCollection"


def test_the_csv_stream_is_compressed_chunk_by_chunk_with_brotli(client):
    station = client.get("/api/v1/stations?limit=1").get_json()["data"][0]["id"]
    url = f"/api/v1/stations/{station}/measurements?format=csv"
    plain = client.get(url).get_data()
    response = client.get(url, headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br" and response.is_streamed
    assert brotli.decompress(response.get_data()) == plain

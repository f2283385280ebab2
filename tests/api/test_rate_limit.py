"""The per-client-address rate limit: X-RateLimit-* headers, and a 429 in the one error shape beyond it."""
from __future__ import annotations

import uuid

import pytest
from flask import Flask

from dashboard.context import EXTENSION
from tests.conftest import TEST_REDIS_URL

CALCULATE = "/api/v1/aqi/calculate?standard=us_epa&pollutant=pm25_24h&concentration=12"


def test_responses_report_the_configured_limit_and_what_is_left(client, app):
    amount = int(app.server.extensions[EXTENSION].settings.api_rate_limit.split("/")[0])
    first = client.get("/api/v1/cities")
    assert first.headers["X-RateLimit-Limit"] == str(amount)
    assert int(first.headers["X-RateLimit-Reset"]) > 0
    # One budget across every endpoint, not one per endpoint.
    second = client.get(CALCULATE)
    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1


@pytest.fixture(params=["memory", "redis"])
def tiny_limit_server(request, app_with) -> Flask:
    """An app of its own with a limit of 3 per minute, counted in memory or in Redis (not the shared app)."""
    server = app_with(api_rate_limit="3/minute", redis_url=TEST_REDIS_URL if request.param == "redis" else "").server
    assert type(server.extensions["api_limiter"].storage).__name__.lower().startswith(request.param)
    return server


def client_at(server: Flask, address: str):
    client = server.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def random_address() -> str:
    # Redis outlives the test run: a fresh address per test starts at a full budget.
    return "10." + ".".join(str(b) for b in uuid.uuid4().bytes[:3])


def test_beyond_the_limit_is_a_429_in_the_error_shape(tiny_limit_server):
    client = client_at(tiny_limit_server, random_address())
    remaining = [client.get(CALCULATE).headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    response = client.get(CALCULATE)
    assert response.status_code == 429
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(response.get_json()) == {"error"} and set(error) == {"code", "message"}
    assert error["code"] == "rate_limited"
    message = error["message"]
    assert "too many requests" in message and "3 per 1 minute" in message and "Retry-After" in message
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Limit"] == "3" and response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_limit_counts_every_endpoint_together(tiny_limit_server):
    client = client_at(tiny_limit_server, random_address())
    for path in ("/api/v1/aqi/nowcast?pollutant=pm25&hourly=1,2,3", CALCULATE, "/api/v1/openapi.json"):
        assert client.get(path).status_code == 200
    assert client.get("/api/v1/docs").status_code == 429


def test_each_client_address_has_its_own_budget(tiny_limit_server):
    busy, other = client_at(tiny_limit_server, random_address()), client_at(tiny_limit_server, random_address())
    for _ in range(4):
        busy.get(CALCULATE)
    assert busy.get(CALCULATE).status_code == 429
    assert other.get(CALCULATE).status_code == 200

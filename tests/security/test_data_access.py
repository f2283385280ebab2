"""Every Flask route has a role in the access table; the access settings reach the API, export and embed, and
answers needing a role are never public in shared caches."""
import base64
import uuid

import httpx
import pytest
from flask import Flask

from core.users import create_user
from dashboard import access

PASSWORD = "correct horse battery"


def basic(name: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


@pytest.fixture(scope="module")
def analyst(seeded_pg) -> str:
    name = f"analyst-{uuid.uuid4().hex[:6]}"
    create_user(seeded_pg, name, "analyst", PASSWORD)
    return name


def test_every_route_of_the_server_has_a_role(app):
    entries = access.table(app)
    missing = sorted({rule.endpoint for rule in app.server.url_map.iter_rules()} - set(entries))
    assert not missing, f"routes with no role in dashboard/access.py: {missing}"


def test_a_route_the_table_does_not_name_is_refused(pg_context):
    server = Flask(__name__)
    server.extensions["aqi"] = pg_context()
    server.add_url_rule("/stray", "stray", lambda: "ran")
    access.guard_routes(server, {})
    assert server.test_client().get("/stray").status_code == 403


def test_a_state_changing_route_needs_an_admin_whatever_it_declares(app_with):
    app = app_with()
    app.server.add_url_rule("/stray-post", "stray_post", access.public(lambda: "ran"), methods=["POST"])
    assert access.flask_routes(app)["stray_post"].access == "admin"


ANALYST_ONLY = ("/api/v1/cities", "/api/v1/aqi/current?city=Delhi", "/export/measurements.csv?station=1",
                "/embed/city/Delhi", "/embed/station/1", "/api/v1/stations/1/forecast")


def test_access_settings_reach_the_api_export_and_embed(live_server, analyst):
    base = live_server(access_map="analyst", access_forecast="analyst")
    for path in ANALYST_ONLY:
        assert httpx.get(f"{base}{path}").status_code == 401, path
    # HTTP Basic signs API clients in (pages, export and embed take the session cookie).
    for path in ("/api/v1/cities", "/api/v1/aqi/current?city=Delhi", "/api/v1/stations/1"):
        response = httpx.get(f"{base}{path}", headers=basic(analyst))
        assert response.status_code == 200, path
        cache_control = response.headers["Cache-Control"]
        assert "private" in cache_control and "public" not in cache_control, path


def test_public_data_stays_cacheable_by_shared_caches(live_server):
    response = httpx.get(f"{live_server()}/api/v1/cities")
    assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
    assert httpx.get(f"{live_server()}/healthz").status_code == 200

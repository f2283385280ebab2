"""The embed view: server-rendered, small, themable, and frameable only by the allowed origins."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dash.testing.wait import until

from core import context
from core.forecast.demo import tiny_model
from dashboard import create_app
from tests.conftest import settings_for_tests

CITY = "Delhi"


class _Page(BaseHTTPRequestHandler):
    """Serves one portal page holding an iframe of the embed URL given in the query string."""

    def do_GET(self):
        src = self.path.split("src=", 1)[1] if "src=" in self.path else ""
        from urllib.parse import unquote
        body = (f'<!doctype html><html><body style="background:#ccc;margin:8px">'
                f'<p>City portal</p><iframe id="frame" src="{unquote(src)}" width="380" height="470" '
                f'onload="document.title=\'loaded\'"></iframe></body></html>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def portal():
    """A second local HTTP server (another origin) that frames the embed; yields its origin."""
    servers = []

    def start() -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _settings(app):
    return app.server.extensions["aqi"].settings


def _open_in_portal(dash_duo, origin: str, path: str) -> None:
    from urllib.parse import quote
    dash_duo.driver.get(f"{origin}/?src={quote(dash_duo.server_url + path, safe='')}")
    until(lambda: dash_duo.driver.title == "loaded", timeout=15)
    dash_duo.driver.switch_to.frame(dash_duo.driver.find_element("id", "frame"))


# -- over HTTP (Flask client) -------------------------------------------------------------------------------
def test_embed_sends_frame_ancestors_from_the_setting_and_no_cookies(client, app, monkeypatch):
    monkeypatch.setattr(_settings(app), "embed_allowed_origins", "'self' https://portal.example.org")
    response = client.get(f"/embed/city/{CITY}")
    assert response.status_code == 200
    assert "frame-ancestors 'self' https://portal.example.org" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers
    page = response.get_data(as_text=True)
    assert 'id="embed-aqi"' in page and "plotly" not in page.lower() and "navbar" not in page
    assert client.get("/embed/city/Nowhere").headers["Content-Security-Policy"].endswith(
        "frame-ancestors 'self' https://portal.example.org")


def test_unknown_values_get_a_clear_message_not_a_stack_trace(client):
    for query, status, message in (
            ("/embed/city/Delhi?theme=neon", 400, "Unknown theme"),
            ("/embed/city/Delhi?standard=who", 400, "Unknown standard"),
            ("/embed/city/Delhi?pollutant=dust", 400, "Unknown pollutant"),
            ("/embed/city/Delhi?lang=xx", 400, "No translation for lang"),
            ("/embed/city/Delhi?refresh=2", 400, "refresh must be"),
            ("/embed/city/Atlantis", 404, "No city named"),
            ("/embed/station/999999", 404, "No active station"),
            ("/embed/station/abc", 404, "must be a number")):
        response = client.get(query)
        body = response.get_data(as_text=True)
        assert response.status_code == status, query
        assert message in body and "Traceback" not in body, (query, body)
        assert 'role="alert"' in body


def test_json_refresh_matches_the_page(client):
    data = client.get(f"/embed/city/{CITY}?format=json&standard=india_naqi&pollutant=pm25").get_json()
    assert data["standard"] == "india_naqi" and data["pollutant"] == "pm25"
    assert data["map"]["points"] and {p["kind"] for p in data["map"]["points"]} <= {"reference", "low_cost"}
    page = client.get(f"/embed/city/{CITY}?standard=india_naqi&pollutant=pm25").get_data(as_text=True)
    assert f'>{"—" if data["value"] is None else data["value"]}</div>' in page


def test_forecast_strip_says_unavailable_when_no_model_is_loaded(client):
    # The session app's model directory is an empty tmp dir.
    assert "Forecast unavailable" in client.get(f"/embed/city/{CITY}").get_data(as_text=True)


def test_forecast_strip_shows_the_next_three_days_from_the_model(seeded_pg, pg_url, tmp_path):
    tiny_model(tmp_path)
    ctx = context.build(settings_for_tests(database_url=pg_url, forecast_model_dir=str(tmp_path)))
    try:
        page = create_app(ctx=ctx).server.test_client().get(f"/embed/city/{CITY}").get_data(as_text=True)
    finally:
        ctx.close()
    assert page.count('class="day"') == 3 and "Forecast unavailable" not in page


def test_first_load_is_small(client):
    response = client.get(f"/embed/city/{CITY}", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"
    assert len(response.data) < 300_000


# -- in a real browser, inside an <iframe> on another origin ---------------------------------------------------
@pytest.mark.parametrize("theme, background", [("light", "rgb(255, 255, 255)"), ("dark", "rgb(18, 20, 23)")])
def test_embed_renders_in_an_iframe_from_an_allowed_origin(dash_duo, app, portal, shot, monkeypatch, theme,
                                                           background):
    origin = portal()
    monkeypatch.setattr(_settings(app), "embed_allowed_origins", f"'self' {origin}")
    dash_duo.start_server(app)
    _open_in_portal(dash_duo, origin, f"/embed/city/{CITY}?theme={theme}&refresh=30")
    dash_duo.wait_for_element("#embed-aqi", timeout=10)
    assert dash_duo.find_element("#embed-title").text == CITY
    assert dash_duo.driver.execute_script("return getComputedStyle(document.body).backgroundColor") == background
    assert len(dash_duo.find_elements("#embed-map [data-id]")) > 0
    strip = dash_duo.find_element("#embed-forecast").text
    assert strip == "Forecast unavailable" or len(dash_duo.find_elements("#embed-forecast .day")) == 3
    dash_duo.driver.switch_to.default_content()
    shot(f"embed_{theme}")


def test_embed_is_refused_in_an_iframe_from_another_origin(dash_duo, app, portal, shot, monkeypatch):
    allowed, other = portal(), portal()
    monkeypatch.setattr(_settings(app), "embed_allowed_origins", f"'self' {allowed}")
    dash_duo.start_server(app)
    _open_in_portal(dash_duo, other, f"/embed/city/{CITY}")
    # Chromium replaces a frame refused by frame-ancestors with its own error page.
    assert dash_duo.driver.execute_script("return document.URL").startswith("chrome-error://")
    assert not dash_duo.find_elements("#embed-aqi")
    dash_duo.driver.switch_to.default_content()
    shot("embed_refused")

"""axe-core on every page in a real browser: no serious or critical violation."""
from __future__ import annotations

import pytest


def _open(dash_duo, path: str, ready: str) -> None:
    dash_duo.driver.get(dash_duo.server_url + path)
    dash_duo.wait_for_element(ready, timeout=20)


@pytest.mark.parametrize("path, ready", [
    ("/", "#map-as-of"),
    ("/?city=Delhi&view=table", "#map-table-grid"),
    ("/?view=ranking", "#map-rank-cities"),
    ("/calculator", "#calc-standard"),
    ("/forecast", "#forecast-station"),
    ("/embed/city/Delhi", "body"),
    ("/login", "#name"),
])
def test_public_pages_have_no_serious_violations(dash_duo, app, axe, path, ready):
    dash_duo.start_server(app)
    _open(dash_duo, path, ready)
    if path.startswith("/?") or path == "/":
        dash_duo.wait_for_contains_text("#map-as-of", "stations reporting", timeout=20)
    assert axe() == []


def test_the_station_panel_has_no_serious_violations(dash_duo, app, axe):
    from core import catalog
    station = catalog.stations(app.server.extensions["aqi"], "Delhi")[0]
    dash_duo.start_server(app)
    _open(dash_duo, f"/?city=Delhi&station={station['id']}", "#map-as-of")
    dash_duo.wait_for_element("#map-station-panel .js-plotly-plot", timeout=20)
    assert axe() == []


def test_operator_and_admin_pages_have_no_serious_violations(dash_duo, app, axe, admin_login):
    dash_duo.start_server(app)
    admin_login(dash_duo, "/performance")
    dash_duo.wait_for_element("#perf-window", timeout=20)
    assert axe() == []
    _open(dash_duo, "/admin", "#admin-history")
    assert axe() == []

"""The forecast page in a real browser: chart, daily strip, skill table, explanation; and the model-missing message."""
from __future__ import annotations

import pytest

from core import context
from core.forecast.demo import tiny_model
from dashboard import create_app
from tests.conftest import settings_for_tests


@pytest.fixture(scope="module")
def app_with_model(seeded_pg, pg_url, tmp_path_factory):
    """The dashboard on the seeded database with a small trained model in its model directory."""
    directory = tmp_path_factory.mktemp("models")
    tiny_model(directory)
    ctx = context.build(settings_for_tests(database_url=pg_url, forecast_model_dir=str(directory)))
    yield create_app(ctx=ctx)
    ctx.close()


def test_forecast_page_shows_band_daily_strip_skill_and_explanation(dash_duo, app_with_model, shot):
    dash_duo.start_server(app_with_model)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/forecast")
    dash_duo.wait_for_element("#forecast-skill-table", timeout=60)
    dash_duo.wait_for_contains_text("#forecast-version", "20260101000000", timeout=20)
    assert len(dash_duo.find_elements("#forecast-daily .forecast-day")) == 3
    names = dash_duo.driver.execute_script(
        "return document.querySelector('#forecast-graph .js-plotly-plot').data.map(t => t.name)")
    assert {"Observed", "p10–p90", "Forecast (p50)"} <= set(names)
    assert "Best baseline" in dash_duo.find_element("#forecast-skill-table").text
    assert "past readings and weather only" in dash_duo.find_element("#forecast-model").text
    dash_duo.wait_for_element("#forecast-reliability .js-plotly-plot")
    dash_duo.wait_for_element("#forecast-explain .js-plotly-plot")
    shot("forecast")


def test_forecast_page_says_the_model_is_missing_and_how_to_fix_it(dash_duo, app):
    # The session app's model directory is an empty tmp dir.
    dash_duo.start_server(app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/forecast")
    dash_duo.wait_for_element("#forecast-model-missing", timeout=30)
    text = dash_duo.find_element("#forecast-status").text
    assert "Forecasts are unavailable" in text and "python app.py train" in text
    dash_duo.wait_for_element("#forecast-graph .js-plotly-plot")  # observed data still shown

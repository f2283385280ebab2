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


@pytest.fixture(scope="module", autouse=True)
def cams_rows(seeded_pg):
    """CAMS as published for every seeded city over the 72 h before and after the newest hour (PM2.5 and O3)."""
    from datetime import timedelta

    import numpy as np
    from sqlalchemy import delete, func, select

    from core.db.models import CamsForecast, City, Measurement
    from core.db.queries import utc

    with seeded_pg.begin() as conn:
        newest = utc(conn.execute(select(func.max(Measurement.ts))).scalar_one())
        cities = list(conn.execute(select(City.id)).scalars())
        conn.execute(CamsForecast.__table__.insert(), [
            {"city_id": city, "parameter": parameter, "ts": newest + timedelta(hours=h), "unit": unit,
             "value": round(base + 8 * np.sin(h * np.pi / 12), 2), "fetched_at": newest}
            for city in cities for parameter, unit, base in (("pm25", "µg/m³", 30.0), ("o3", "ppb", 35.0))
            for h in range(-72, 73)])
    yield
    with seeded_pg.begin() as conn:
        conn.execute(delete(CamsForecast))


def test_forecast_page_draws_cams_as_published_and_says_it_had_past_inputs_only(dash_duo, app_with_model, shot):
    dash_duo.start_server(app_with_model)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/forecast")
    dash_duo.wait_for_element("#forecast-skill-table", timeout=60)
    names = dash_duo.driver.execute_script(
        "return document.querySelector('#forecast-graph .js-plotly-plot').data.map(t => t.name)")
    assert {"Observed", "Forecast (p50)", "CAMS as published"} <= set(names)
    points = dash_duo.driver.execute_script(
        "return document.querySelector('#forecast-graph .js-plotly-plot').data"
        ".find(t => t.name === 'CAMS as published').y.length")
    assert points == 145  # the 72 h before the newest hour, that hour and the 72 after
    assert "Past inputs only: no weather forecast" in dash_duo.find_element("#forecast-model").text
    shot("forecast-cams")


def test_forecast_page_says_the_weather_source_is_down_when_its_last_fetch_failed(dash_duo, app_with_model,
                                                                                 seeded_pg):
    from datetime import datetime, timezone

    from sqlalchemy import delete

    from core.db.models import FeedCursor

    with seeded_pg.begin() as conn:
        conn.execute(FeedCursor.__table__.insert(), [{
            "source": "open-meteo", "newest_hour": None, "last_run_at": datetime(2026, 11, 20, 12, 5, tzinfo=timezone.utc),
            "last_rows": 0, "last_error": "https://api.open-meteo.com/v1/forecast: HTTP 503 (after 5 attempts)",
            "failures": 3}])
    try:
        dash_duo.start_server(app_with_model)
        dash_duo.wait_for_page(url=f"{dash_duo.server_url}/forecast")
        dash_duo.wait_for_contains_text("#forecast-model", "the weather source is down", timeout=60)
        text = dash_duo.find_element("#forecast-model").text
        assert "Past inputs only: no weather forecast" in text and "2026-11-20 12:05 UTC" in text
        assert "503" not in text and "api.open-meteo.com" not in text  # the upstream error stays in the panel
    finally:
        with seeded_pg.begin() as conn:
            conn.execute(delete(FeedCursor).where(FeedCursor.source == "open-meteo"))

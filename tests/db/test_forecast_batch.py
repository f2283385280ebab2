"""The hourly batch stores forecasts in PostgreSQL and the service reads them back."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import context
from core.db.models import Forecast, Measurement, Station
from core.forecast import ModelUnavailable, service
from core.forecast.demo import tiny_model
from tests.conftest import SEED_END, SEED_STATIONS, settings_for_tests


@pytest.fixture(scope="module")
def with_model(seeded_pg, pg_settings, tmp_path_factory):
    """A context on the seeded database whose model directory holds a small trained model."""
    directory = tmp_path_factory.mktemp("models")
    tiny_model(directory)
    return context.build(settings_for_tests(database_url=pg_settings.database_url, forecast_model_dir=str(directory)),
                         engine=seeded_pg)


def test_batch_stores_72_hours_of_both_parameters_for_every_station(seeded_pg, with_model):
    result = service.run_batch(with_model)
    with service.Session(seeded_pg) as session:  # other tests may have imported stations and hours
        active = len(service.queries.stations(session, active=True))
        newest = service.queries.latest_hour(session)
    # Stations other tests imported without recent readings are skipped (counted), never forecast from nothing.
    assert result["stations"] + result["skipped"] == active and result["stations"] >= SEED_STATIONS
    assert result["issued_at"] == newest >= SEED_END
    with seeded_pg.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Forecast)
                             .where(Forecast.issued_at == newest)).scalar_one()
        bad = conn.execute(select(func.count()).select_from(Forecast)
                           .where((Forecast.p10 > Forecast.p50) | (Forecast.p50 > Forecast.p90))).scalar_one()
        # Only what a station measures is forecast (a PM2.5 sensor gets no ozone forecast).
        pairs = (select(Measurement.station_id, Measurement.parameter).distinct()
                 .where(Measurement.parameter.in_(["pm25", "o3"]), Measurement.ts > newest - timedelta(hours=48))
                 .subquery())
        measured = conn.execute(select(func.count()).select_from(pairs)).scalar_one()
    assert count == measured * 72 and bad == 0
    again = service.run_batch(with_model)  # rerunning an hour replaces its issue, never duplicates it
    assert again["stations"] == result["stations"]


def test_service_reads_the_stored_forecast_with_aqi_of_the_median(seeded_pg, with_model):
    service.run_batch(with_model)
    with service.Session(seeded_pg) as session:
        station_id = service.queries.stations(session)[0]["id"]
        newest = service.queries.latest_hour(session)
    forecast = service.forecast_for_station(with_model, station_id, "pm25", hours=24)
    assert forecast["issued_at"] == newest and forecast["unit"] == "µg/m³"
    assert forecast["model_version"] == "20260101000000"
    assert len(forecast["data"]) == 24
    first = forecast["data"][0]
    assert first["time"] == newest + timedelta(hours=1)
    assert first["p10"] <= first["p50"] <= first["p90"]
    assert isinstance(first["aqi"], int) and first["category"]
    days = service.daily_categories(with_model, station_id)
    assert len(days) == 3 and all(d["category"] and d["color"].startswith("#") for d in days)
    explanation = service.explain(with_model, station_id, "o3")
    assert explanation["attributions"] and {"feature", "contribution"} <= explanation["attributions"][0].keys()


def test_a_parameter_a_station_does_not_measure_gets_a_clear_message_naming_the_station(seeded_pg, with_model):
    with seeded_pg.connect() as conn:
        measures_o3 = select(Measurement.station_id).where(Measurement.parameter == "o3")
        station_id, name = conn.execute(select(Station.id, Station.name).where(Station.id.not_in(measures_o3))
                                        .limit(1)).one()
    with pytest.raises(service.InsufficientHistory) as raised:
        service.compute_forecast(with_model, station_id, "o3")
    message = str(raised.value)
    assert f"station {station_id} ({name}) has 0 O3 reading(s) in the 48 hours" in message
    assert "needs at least 6" in message and "nan" not in message.lower()


def test_service_rejects_unknown_parameter_and_station(with_model):
    with pytest.raises(ValueError, match="parameter"):
        service.forecast_for_station(with_model, 1, "no2")
    with pytest.raises(LookupError):
        service.compute_forecast(with_model, 999_999, "pm25")


def test_service_raises_model_unavailable_without_a_model(pg_ctx):
    # The shared context's model directory is empty.
    with pytest.raises(ModelUnavailable, match="python app.py train"):
        service.forecast_for_station(pg_ctx, 1, "pm25")

"""Open-Meteo weather and CAMS against a local server replaying recorded answers, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, select
from werkzeug import Response

from core import feeds
from core.db import migrate
from core.db.models import CamsForecast, City, FeedCursor, JobRun, Station, Weather
from core.db.queries import utc
from core.feeds import open_meteo
from core.feeds.http import FeedError
from core.settings import load_settings
from tests.conftest import migrated_engine, private_database

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "open_meteo"
ENSCHEDE = (52.2215, 6.8937)
BARCELONA = (41.3874, 2.1686)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """An empty migrated database with two cities: Enschede (two stations) and Barcelona (none located)."""
    with migrated_engine(request.param, tmp_path, "aqi_weather") as engine:
        yield from _with_cities(engine)


def _with_cities(engine):
    with engine.begin() as conn:
        conn.execute(City.__table__.insert(), [
            {"id": 1, "name": "Enschede", "country": "NL", "timezone": "Europe/Amsterdam", "lat": 52.0, "lon": 7.0},
            {"id": 2, "name": "Barcelona", "country": "ES", "timezone": "Europe/Madrid",
             "lat": BARCELONA[0], "lon": BARCELONA[1]}])
        conn.execute(Station.__table__.insert(), [
            {"code": "a", "name": "A", "city_id": 1, "lat": ENSCHEDE[0] - 0.01, "lon": ENSCHEDE[1] - 0.01,
             "kind": "reference", "source": "openaq", "active": True},
            {"code": "b", "name": "B", "city_id": 1, "lat": ENSCHEDE[0] + 0.01, "lon": ENSCHEDE[1] + 0.01,
             "kind": "reference", "source": "openaq", "active": True}])
    yield engine


def settings_for(engine, server, **overrides):
    return load_settings(**{"database_url": str(engine.url.render_as_string(hide_password=False)),
                            "environment": "test", "feed_retries": 2, "feed_timeout_s": 5, "feed_backfill_days": 1,
                            "open_meteo_forecast_url": server.url_for("/v1/forecast"),
                            "open_meteo_archive_url": server.url_for("/v1/archive"),
                            "open_meteo_air_quality_url": server.url_for("/v1/air-quality"), **overrides})


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def weather_rows(engine, city_id: int) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(select(Weather).where(Weather.city_id == city_id).order_by(Weather.ts), conn)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def only_enschede(engine):
    with engine.begin() as conn:  # one location per request: the single-object answers
        conn.execute(City.__table__.delete().where(City.id == 2))


# --------------------------------------------------------------------------- migration


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migration_0007_labels_existing_weather_observed_and_downgrades_cleanly(dialect, tmp_path):
    from sqlalchemy import inspect, text

    def round_trip(engine):
        migrate.upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO cities (id, name, country, timezone, lat, lon) "
                              "VALUES (1, 'Enschede', 'NL', 'Europe/Amsterdam', 52.2, 6.9)"))
            conn.execute(text("INSERT INTO weather (city_id, ts, temperature_c) VALUES (1, '2026-10-02 22:00:00', 9.5)"))
        migrate.upgrade(engine, "0007")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT source FROM weather")).scalar_one() == "observed"
        assert "cams_forecasts" in inspect(engine).get_table_names()
        migrate.downgrade(engine, "0005")
        assert "source" not in [c["name"] for c in inspect(engine).get_columns("weather")]
        assert "cams_forecasts" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT temperature_c FROM weather")).scalar_one() == 9.5
        engine.dispose()

    if dialect == "sqlite":
        round_trip(create_engine(f"sqlite:///{tmp_path / 'migrate.db'}"))
        return
    with private_database("aqi_weather_migrate") as url:
        round_trip(create_engine(url))


# --------------------------------------------------------------------------- forecast


def test_one_request_carries_every_city_and_the_list_answer_fills_each_citys_hours(engine, httpserver):
    httpserver.expect_request("/v1/forecast").respond_with_data(fixture("multi_location_unixtime.json"),
                                                                content_type="application/json")
    now = datetime(2022, 7, 12, 6, 20, tzinfo=timezone.utc)
    report = feeds.fetch(engine, settings_for(engine, httpserver), open_meteo.SOURCE, now=now)

    assert report.ok and report.requests == 1
    (request, _), = httpserver.log
    args = request.args
    # Enschede at its stations' centroid, Barcelona (no located station) at the city's own point.
    assert args["latitude"] == f"{ENSCHEDE[0]},{BARCELONA[0]}" and args["longitude"] == f"{ENSCHEDE[1]},{BARCELONA[1]}"
    assert (args["wind_speed_unit"], args["timezone"], args["timeformat"]) == ("ms", "GMT", "unixtime")
    assert args["hourly"].split(",") == list(open_meteo.HOURLY)
    assert args["past_days"] == "2"  # the first run starts feed_backfill_days back: 1 day and 6 h
    for city in (1, 2):
        rows = weather_rows(engine, city)
        assert len(rows) == 48 and set(rows["source"]) == {"forecast"}
        assert rows["ts"].iloc[0] == pd.Timestamp("2022-07-12T00:00Z")
        assert rows["temperature_c"].eq(20.0).all() and rows["wind_speed_ms"].round(3).eq(2.778).all()
        assert rows["humidity_pct"].isna().all()  # not in the answer: missing, not zero
    assert report.newest_hour == datetime(2022, 7, 12, 6, tzinfo=timezone.utc)  # the lag is the last good run's
    assert report.rows == 96
    again = feeds.fetch(engine, settings_for(engine, httpserver), open_meteo.SOURCE, now=now)
    assert again.ok and again.rows == 0  # the same forecast again changes nothing


def test_observed_hours_are_never_overwritten_and_a_newer_forecast_replaces_an_older_one(engine, httpserver):
    only_enschede(engine)
    now = datetime(2026, 10, 2, 22, 30, tzinfo=timezone.utc)  # 22:00 is past, 23:00 and 00:00 are to come
    with engine.begin() as conn:
        conn.execute(Weather.__table__.insert(), [{"city_id": 1, "ts": datetime(2026, 10, 2, 22, tzinfo=timezone.utc),
                                                   "temperature_c": 9.5, "humidity_pct": 80.0}])
    body = json.loads(fixture("forecast_enschede.json"))
    httpserver.expect_ordered_request("/v1/forecast").respond_with_json(body)
    changed = {**body, "hourly": {**body["hourly"], "temperature_2m": [1.0, 2.0, 3.0]}}
    httpserver.expect_ordered_request("/v1/forecast").respond_with_json(changed)
    settings = settings_for(engine, httpserver)

    feeds.fetch(engine, settings, open_meteo.SOURCE, now=now)
    rows = weather_rows(engine, 1).set_index("ts")
    assert list(rows["source"]) == ["observed", "forecast", "forecast"]
    assert rows["temperature_c"].tolist() == [9.5, 11.2, 11.0]
    assert rows["pressure_hpa"].tolist()[1:] == [1028.1, 1027.9]  # surface_pressure, hPa
    assert rows["wind_speed_ms"].round(3).tolist()[1:] == [2.306, 1.889]  # km/h in that recording

    feeds.fetch(engine, settings, open_meteo.SOURCE, now=now)
    assert weather_rows(engine, 1)["temperature_c"].tolist() == [9.5, 2.0, 3.0]


def test_archive_replaces_forecast_rows_but_not_observed_ones(engine, httpserver):
    only_enschede(engine)
    hours = pd.date_range("1953-01-30T22:00Z", periods=3, freq="h")
    with engine.begin() as conn:
        frame = pd.DataFrame({"ts": hours, **{c: 1.0 for c in open_meteo.WEATHER_COLUMNS}})
        open_meteo.write_weather(conn, 1, frame, "forecast", datetime(1953, 1, 29, tzinfo=timezone.utc))
        conn.execute(Weather.__table__.update().where(Weather.ts == hours[2].to_pydatetime())
                     .values(source="observed", temperature_c=4.0))
    httpserver.expect_request("/v1/archive").respond_with_data(fixture("archive_enschede_1953.json"),
                                                               content_type="application/json")
    start, end = datetime(1953, 1, 30, 22, tzinfo=timezone.utc), datetime(1953, 1, 31, 1, tzinfo=timezone.utc)
    report = open_meteo.backfill_archive(engine, settings_for(engine, httpserver), start, end,
                                         now=datetime(2026, 12, 1, tzinfo=timezone.utc))

    (request, _), = httpserver.log
    assert (request.args["start_date"], request.args["end_date"]) == ("1953-01-30", "1953-01-31")
    rows = weather_rows(engine, 1)
    assert list(rows["source"]) == ["archive", "archive", "observed"]
    assert rows["temperature_c"].tolist() == [5.8, 5.5, 4.0]
    # The archive sent no humidity: the forecast's value does not survive as if it were the archive's.
    assert rows["humidity_pct"].iloc[:2].isna().all()
    assert report.newest_hour == datetime(1953, 1, 31, 0, tzinfo=timezone.utc)
    with engine.connect() as conn:  # not a live source: no cursor, so no lag check ever counts it
        assert conn.execute(select(FeedCursor.__table__)).first() is None


# --------------------------------------------------------------------------- CAMS


def test_cams_is_stored_in_storage_units_and_past_hours_keep_what_was_published_before_them(engine, httpserver):
    only_enschede(engine)
    httpserver.expect_request("/v1/forecast").respond_with_data(fixture("forecast_enschede.json"),
                                                                content_type="application/json")
    body = json.loads(fixture("air_quality_enschede.json"))
    httpserver.expect_oneshot_request("/v1/air-quality").respond_with_json(body)
    later = {**body, "hourly": {**body["hourly"], "pm2_5": [99.0, 98.0, 97.0]}}
    httpserver.expect_oneshot_request("/v1/air-quality").respond_with_json(later)
    settings = settings_for(engine, httpserver, cams_enabled=True)
    now = datetime(2026, 10, 2, 23, 30, tzinfo=timezone.utc)

    report = feeds.fetch(engine, settings, open_meteo.SOURCE, now=now)
    assert report.ok and report.requests == 2
    aq_request = next(r for r, _ in httpserver.log if r.path == "/v1/air-quality")
    assert aq_request.args["hourly"].split(",") == list(open_meteo.CAMS)
    with engine.connect() as conn:
        rows = {(p, utc(ts)): (v, u) for p, ts, v, u in conn.execute(
            select(CamsForecast.parameter, CamsForecast.ts, CamsForecast.value, CamsForecast.unit))}
    assert len(rows) == 18
    first = datetime(2026, 10, 2, 22, tzinfo=timezone.utc)
    assert rows["pm25", first] == (20.5, "µg/m³")
    assert rows["o3", first][1] == "ppb" and rows["o3", first][0] == pytest.approx(33.0 * 24.45 / 48.0, abs=1e-3)
    assert rows["co", first][1] == "ppm" and rows["co", first][0] == pytest.approx(0.263 * 24.45 / 28.01, abs=1e-4)

    feeds.fetch(engine, settings, open_meteo.SOURCE, now=now)
    with engine.connect() as conn:
        pm25 = [v for v, in conn.execute(select(CamsForecast.value).where(CamsForecast.parameter == "pm25")
                                         .order_by(CamsForecast.ts))]
    assert pm25 == [20.5, 20.0, 97.0]  # 22:00 and 23:00 had passed: the new run only changes 00:00


def test_a_cams_failure_is_reported_but_the_weather_stays_fresh(engine, httpserver):
    only_enschede(engine)
    httpserver.expect_request("/v1/forecast").respond_with_data(fixture("forecast_enschede.json"),
                                                                content_type="application/json")
    httpserver.expect_request("/v1/air-quality").respond_with_data(fixture("error_400.json"), status=400,
                                                                   content_type="application/json")
    now = datetime(2026, 10, 2, 20, tzinfo=timezone.utc)
    report = feeds.fetch(engine, settings_for(engine, httpserver, cams_enabled=True), open_meteo.SOURCE, now=now)
    assert report.errors and report.errors[0].startswith("CAMS: ") and "tempeture_2m" in report.errors[0]
    assert len(weather_rows(engine, 1)) == 3 and report.newest_hour == now
    with engine.connect() as conn:
        cursor = conn.execute(select(FeedCursor.__table__).where(FeedCursor.source == open_meteo.SOURCE)).one()
        assert conn.execute(select(CamsForecast.__table__)).first() is None
    assert utc(cursor.newest_hour) == now and "CAMS" in cursor.last_error


def test_cams_reads_for_a_stations_city_and_on_the_evaluation_grid(engine, httpserver):
    from core import context, weather
    from tests.conftest import settings_for_tests

    only_enschede(engine)
    httpserver.expect_request("/v1/forecast").respond_with_data(fixture("forecast_enschede.json"),
                                                                content_type="application/json")
    httpserver.expect_request("/v1/air-quality").respond_with_data(fixture("air_quality_enschede.json"),
                                                                   content_type="application/json")
    settings = settings_for(engine, httpserver, cams_enabled=True)
    feeds.fetch(engine, settings, open_meteo.SOURCE, now=datetime(2026, 10, 2, 20, tzinfo=timezone.utc))
    ctx = context.build(settings_for_tests(database_url=settings.database_url, forecast_model_dir=str(FIXTURES)),
                        engine=engine)
    with engine.connect() as conn:
        station = conn.execute(select(Station.id).where(Station.code == "a")).scalar_one()
    start, end = datetime(2026, 10, 2, 12, tzinfo=timezone.utc), datetime(2026, 10, 3, 12, tzinfo=timezone.utc)
    rows = weather.cams_for_station(ctx, station, "pm25", start, end)
    assert [(r["time"].hour, r["value"]) for r in rows] == [(22, 20.5), (23, 20.0), (0, 18.9)]
    assert weather.cams_for_station(ctx, station, "pm25", start, end) == rows  # the cached copy reads the same
    with pytest.raises(ValueError, match="unknown parameter 'pm1'"):
        weather.cams_for_station(ctx, station, "pm1", start, end)
    with pytest.raises(ValueError, match="at most 31 days"):
        weather.cams_for_station(ctx, station, "pm25", start, start + timedelta(days=32))
    with pytest.raises(ValueError, match="time zone"):
        weather.cams_for_station(ctx, station, "pm25", start.replace(tzinfo=None), end)
    with pytest.raises(LookupError, match="station 999999 does not exist"):
        weather.cams_for_station(ctx, 999999, "pm25", start, end)

    hours = pd.date_range("2026-10-02T21:00Z", periods=5, freq="h")
    grid = weather.cams_series(engine, [{"city_id": 1}, {"city_id": 2}], hours, ("pm25", "o3"))
    assert set(grid) == {"pm25", "o3"} and grid["pm25"].shape == (5, 2)
    assert grid["pm25"][:, 0].tolist()[1:4] == [20.5, 20.0, 18.9]
    assert pd.isna(grid["pm25"][[0, 4], 0]).all() and pd.isna(grid["pm25"][:, 1]).all()
    ctx.close()


# --------------------------------------------------------------------------- failures


def test_a_refused_request_reports_open_meteos_reason_and_writes_nothing(engine, httpserver):
    httpserver.expect_request("/v1/forecast").respond_with_data(fixture("error_400.json"), status=400,
                                                                content_type="application/json")
    with pytest.raises(FeedError, match="HTTP 400: Cannot initialize WeatherVariable from invalid String value "
                                        "tempeture_2m for key hourly") as caught:
        feeds.fetch(engine, settings_for(engine, httpserver), open_meteo.SOURCE)
    assert caught.value.status == 400 and len(httpserver.log) == 1  # a bad request is not retried
    assert weather_rows(engine, 1).empty
    with engine.connect() as conn:
        cursor = conn.execute(select(FeedCursor.__table__).where(FeedCursor.source == open_meteo.SOURCE)).one()
    assert "tempeture_2m" in cursor.last_error and cursor.failures == 1 and cursor.newest_hour is None


def test_a_server_error_is_retried_and_a_recovery_is_used(engine, httpserver):
    only_enschede(engine)
    httpserver.expect_ordered_request("/v1/forecast").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/v1/forecast").respond_with_data(fixture("forecast_enschede.json"),
                                                                        content_type="application/json")
    now = datetime(2026, 10, 2, 20, tzinfo=timezone.utc)
    report = feeds.fetch(engine, settings_for(engine, httpserver), open_meteo.SOURCE, now=now)
    assert report.ok and report.requests == 2 and len(weather_rows(engine, 1)) == 3


def test_a_server_that_keeps_failing_or_hanging_is_reported_after_the_retries(engine, httpserver):
    httpserver.expect_request("/v1/forecast").respond_with_data("down", status=500)
    settings = settings_for(engine, httpserver, feed_retries=1)
    with pytest.raises(FeedError, match=r"HTTP 500 \(after 2 attempts\)"):
        feeds.fetch(engine, settings, open_meteo.SOURCE)
    assert sum(response.status_code == 500 for _, response in httpserver.log) == 2

    httpserver.clear()
    httpserver.expect_request("/v1/forecast").respond_with_handler(
        lambda request: (time.sleep(1.0), Response("late"))[1])
    with pytest.raises(FeedError, match=r"ReadTimeout.*\(after 2 attempts\)"):
        feeds.fetch(engine, settings_for(engine, httpserver, feed_retries=1, feed_timeout_s=0.2), open_meteo.SOURCE)
    assert weather_rows(engine, 1).empty


def test_the_weather_job_offline_is_a_failed_run_in_the_history_not_a_crash(sqlite_ctx, httpserver):
    from core.context import build
    from core.jobs.schedule import run_scheduled
    from tests.conftest import settings_for_tests

    httpserver.expect_request("/v1/forecast").respond_with_data("down", status=502)
    settings = settings_for_tests(database_url=sqlite_ctx.settings.database_url, feed_retries=0,
                                  open_meteo_forecast_url=httpserver.url_for("/v1/forecast"),
                                  forecast_model_dir=sqlite_ctx.settings.forecast_model_dir)
    ctx = build(settings)
    try:
        with ctx.engine.begin() as conn:
            conn.execute(City.__table__.insert(), [{"name": "Enschede", "country": "NL",
                                                     "timezone": "Europe/Amsterdam", "lat": 52.2, "lon": 6.9}])
        run_id = run_scheduled(ctx, "fetch_weather")
        with ctx.session() as session:
            run = session.get(JobRun, run_id)
        assert run.status == "failed" and "HTTP 502" in run.message
    finally:
        ctx.close()


# --------------------------------------------------------------------------- the forecast with and without it


def test_the_forecast_says_past_inputs_only_until_weather_forecast_rows_exist(seeded_pg, pg_settings, tmp_path):
    from sqlalchemy import delete

    from core import context
    from core.db.models import Forecast
    from core.forecast import service
    from core.forecast.demo import tiny_model
    from tests.conftest import settings_for_tests

    tiny_model(tmp_path)
    ctx = context.build(settings_for_tests(database_url=pg_settings.database_url, forecast_model_dir=str(tmp_path),
                                           cache_enabled=False), engine=seeded_pg)
    with service.Session(seeded_pg) as session:
        station = service.queries.stations(session, active=True)[0]
        newest = service.queries.latest_hour(session)
    future = pd.DataFrame({"ts": pd.date_range(newest + timedelta(hours=1), periods=72, freq="h"),
                           "temperature_c": 12.0, "humidity_pct": 60.0, "wind_speed_ms": 3.0, "wind_dir_deg": 200.0,
                           "pressure_hpa": 1012.0, "precipitation_mm": 0.0})
    try:
        without = service.compute_forecast(ctx, station["id"], "pm25")
        assert without["weather_forecast"] is False and len(without["data"]) == 72

        with seeded_pg.begin() as conn:
            assert open_meteo.write_weather(conn, station["city_id"], future, "forecast", newest) == 72
            conn.execute(delete(Forecast).where(Forecast.station_id == station["id"], Forecast.issued_at == newest))
        # A fresh context: the predictor's output cache is keyed by station and hour, not by its inputs.
        ctx.close()
        ctx = context.build(ctx.settings, engine=seeded_pg)
        with_weather = service.compute_forecast(ctx, station["id"], "pm25")
        assert with_weather["weather_forecast"] is True and len(with_weather["data"]) == 72
        assert [d["p50"] for d in with_weather["data"]] != [d["p50"] for d in without["data"]]
    finally:
        with seeded_pg.begin() as conn:
            conn.execute(delete(Weather).where(Weather.ts > newest))
            conn.execute(delete(Forecast).where(Forecast.station_id == station["id"], Forecast.issued_at == newest))
        ctx.close()


# --------------------------------------------------------------------------- schedule and command line


def test_the_weather_job_fires_at_five_past_before_the_forecast_batch_and_only_when_enabled(pg_context):
    from core.jobs import schedule

    entries = schedule.beat_schedule(pg_context(weather_enabled=True))
    assert entries["fetch-weather"]["args"] == ("fetch_weather",)
    assert entries["fetch-weather"]["schedule"].minute == {5} and entries["forecast-batch"]["schedule"].minute == {20}
    assert "fetch-weather" not in schedule.beat_schedule(pg_context(weather_enabled=False))


def test_the_fetch_weather_command_backfills_the_archive_for_a_range(engine, httpserver):
    from click.testing import CliRunner

    from dashboard.cli import cli

    only_enschede(engine)
    httpserver.expect_request("/v1/archive").respond_with_data(fixture("archive_enschede_1953.json"),
                                                               content_type="application/json")
    settings = settings_for(engine, httpserver)
    result = CliRunner().invoke(cli, ["fetch-weather", "--from", "1953-01-30T22", "--to", "1953-01-31T01",
                                      "--archive"], obj=settings)
    assert result.exit_code == 0, result.output
    assert "open-meteo-archive: 1953-01-30 22:00 … 1953-01-31 01:00 UTC, 1 requests, 3 values" in result.output
    assert weather_rows(engine, 1)["source"].tolist() == ["archive"] * 3

    result = CliRunner().invoke(cli, ["fetch-weather", "--from", "1953-01-30T22", "--to", "1953-01-31T01"],
                                obj=settings)
    assert result.exit_code == 2 and "reaches 92 days back: add --archive" in result.output
    result = CliRunner().invoke(cli, ["fetch-weather", "--from", "1953-01-31", "--to", "1953-01-30", "--archive"],
                                obj=settings)
    assert result.exit_code == 2 and "--to is before --from" in result.output
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("station, parameter", [(999999, "pm25"), ("1; DROP TABLE stations", "pm25"),
                                                (None, ["pm25"]), (None, "nox")])
def test_the_forecast_page_answers_forged_picks_with_its_prompt_not_a_server_error(client, station, parameter):
    outputs = [("forecast-graph", "figure"), ("forecast-daily", "children"), ("forecast-status", "children"),
               ("forecast-model", "children"), ("forecast-skill", "children"), ("forecast-explain", "figure"),
               ("forecast-reliability", "figure")]
    body = {"output": "..." .join(f"{i}.{p}" for i, p in outputs).join(["..", ".."]),
            "outputs": [{"id": i, "property": p} for i, p in outputs],
            "inputs": [{"id": "forecast-station", "property": "value", "value": station},
                       {"id": "forecast-parameter", "property": "value", "value": parameter}],
            "changedPropIds": ["forecast-station.value"], "state": []}
    response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                           headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert "Pick a city and a station." in response.get_data(as_text=True)

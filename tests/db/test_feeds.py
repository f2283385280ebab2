"""Live feeds against local servers replaying the services' real formats (files of 2024-04-16, OpenAQ v3 samples)."""
from __future__ import annotations

import json
import re
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug import Response

from core import feeds
from core.db.models import AirNowAQI, City, Measurement, Station
from core.db.queries import utc
from core.feeds.http import FeedError
from core.settings import load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AIRNOW = FIXTURES / "airnow"
OPENAQ_API = FIXTURES / "openaq_api"
NOW = datetime(2024, 4, 16, 11, 20, tzinfo=timezone.utc)
HOUR = datetime(2024, 4, 16, 11, tzinfo=timezone.utc)


def archive(root: Path, hours=range(12)) -> Path:
    """A folder laid out like AirNow's archive holding the fixture's hours of 2024-04-16."""
    day = root / "airnow" / "2024" / "20240416"
    day.mkdir(parents=True, exist_ok=True)
    shutil.copy(AIRNOW / "monitoring_site_locations.dat", day)
    for h in hours:
        shutil.copy(AIRNOW / f"HourlyData_20240416{h:02d}.dat", day)
    return root


def settings_for(engine, **overrides):
    return load_settings(**{"database_url": str(engine.url), "environment": "test", "feed_retries": 2,
                            "feed_timeout_s": 5, "feed_revision_hours": 3, "feed_backfill_days": 1, **overrides})


def measurement_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Measurement)).scalar_one()


def pm25_at(engine, code: str, hour: datetime) -> float | None:
    with engine.connect() as conn:
        return conn.execute(select(Measurement.value).join(Station, Station.id == Measurement.station_id)
                            .where(Station.code == code, Measurement.parameter == "pm25",
                                   Measurement.ts == hour)).scalar_one_or_none()


# --------------------------------------------------------------------------- airnow-files


def test_one_fetch_from_a_local_archive_fills_real_stations_in_their_places_and_hours(sqlite_engine, tmp_path):
    settings = settings_for(sqlite_engine, airnow_files_url=str(archive(tmp_path)))
    report = feeds.fetch(sqlite_engine, settings, "airnow-files", now=NOW)
    assert report.ok and report.newest_hour == HOUR and report.hours == 12
    assert report.skipped["hour not published (404)"] == 13  # the day before (backfill of one day) is absent
    with sqlite_engine.connect() as conn:
        rows = conn.execute(select(Station.code, Station.lat, City.name, City.timezone).join(City)).all()
        hours = {utc(ts) for ts in conn.execute(select(Measurement.ts).distinct()).scalars()}
    assert len(rows) == 91 and all(r.lat is not None for r in rows)
    assert {r.code: (r.name, r.timezone) for r in rows}["airnow-484391006"] == (
        "Dallas-Fort Worth-Arlington, TX", "America/Chicago")
    assert hours == {HOUR - timedelta(hours=h) for h in range(12)}
    assert pm25_at(sqlite_engine, "airnow-000020104", HOUR) == 3.5


def test_a_second_fetch_of_the_same_hours_changes_nothing(sqlite_engine, tmp_path):
    settings = settings_for(sqlite_engine, airnow_files_url=str(archive(tmp_path)))
    first = feeds.fetch(sqlite_engine, settings, "airnow-files", now=NOW)
    count = measurement_count(sqlite_engine)
    again = feeds.fetch(sqlite_engine, settings, "airnow-files", start=first.start, now=NOW)
    assert first.rows == count > 0
    assert (again.rows, again.stations_new, measurement_count(sqlite_engine)) == (0, 0, count)


def test_the_cursor_advances_and_the_next_run_rereads_only_the_revision_window(sqlite_engine, tmp_path):
    root = archive(tmp_path, range(9))
    settings = settings_for(sqlite_engine, airnow_files_url=str(root))
    feeds.fetch(sqlite_engine, settings, "airnow-files", now=NOW - timedelta(hours=3))
    assert feeds.freshness(sqlite_engine, now=NOW)[0]["newest_hour"] == HOUR - timedelta(hours=3)
    archive(tmp_path, range(9, 12))
    report = feeds.fetch(sqlite_engine, settings, "airnow-files", now=NOW)
    # From the cursor, less the 3-hour revision window: 09:00 to 11:00.
    assert (report.start, report.hours, report.newest_hour) == (HOUR - timedelta(hours=2), 3, HOUR)
    assert feeds.freshness(sqlite_engine, now=NOW)[0]["newest_hour"] == HOUR


def test_a_revised_hour_replaces_its_values(sqlite_engine, tmp_path):
    root = archive(tmp_path)
    settings = settings_for(sqlite_engine, airnow_files_url=str(root))
    feeds.fetch(sqlite_engine, settings, "airnow-files", now=NOW)
    path = root / "airnow/2024/20240416/HourlyData_2024041611.dat"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"|PM2.5|UG/M3|3.5|", b"|PM2.5|UG/M3|4.2|"))
    report = feeds.fetch(sqlite_engine, settings, "airnow-files", now=NOW)
    assert report.rows == data.count(b"|PM2.5|UG/M3|3.5|") == 3  # only the revised values are written
    assert pm25_at(sqlite_engine, "airnow-000020104", HOUR) == 4.2


def test_a_six_hour_outage_catches_up_by_itself(sqlite_engine, tmp_path):
    root = archive(tmp_path, range(6))
    settings = settings_for(sqlite_engine, airnow_files_url=str(root))
    feeds.fetch(sqlite_engine, settings, "airnow-files", now=NOW - timedelta(hours=6))
    archive(tmp_path, range(6, 12))  # the hours published while we were down
    report = feeds.fetch(sqlite_engine, settings, "airnow-files", now=NOW)
    assert report.ok and report.hours == 6 and report.newest_hour == HOUR
    with sqlite_engine.connect() as conn:
        assert len(set(conn.execute(select(Measurement.ts).distinct()).scalars())) == 12


def test_a_truncated_file_fails_naming_the_url_and_line_and_writes_nothing_of_it(sqlite_engine, tmp_path):
    root = archive(tmp_path)
    path = root / "airnow/2024/20240416/HourlyData_2024041611.dat"
    path.write_bytes(path.read_bytes()[:-30])
    settings = settings_for(sqlite_engine, airnow_files_url=str(root))
    report = feeds.fetch(sqlite_engine, settings, "airnow-files", now=NOW)
    assert report.errors == [f"{path}, line 370: the file ends in the middle of a line (truncated)"]
    assert pm25_at(sqlite_engine, "airnow-000020104", HOUR) is None
    assert pm25_at(sqlite_engine, "airnow-000020104", HOUR - timedelta(hours=1)) is not None  # other files load
    assert report.newest_hour == HOUR - timedelta(hours=1)
    assert feeds.freshness(sqlite_engine, now=NOW)[0]["failures"] == 1


def test_readings_stamped_in_the_future_are_rejected(sqlite_engine, tmp_path):
    settings = settings_for(sqlite_engine, airnow_files_url=str(archive(tmp_path)))
    report = feeds.fetch(sqlite_engine, settings, "airnow-files", start=HOUR - timedelta(hours=1), end=HOUR,
                         now=HOUR - timedelta(hours=2, minutes=30))
    assert report.rejected > 0
    assert pm25_at(sqlite_engine, "airnow-000020104", HOUR) is None


def test_airnow_files_over_http_with_404_for_the_unpublished_newest_hour(sqlite_engine, tmp_path, httpserver):
    root = archive(tmp_path)
    for path in (root / "airnow/2024/20240416").iterdir():
        httpserver.expect_request(f"/airnow/2024/20240416/{path.name}").respond_with_data(path.read_bytes())
    httpserver.expect_request(re.compile("/airnow/.*")).respond_with_data("Not Found", status=404)
    settings = settings_for(sqlite_engine, airnow_files_url=httpserver.url_for("/").rstrip("/"))
    report = feeds.fetch(sqlite_engine, settings, "airnow-files", start=HOUR - timedelta(hours=2),
                         end=HOUR + timedelta(hours=1), now=NOW + timedelta(hours=1))
    assert report.ok and report.hours == 3 and report.skipped["hour not published (404)"] == 1
    assert report.requests == 5


def test_a_server_error_fails_the_run_naming_the_url(sqlite_engine, httpserver):
    httpserver.expect_request("/airnow/2024/20240416/monitoring_site_locations.dat").respond_with_data("", status=404)
    httpserver.expect_request("/airnow/2024/20240416/HourlyData_2024041611.dat").respond_with_data("no", status=503)
    settings = settings_for(sqlite_engine, airnow_files_url=httpserver.url_for("/").rstrip("/"), feed_retries=1)
    with pytest.raises(FeedError, match=r"HourlyData_2024041611.dat: HTTP 503 \(after 2 attempts\)"):
        feeds.fetch(sqlite_engine, settings, "airnow-files", start=HOUR, end=HOUR, now=NOW)


# --------------------------------------------------------------------------- airnow-api


def airnow_api_records() -> list[dict]:
    """The API's verbose JSON records, built from real AQObs rows (values, coordinates, names of 11:00 UTC)."""
    import csv

    rows = list(csv.DictReader((AIRNOW / "HourlyAQObs_2024041611.dat").read_text("utf-8").splitlines()))
    return [{"Latitude": float(r["Latitude"]), "Longitude": float(r["Longitude"]), "UTC": "2024-04-16T11:00",
             "Parameter": "PM2.5", "Unit": "UG/M3", "Value": float(r["PM25"]), "RawConcentration": float(r["PM25"]),
             "AQI": int(r["PM25_AQI"]), "Category": 1, "SiteName": r["SiteName"], "AgencyName": r["DataSource"],
             "FullAQSCode": r["AQSID"], "IntlAQSCode": r["AQSID"]} for r in rows if r["PM25"]]


def test_airnow_api_stores_the_box_and_a_second_run_writes_nothing(sqlite_engine, httpserver):
    httpserver.expect_request("/aq/data/", query_string={
        "startDate": "2024-04-16T06", "endDate": "2024-04-16T11", "parameters": "PM25,PM10,OZONE,NO2,CO,SO2",
        "BBOX": "-125,24,-66,50", "dataType": "C", "format": "application/json", "verbose": "1",
        "API_KEY": "k"}).respond_with_json(airnow_api_records())
    settings = settings_for(sqlite_engine, airnow_api_url=httpserver.url_for("/").rstrip("/"), airnow_api_key="k")
    first = feeds.fetch(sqlite_engine, settings, "airnow-api", start=HOUR - timedelta(hours=5), now=NOW)
    again = feeds.fetch(sqlite_engine, settings, "airnow-api", start=HOUR - timedelta(hours=5), now=NOW)
    assert (first.rows, first.requests, first.newest_hour) == (91, 1, HOUR)
    assert again.rows == 0
    assert pm25_at(sqlite_engine, "airnow-000020104", HOUR) == 3.5


def test_a_refused_api_key_is_one_clear_error_without_retries(sqlite_engine, httpserver):
    httpserver.expect_request("/aq/data/").respond_with_data("Invalid API key", status=401)
    settings = settings_for(sqlite_engine, airnow_api_url=httpserver.url_for("/").rstrip("/"),
                            airnow_api_key="wrong", feed_retries=4)
    with pytest.raises(FeedError, match="HTTP 401: the API key was refused") as err:
        feeds.fetch(sqlite_engine, settings, "airnow-api", start=HOUR, now=NOW)
    assert "wrong" not in str(err.value)
    assert len(httpserver.log) == 1


# --------------------------------------------------------------------------- openaq


def openaq_hours() -> dict:
    """The sample's /measurements body (v3 hourly shape: period, value, parameter) moved to the test hours."""
    body = json.loads((OPENAQ_API / "measurements.json").read_text())
    for i, row in enumerate(body["results"]):
        start = HOUR - timedelta(hours=len(body["results"]) - 1 - i)
        row["period"]["datetimeFrom"]["utc"] = f"{start:%Y-%m-%dT%H:%M:%S}+00:00"
        row["period"]["datetimeTo"]["utc"] = f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}+00:00"
    return body


def test_openaq_location_sensors_and_hours_land_and_429_retry_after_is_obeyed(sqlite_engine, httpserver):
    locations = json.loads((OPENAQ_API / "locations.json").read_text())
    hits = {"n": 0}

    def hours_once_limited(request):
        hits["n"] += 1
        if hits["n"] == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response(json.dumps(openaq_hours()), content_type="application/json")

    httpserver.expect_request("/v3/locations/2178", headers={"X-API-Key": "k"}).respond_with_json(locations)
    httpserver.expect_request("/v3/sensors/3920/hours").respond_with_handler(hours_once_limited)
    for sensor in ("3918", "25227", "3917", "3916", "3919"):
        httpserver.expect_request(f"/v3/sensors/{sensor}/hours").respond_with_json(
            {"meta": {"page": 1, "limit": 1000, "found": 0}, "results": []})
    settings = settings_for(sqlite_engine, openaq_url=httpserver.url_for("/").rstrip("/"), openaq_api_key="k",
                            openaq_locations="2178")
    started = time.monotonic()
    report = feeds.fetch(sqlite_engine, settings, "openaq", start=HOUR - timedelta(hours=3), now=NOW)
    assert time.monotonic() - started >= 1.0  # waited out Retry-After before the second try
    assert report.ok and report.rows == 2 and report.newest_hour == HOUR
    assert pm25_at(sqlite_engine, "openaq-2178", HOUR) == 7.5
    with sqlite_engine.connect() as conn:
        city, zone = conn.execute(select(City.name, City.timezone).join(Station).where(
            Station.code == "openaq-2178")).one()
    assert (city, zone) == ("Albuquerque", "America/Denver")

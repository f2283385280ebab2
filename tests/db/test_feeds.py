"""Live feeds against local servers replaying the services' real formats (files of 2024-04-16, OpenAQ v3 samples)."""
from __future__ import annotations

import csv
import json
import math
import re
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug import Response

from core import feeds
from core.db.models import AirNowAQI, City, Measurement, Station, Weather
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


COUNTRY_PREFIX = {"US": "840", "CA": "124", "MX": "484"}
API_QUERY = {"parameters": "PM25,PM10,OZONE,NO2,CO,SO2", "BBOX": "-125,24,-66,50", "dataType": "B",
             "format": "application/json", "verbose": "1", "monitorType": "0", "includerawconcentrations": "1",
             "API_KEY": "k"}


def international_code(aqsid: str, country: str) -> str:
    """The 12-character form of a 9-character US, Canadian or Mexican AQSID (others left as the files write them)."""
    return COUNTRY_PREFIX[country] + aqsid if len(aqsid) == 9 and country in COUNTRY_PREFIX else aqsid


def airnow_api_records() -> list[dict]:
    """The API's records in the recorded shape (tests/fixtures/airnow_api), filled from real AQObs rows of 11:00 UTC.

    FullAQSCode is the AQSID as the files write it, IntlAQSCode its 12-character form. The sample has no
    NowCast concentration, so Value repeats the hour's; RawConcentration (the hour's) is what is stored.
    """
    rows = list(csv.DictReader((AIRNOW / "HourlyAQObs_2024041611.dat").read_text("utf-8").splitlines()))
    return [{"Latitude": float(r["Latitude"]), "Longitude": float(r["Longitude"]), "UTC": "2024-04-16T11:00",
             "Parameter": "PM2.5", "Unit": "UG/M3", "Value": float(r["PM25"]), "RawConcentration": float(r["PM25"]),
             "AQI": int(r["PM25_AQI"]), "Category": 1, "SiteName": r["SiteName"], "AgencyName": r["DataSource"],
             "FullAQSCode": r["AQSID"],
             "IntlAQSCode": international_code(r["AQSID"], r["CountryCode"])}
            for r in rows if r["PM25"]]


def published_aqi(engine, code: str, hour: datetime) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(AirNowAQI.aqi).join(Station, Station.id == AirNowAQI.station_id).where(
            Station.code == code, AirNowAQI.parameter == "pm25", AirNowAQI.ts == hour)).scalar_one_or_none()


def test_airnow_api_stores_the_box_and_a_second_run_writes_nothing(sqlite_engine, httpserver):
    httpserver.expect_request("/aq/data/", query_string={
        "startDate": "2024-04-16T06", "endDate": "2024-04-16T11", **API_QUERY}).respond_with_json(airnow_api_records())
    settings = settings_for(sqlite_engine, airnow_api_url=httpserver.url_for("/").rstrip("/"), airnow_api_key="k")
    first = feeds.fetch(sqlite_engine, settings, "airnow-api", start=HOUR - timedelta(hours=5), now=NOW)
    again = feeds.fetch(sqlite_engine, settings, "airnow-api", start=HOUR - timedelta(hours=5), now=NOW)
    assert (first.rows, first.requests, first.newest_hour) == (91, 1, HOUR)
    assert again.rows == 0
    assert pm25_at(sqlite_engine, "airnow-000020104", HOUR) == 3.5
    assert published_aqi(sqlite_engine, "airnow-000020104", HOUR) == 15


def test_the_recorded_api_response_stores_the_hourly_concentration_not_the_nowcast(sqlite_engine, httpserver):
    body = (FIXTURES / "airnow_api" / "data_pm25_both_verbose_raw.json").read_bytes()
    httpserver.expect_request("/aq/data/").respond_with_data(body, content_type="application/json")
    hour = datetime(2026, 9, 12, 20, tzinfo=timezone.utc)
    settings = settings_for(sqlite_engine, airnow_api_url=httpserver.url_for("/").rstrip("/"), airnow_api_key="k")
    report = feeds.fetch(sqlite_engine, settings, "airnow-api", start=hour, end=hour, now=hour + timedelta(minutes=30))
    # Neah Bay: Value 3.2 is the NowCast its AQI 18 comes from; RawConcentration 3.6 is the hour's average.
    assert pm25_at(sqlite_engine, "airnow-530090015", hour) == 3.6
    assert pm25_at(sqlite_engine, "airnow-840410570002", hour) == 2.2  # a US site AirNow codes with 12 characters
    assert pm25_at(sqlite_engine, "airnow-000102103", hour) is None  # RawConcentration -999: no hourly value
    assert published_aqi(sqlite_engine, "airnow-000102103", hour) == 51  # its published AQI is still kept
    assert (report.rows, report.skipped["missing value (-999)"]) == (5, 1)


def test_a_site_from_the_files_and_from_the_api_is_one_station(sqlite_engine, tmp_path, httpserver):
    settings = settings_for(sqlite_engine, airnow_files_url=str(archive(tmp_path, [11])),
                            airnow_api_url=httpserver.url_for("/").rstrip("/"), airnow_api_key="k")
    feeds.fetch(sqlite_engine, settings, "airnow-files", start=HOUR, now=NOW)
    records = airnow_api_records()
    for r in records:  # the other form of each code: the 12-character one where the files wrote 9
        r["FullAQSCode"] = r["IntlAQSCode"]
    httpserver.expect_request("/aq/data/").respond_with_json(records)
    report = feeds.fetch(sqlite_engine, settings, "airnow-api", start=HOUR, now=NOW)
    assert report.ok and (report.stations_new, report.rows) == (0, 0)  # same stations, same values
    assert published_aqi(sqlite_engine, "airnow-360050110", HOUR) is not None


def test_airnow_api_keeps_within_500_requests_an_hour_across_runs(sqlite_engine, httpserver):
    httpserver.expect_request("/aq/data/").respond_with_json([])
    settings = settings_for(sqlite_engine, airnow_api_url=httpserver.url_for("/").rstrip("/"), airnow_api_key="k",
                            feed_retries=1)
    # 40 days back is 961 hours, 161 requests of 6 hours: four runs in one clock hour would make 644.
    runs = [feeds.fetch(sqlite_engine, settings, "airnow-api", start=HOUR - timedelta(days=40), now=NOW)
            for _ in range(4)]
    assert [r.requests for r in runs] == [161, 161, 161, 16]  # 499, and a request's retry would make 500
    assert runs[3].skipped["hours beyond 500 requests this hour (fetch them next hour)"] == 961 - 16 * 6
    later = feeds.fetch(sqlite_engine, settings, "airnow-api", start=HOUR - timedelta(days=40),
                        now=NOW + timedelta(hours=1))
    assert later.requests == 161  # a new clock hour, a new budget
    assert len(httpserver.log) == 499 + 161


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


def hours_page(first: datetime, count: int, found) -> dict:
    """A /sensors/{id}/hours page of `count` hours from `first`, each record shaped like the sample's."""
    sample = json.loads((OPENAQ_API / "measurements.json").read_text())["results"][0]
    results = []
    for i in range(count):
        start = first + timedelta(hours=i)
        row = json.loads(json.dumps(sample))
        row["period"]["datetimeFrom"]["utc"] = f"{start:%Y-%m-%dT%H:%M:%S}+00:00"
        row["period"]["datetimeTo"]["utc"] = f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}+00:00"
        row["value"] = 5.0 + i % 7
        results.append(row)
    return {"meta": {"name": "openaq-api", "website": "/", "page": 1, "limit": 1000, "found": found},
            "results": results}


def openaq_one_pm25_sensor(httpserver) -> None:
    locations = json.loads((OPENAQ_API / "locations.json").read_text())
    location = locations["results"][0]
    location["sensors"] = [s for s in location["sensors"] if s["id"] == 3920]
    httpserver.expect_request("/v3/locations/2178").respond_with_json(locations)


def test_openaq_pages_on_while_found_is_a_string_like_more_than_1000(sqlite_engine, httpserver):
    openaq_one_pm25_sensor(httpserver)
    first = HOUR - timedelta(hours=1004)
    pages = {"1": hours_page(first, 1000, ">1000"), "2": hours_page(first + timedelta(hours=1000), 5, ">1000")}
    httpserver.expect_request("/v3/sensors/3920/hours").respond_with_handler(
        lambda request: Response(json.dumps(pages[request.args["page"]]), content_type="application/json"))
    settings = settings_for(sqlite_engine, openaq_url=httpserver.url_for("/").rstrip("/"), openaq_api_key="k",
                            openaq_locations="2178")
    report = feeds.fetch(sqlite_engine, settings, "openaq", start=first, now=NOW)
    assert report.ok and report.rows == 1005 and report.newest_hour == HOUR
    assert [r.args["page"] for r, _ in httpserver.log if r.path.endswith("/hours")] == ["1", "2"]


def test_openaq_a_full_last_page_ends_on_the_next_empty_one(sqlite_engine, httpserver):
    openaq_one_pm25_sensor(httpserver)
    first = HOUR - timedelta(hours=999)
    pages = {"1": hours_page(first, 1000, ">1000"), "2": hours_page(first, 0, ">1000")}
    httpserver.expect_request("/v3/sensors/3920/hours").respond_with_handler(
        lambda request: Response(json.dumps(pages[request.args["page"]]), content_type="application/json"))
    settings = settings_for(sqlite_engine, openaq_url=httpserver.url_for("/").rstrip("/"), openaq_api_key="k",
                            openaq_locations="2178")
    report = feeds.fetch(sqlite_engine, settings, "openaq", start=first, now=NOW)
    assert report.ok and report.rows == 1000 and report.requests == 3


def test_openaq_no_requests_left_waits_for_the_reset_before_the_next_call(sqlite_engine, httpserver):
    locations = json.loads((OPENAQ_API / "locations.json").read_text())
    locations["results"][0]["sensors"] = [s for s in locations["results"][0]["sensors"] if s["id"] == 3920]
    arrived = []

    def exhausted(body: dict):
        def respond(request):
            arrived.append(time.monotonic())
            return Response(json.dumps(body), content_type="application/json", headers={
                "x-ratelimit-used": "60", "x-ratelimit-limit": "60", "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": "1"})
        return respond

    httpserver.expect_request("/v3/locations/2178").respond_with_handler(exhausted(locations))
    httpserver.expect_request("/v3/sensors/3920/hours").respond_with_handler(
        exhausted(hours_page(HOUR - timedelta(hours=2), 3, 3)))
    settings = settings_for(sqlite_engine, openaq_url=httpserver.url_for("/").rstrip("/"), openaq_api_key="k",
                            openaq_locations="2178")
    report = feeds.fetch(sqlite_engine, settings, "openaq", start=HOUR - timedelta(hours=2), now=NOW)
    assert report.ok and report.rows == 3
    assert arrived[1] - arrived[0] >= 1.0  # the call after the locations waited out their 1-s reset


# --------------------------------------------------------------------------- weather from AirNow HourlyData


def city_weather(engine, city: str) -> tuple:
    with engine.connect() as conn:
        return conn.execute(select(Weather.temperature_c, Weather.humidity_pct, Weather.wind_speed_ms,
                                   Weather.wind_dir_deg, Weather.pressure_hpa, Weather.precipitation_mm)
                            .join(City, City.id == Weather.city_id)
                            .where(City.name == city, Weather.ts == HOUR)).one()


def test_the_sites_weather_lands_per_city_and_hour_with_the_readings(sqlite_engine, tmp_path):
    settings = settings_for(sqlite_engine, airnow_files_url=str(archive(tmp_path, [11])))
    report = feeds.fetch(sqlite_engine, settings, "airnow-files", start=HOUR, now=NOW)
    assert report.ok and not [k for k in report.skipped if k.split()[-1] in ("TEMP", "RHUM", "WS", "WD", "BARPR")]
    # Banning, the one weather site of its MSA: TEMP 9 C, RHUM 77.5 %, WS 1.9 m/s, WD 242.5°, BARPR 938.2 mbar.
    assert city_weather(sqlite_engine, "Riverside-San Bernardino-Ontario, CA") == (9.0, 77.5, 1.9, 242.5, 938.2, None)
    assert city_weather(sqlite_engine, "Shoshone, ID")[5] == 0.0  # PRECIP 0 mm
    # Tacoma (103.2°, 1.6 m/s) and Enumclaw (231.7°, 2.3 m/s): the mean speed, the mean unit vector's direction.
    seattle = city_weather(sqlite_engine, "Seattle-Tacoma-Bellevue, WA")
    x = math.sin(math.radians(103.2)) + math.sin(math.radians(231.7))
    y = math.cos(math.radians(103.2)) + math.cos(math.radians(231.7))
    assert seattle[2] == 1.95 and seattle[3] == pytest.approx(math.degrees(math.atan2(x, y)) % 360, abs=1e-6)


def test_wind_directions_either_side_of_north_average_to_north(sqlite_engine, tmp_path):
    root = archive(tmp_path, [11])
    path = root / "airnow/2024/20240416/HourlyData_2024041611.dat"
    path.write_bytes(path.read_bytes().replace(b"|WD|DEGREES|103.2|", b"|WD|DEGREES|350|")
                     .replace(b"|WD|DEGREES|231.7|", b"|WD|DEGREES|10|"))
    feeds.fetch(sqlite_engine, settings_for(sqlite_engine, airnow_files_url=str(root)), "airnow-files",
                start=HOUR, now=NOW)
    direction = city_weather(sqlite_engine, "Seattle-Tacoma-Bellevue, WA")[3]
    assert min(direction, 360 - direction) < 1e-6  # not 180°, the arithmetic mean


def test_an_impossible_weather_reading_is_rejected_by_line_and_the_rest_loads(sqlite_engine, tmp_path):
    root = archive(tmp_path, [11])
    path = root / "airnow/2024/20240416/HourlyData_2024041611.dat"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"|BARPR|MILLIBAR|938.2|", b"|BARPR|MILLIBAR|93.8|"))
    report = feeds.fetch(sqlite_engine, settings_for(sqlite_engine, airnow_files_url=str(root)), "airnow-files",
                         start=HOUR, now=NOW)
    assert report.rejected == 1
    assert city_weather(sqlite_engine, "Riverside-San Bernardino-Ontario, CA") == (9.0, 77.5, 1.9, 242.5, None, None)

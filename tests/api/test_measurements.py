"""GET /api/v1/stations/{id}/measurements: hourly values as JSON pages or a streamed CSV export."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from core.parameters import UNITS
from dashboard.api import views
from tests.api.test_api import assert_error, get_json
from tests.conftest import SEED_END

QUALITIES = {"valid", "suspect", "invalid"}


@pytest.fixture(scope="module")
def delhi_station(app) -> int:
    client = app.server.test_client()
    return client.get("/api/v1/stations?city=Delhi&limit=1").get_json()["data"][0]["id"]


def url(station_id: int) -> str:
    return f"/api/v1/stations/{station_id}/measurements"


def stored_rows(engine, station_id: int, start: datetime, end: datetime) -> list[tuple]:
    """What the database holds, read independently of the API's queries."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT ts, parameter, value, unit, quality FROM measurements "
            "WHERE station_id = :id AND ts >= :start AND ts < :end ORDER BY ts, parameter"),
            {"id": station_id, "start": start, "end": end}).all()


def z(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- JSON


def test_measurements_of_a_known_range_are_the_stored_rows_with_units(client, seeded_pg, delhi_station):
    start, end = SEED_END - timedelta(hours=5), SEED_END + timedelta(hours=1)
    code, body = get_json(client, url(delhi_station), **{"from": z(start), "to": z(end), "limit": 1000})
    assert code == 200
    expected = stored_rows(seeded_pg, delhi_station, start, end)
    assert expected, "the seeded station has data in its last hours"
    assert [(r["ts"], r["parameter"], r["value"], r["unit"]) for r in body["data"]] == \
           [(z(ts), p, v, u) for ts, p, v, u, _ in expected]
    assert body["meta"] == {"page": 1, "limit": 1000, "found": len(expected), "station_id": delhi_station,
                            "from": z(start), "to": z(end)}
    assert all(r["unit"] == UNITS[r["parameter"]] for r in body["data"])
    assert {r["quality"] for r in body["data"]} <= QUALITIES


def test_measurements_are_ordered_by_hour_then_parameter_and_paginated(client, delhi_station):
    params = {"from": z(SEED_END - timedelta(hours=3)), "to": z(SEED_END + timedelta(hours=1))}
    _, everything = get_json(client, url(delhi_station), **params)
    _, page2 = get_json(client, url(delhi_station), limit=5, page=2, **params)
    keys = [(r["ts"], r["parameter"]) for r in everything["data"]]
    assert keys == sorted(keys)
    assert page2["data"] == everything["data"][5:10]
    assert page2["meta"]["found"] == everything["meta"]["found"]


def test_parameter_filter_keeps_one_pollutant(client, delhi_station):
    _, body = get_json(client, url(delhi_station), parameter="pm25")
    assert body["data"] and {r["parameter"] for r in body["data"]} == {"pm25"}
    assert {r["unit"] for r in body["data"]} == {"µg/m³"}


def test_default_range_is_the_24_hours_up_to_the_newest_data(client, delhi_station):
    _, body = get_json(client, url(delhi_station))
    start = datetime.fromisoformat(body["meta"]["from"])
    end = datetime.fromisoformat(body["meta"]["to"])
    assert end - start == timedelta(hours=24)
    assert end >= SEED_END + timedelta(hours=1)


def test_from_alone_runs_to_the_newest_data(client, delhi_station):
    _, body = get_json(client, url(delhi_station), **{"from": z(SEED_END - timedelta(hours=2))})
    assert {r["ts"] for r in body["data"]} >= {z(SEED_END - timedelta(hours=2)), z(SEED_END)}


@pytest.mark.parametrize("given", ["2026-11-20T09:00:00", "2026-11-20T09:00:00Z", "2026-11-20T10:00:00+01:00",
                                  "2026-11-20T04:30:00-04:30", "2026-11-20t09:00:00z"],
                         ids=["naive-is-utc", "z", "plus-one", "minus-four-thirty", "lower-case"])
def test_times_with_z_an_offset_or_none_all_mean_the_same_utc_instant(client, delhi_station, given):
    _, body = get_json(client, url(delhi_station), **{"from": given, "to": "2026-11-20T12:00:00Z"})
    assert body["meta"]["from"] == "2026-11-20T09:00:00Z"
    assert {r["ts"] for r in body["data"]} == {"2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z",
                                               "2026-11-20T11:00:00Z"}


def test_a_31_day_json_range_is_accepted(client, delhi_station):
    code, _ = get_json(client, url(delhi_station), **{"from": "2026-10-20T13:00:00Z", "to": "2026-11-20T13:00:00Z"})
    assert code == 200


@pytest.mark.parametrize("params, fragments", [
    ({"from": "2026-10-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"}, ("31 days", "format=csv")),
    ({"from": "2026-11-20T12:00:00Z", "to": "2026-11-20T12:00:00Z"}, ("to", "later than from")),
    ({"from": "2026-11-20T12:00:00Z", "to": "2026-11-20T11:00:00Z"}, ("to", "later than from")),
    ({"from": "yesterday"}, ("from", "ISO 8601")),
    ({"to": "2026-13-01T00:00:00Z"}, ("to", "ISO 8601")),
    ({"from": "0001-01-01T00:00:00+05:00"}, ("from", "1970")),
    ({"parameter": "pm1"}, ("parameter", "pm25")),
    ({"format": "xlsx"}, ("format", "csv")),
    ({"limit": "1001"}, ("limit", "1000")),
    ({"station": "1"}, ("station",)),
], ids=["over-31-days", "empty-range", "reversed", "not-a-time", "no-such-month", "before-1970",
        "unknown-parameter", "unknown-format", "limit-over-1000", "extra-parameter"])
def test_bad_measurement_parameters_are_a_400_naming_the_problem(client, delhi_station, params, fragments):
    assert_error(client, url(delhi_station), 400, *fragments, **params)


def test_measurements_of_an_unknown_station_are_a_404(client):
    assert_error(client, url(987654321), 404, "987654321")


@pytest.mark.parametrize("station", ["abc", "0", "-1", "99999999999999999999"])
def test_a_station_id_that_cannot_exist_is_a_404_not_a_500(client, station):
    assert_error(client, f"/api/v1/stations/{station}/measurements", 404, "station_id")


# --------------------------------------------------------------------------- CSV


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_export_streams_the_exact_rows_of_a_known_range(client, seeded_pg, delhi_station):
    start, end = SEED_END - timedelta(hours=47), SEED_END + timedelta(hours=1)
    response = client.get(url(delhi_station), query_string={"format": "csv", "from": z(start), "to": z(end)})
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.is_streamed and "Content-Length" not in response.headers
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = read_csv(response)
    assert rows[0] == ["station_id", "ts", "parameter", "value", "unit", "quality"]
    expected = stored_rows(seeded_pg, delhi_station, start, end)
    assert len(expected) >= 48 * 5
    assert rows[1:] == [[str(delhi_station), z(ts), p, str(v), u, ["valid", "suspect", "invalid"][q]]
                        for ts, p, v, u, q in expected]


def test_csv_export_reads_the_database_a_chunk_at_a_time(client, delhi_station, monkeypatch):
    calls = []
    real = views.queries.measurements

    def spy(session, station_id, start, end, parameter=None):
        calls.append((start, end))
        return real(session, station_id, start, end, parameter)

    params = {"format": "csv", "from": z(SEED_END - timedelta(days=3)), "to": z(SEED_END)}
    whole = client.get(url(delhi_station), query_string=params).get_data()
    monkeypatch.setattr(views, "CSV_CHUNK", timedelta(days=1))
    monkeypatch.setattr(views.queries, "measurements", spy)
    chunked = client.get(url(delhi_station), query_string=params).get_data()
    assert len(calls) == 3
    assert all(end - start == timedelta(days=1) for start, end in calls)
    assert chunked == whole


def test_csv_may_cover_more_than_31_days(client, delhi_station):
    response = client.get(url(delhi_station), query_string={
        "format": "csv", "from": "2026-06-01T00:00:00Z", "to": "2026-11-21T00:00:00Z", "parameter": "co"})
    assert response.status_code == 200
    rows = read_csv(response)
    assert len(rows) > 24 and {r[2] for r in rows[1:]} == {"co"} and {r[4] for r in rows[1:]} == {"ppm"}


@pytest.mark.parametrize("params, fragments", [
    ({"from": "2025-01-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"}, ("366 days",)),
    ({"limit": "10"}, ("limit", "format=csv")),
    ({"page": "2"}, ("page", "format=csv")),
])
def test_bad_csv_requests_are_a_json_400(client, delhi_station, params, fragments):
    assert_error(client, url(delhi_station), 400, *fragments, format="csv", **params)


def test_csv_of_an_unknown_station_is_a_json_404(client):
    assert_error(client, url(987654321), 404, "987654321", format="csv")


@pytest.mark.parametrize("station", ["1.0", "+1", "1_0"])
def test_only_the_plain_digits_of_an_id_name_a_station(client, station):
    assert_error(client, f"/api/v1/stations/{station}", 404, "digits")

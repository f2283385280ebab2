"""CSV export: exactly the selected rows, streamed, with clear 400s for bad selections."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import text

from core.aqi.sensors import epa_pm25_correction
from core.export import COLUMNS
from tests.conftest import SEED_END


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _stations(engine, kind=None):
    with engine.connect() as conn:
        return conn.execute(text("SELECT s.id, s.kind, c.name, s.city_id FROM stations s JOIN cities c ON c.id = s.city_id"
                                 + (" WHERE s.kind = :k" if kind else "") + " ORDER BY s.id"), {"k": kind}).all()


def test_station_export_has_exactly_the_rows_of_its_range_and_pollutants(client, seeded_pg):
    sid = _stations(seeded_pg, "reference")[0].id
    start, end = SEED_END - timedelta(hours=5), SEED_END
    response = client.get(f"/export/measurements.csv?station={sid}&pollutants=pm25,o3"
                          f"&start={start:%Y-%m-%dT%H:%M}Z&end={end:%Y-%m-%dT%H:%M}Z")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert f'filename="aqi-station-{sid}-' in response.headers["Content-Disposition"]
    rows = _rows(response)
    with seeded_pg.connect() as conn:
        expected = conn.execute(text(
            "SELECT ts, parameter, value FROM measurements WHERE station_id = :s AND parameter IN ('pm25', 'o3') "
            "AND ts >= :a AND ts < :b ORDER BY ts, parameter"), {"s": sid, "a": start, "b": end}).all()
    assert expected, "the seed has no rows in that range"
    assert list(rows[0]) == COLUMNS
    assert [(r["ts_utc"], r["parameter"], float(r["value"])) for r in rows] == [
        (ts.strftime("%Y-%m-%dT%H:%M:%SZ"), p, v) for ts, p, v in expected]
    assert {r["station_id"] for r in rows} == {str(sid)}
    assert all(r["epa_corrected_pm25"] == "" for r in rows)  # a reference monitor: nothing to correct


def test_city_export_covers_every_station_and_corrects_low_cost_pm25(client, seeded_pg):
    sensor = _stations(seeded_pg, "low_cost")[0]
    city_ids = [s.id for s in _stations(seeded_pg) if s.name == sensor.name]
    start, end = SEED_END - timedelta(hours=2), SEED_END + timedelta(hours=1)
    response = client.get(f"/export/measurements.csv?city={sensor.name}&pollutants=pm25"
                          f"&start={start.isoformat()}&end={end.isoformat()}")
    rows = _rows(response)
    with seeded_pg.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM measurements WHERE station_id = ANY(:ids) "
                                  "AND parameter = 'pm25' AND ts >= :a AND ts < :b"),
                             {"ids": city_ids, "a": start, "b": end}).scalar_one()
        humidity = dict(conn.execute(text("SELECT ts, humidity_pct FROM weather WHERE city_id = :c"),
                                     {"c": sensor.city_id}).all())
    assert len(rows) == count > 0
    assert {r["city"] for r in rows} == {sensor.name}
    mine = [r for r in rows if r["station_id"] == str(sensor.id)]
    assert mine and all(r["kind"] == "low_cost" for r in mine)
    for r in mine:
        ts = next(t for t in humidity if t.strftime("%Y-%m-%dT%H:%M:%SZ") == r["ts_utc"])
        assert r["epa_corrected_pm25"] == f"{epa_pm25_correction(float(r['value']), humidity[ts]):.1f}"


def test_bad_selections_get_a_400_with_the_reason(client):
    for query, reason in (("", "either a station or a city"), ("station=abc", "must be a number"),
                          ("station=1&pollutants=xx", "unknown pollutant"),
                          ("station=1&start=2026-11-20T00:00Z&end=2026-11-19T00:00Z", "after start"),
                          ("station=1&start=yesterday", "ISO 8601"),
                          ("station=1&start=2020-01-01T00:00Z&end=2026-01-01T00:00Z", "at most")):
        response = client.get(f"/export/measurements.csv?{query}")
        assert response.status_code == 400, query
        assert reason in response.get_data(as_text=True), (query, response.get_data(as_text=True))


def test_unknown_cities_and_stations_are_a_404(client):
    for query, reason in (("city=Atlantis", "no city named 'Atlantis'"), ("station=999999", "no station with id")):
        response = client.get(f"/export/measurements.csv?{query}")
        assert response.status_code == 404, query
        assert reason in response.get_data(as_text=True)

"""Bulk loading and the read queries, on real PostgreSQL and on SQLite."""
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.db import queries
from core.db.engine import server_settings_report, session_settings_report
from core.db.models import Measurement
from core.db.partitions import partition_name
from core.ingest.store import ensure_cities, ensure_stations, write_measurements

T0 = datetime(2025, 1, 31, 20, tzinfo=timezone.utc)  # crosses a month boundary: two partitions


def _network(conn, prefix: str) -> dict[str, int]:
    city_ids = ensure_cities(conn, [{"name": f"{prefix}-City", "country": "X", "timezone": "Europe/London",
                                     "lat": 51.5, "lon": -0.1}])
    known = ensure_stations(conn, [
        {"code": f"{prefix}-1", "name": "One", "city_id": city_ids[f"{prefix}-City"], "lat": 51.5, "lon": -0.1,
         "kind": "reference", "source": "test", "active": True},
        {"code": f"{prefix}-2", "name": "Two", "city_id": city_ids[f"{prefix}-City"], "lat": 51.6, "lon": -0.2,
         "kind": "low_cost", "source": "test", "active": True},
    ])
    return {code: id_ for code, id_ in known.items() if code.startswith(f"{prefix}-")}


def _frame(prefix: str, hours: int, value: float = 10.0) -> pd.DataFrame:
    rows = [{"station_code": f"{prefix}-{s}", "parameter": p, "ts": T0 + timedelta(hours=h),
             "value": value + h, "unit": "µg/m³", "quality": 0}
            for s in (1, 2) for p in ("pm25", "pm10") for h in range(hours)]
    frame = pd.DataFrame(rows)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, pg_engine, sqlite_engine):
    return pg_engine if request.param == "postgresql" else sqlite_engine


def _count(engine, ids) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Measurement)
                            .where(Measurement.station_id.in_(ids))).scalar_one()


def test_reloading_the_same_hours_updates_and_never_duplicates(engine, request):
    prefix = f"B{request.node.callspec.id}"
    with engine.begin() as conn:
        ids = _network(conn, prefix)
        assert write_measurements(conn, _frame(prefix, 10), ids) == 40
    with engine.begin() as conn:
        write_measurements(conn, _frame(prefix, 12, value=50.0), ids)  # overlaps 10 hours, adds 2
    assert _count(engine, ids.values()) == 48
    with Session(engine) as session:
        series = queries.station_series(session, ids[f"{prefix}-1"], T0, T0 + timedelta(hours=12), ["pm25"])
    assert list(series["value"]) == [50.0 + h for h in range(12)]
    assert series["ts"].iloc[0] == pd.Timestamp(T0)


def test_a_failed_load_writes_nothing(engine, request):
    prefix = f"F{request.node.callspec.id}"
    with engine.begin() as conn:
        ids = _network(conn, prefix)
    bad = _frame(prefix, 5)
    bad.loc[len(bad) - 1, "station_code"] = "nobody"
    with pytest.raises(ValueError, match="unknown station"):
        with engine.begin() as conn:
            write_measurements(conn, bad, ids)
    assert _count(engine, ids.values()) == 0


def test_latest_reading_per_station_and_parameter(engine, request):
    prefix = f"L{request.node.callspec.id}"
    with engine.begin() as conn:
        ids = _network(conn, prefix)
        frame = _frame(prefix, 6)
        # The newest hour of station 2's pm10 is invalid: the one before it is the latest valid reading.
        frame.loc[(frame.station_code == f"{prefix}-2") & (frame.parameter == "pm10")
                  & (frame.ts == frame.ts.max()), "quality"] = 2
        write_measurements(conn, frame, ids)
    with Session(engine) as session:
        rows = queries.latest_readings(session, until=T0 + timedelta(hours=5), lookback_hours=3)
    mine = {(r["station_id"], r["parameter"]): r for r in rows if r["station_id"] in ids.values()}
    assert len(mine) == 4
    assert mine[(ids[f"{prefix}-1"], "pm25")]["ts"] == T0 + timedelta(hours=5)
    assert mine[(ids[f"{prefix}-1"], "pm25")]["value"] == 15.0
    assert mine[(ids[f"{prefix}-2"], "pm10")]["ts"] == T0 + timedelta(hours=4)


def test_recent_window_returns_only_the_window(engine, request):
    prefix = f"W{request.node.callspec.id}"
    with engine.begin() as conn:
        ids = _network(conn, prefix)
        write_measurements(conn, _frame(prefix, 10), ids)
    with Session(engine) as session:
        frame = queries.recent_window(session, T0 + timedelta(hours=9), hours=3, station_ids=list(ids.values()))
    assert sorted(frame["ts"].unique()) == [pd.Timestamp(T0 + timedelta(hours=h)) for h in (7, 8, 9)]
    assert len(frame) == 12


def test_stations_by_bbox_and_pagination(engine, request):
    prefix = f"P{request.node.callspec.id}"
    with engine.begin() as conn:
        _network(conn, prefix)
    with Session(engine) as session:
        inside = queries.stations(session, bbox=(-0.15, 51.45, 0.0, 51.55))
        page = queries.paginate(session, queries.stations_query(city=f"{prefix}-City"), limit=1, page=2)
    assert [s["code"] for s in inside if s["code"].startswith(prefix)] == [f"{prefix}-1"]
    assert page.found == 2 and page.data[0]["code"] == f"{prefix}-2" and page.page == 2
    with pytest.raises(ValueError, match="limit"):
        with Session(engine) as session:
            queries.paginate(session, queries.stations_query(), limit=1001)


def test_postgres_measurements_are_partitioned_by_month(pg_engine):
    with pg_engine.begin() as conn:
        ids = _network(conn, "PART")
        write_measurements(conn, _frame("PART", 10), ids)
        parts = set(conn.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'measurements'::regclass")).scalars())
        strategy = conn.execute(text(
            "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'measurements'::regclass")).scalar_one()
    assert strategy == "r"
    assert {partition_name(T0), partition_name(T0 + timedelta(days=1))} <= parts


def test_postgres_session_settings_are_in_force(pg_engine, pg_settings):
    report = {r["name"]: r for r in session_settings_report(pg_engine, pg_settings)}
    assert report["jit"]["actual"] == "off"
    assert report["work_mem"]["actual"] == "16MB"
    assert report["random_page_cost"]["actual"] == "1.1"


def test_server_settings_are_reported_never_set(pg_engine):
    report = {r["name"]: r for r in server_settings_report(pg_engine)}
    assert report["shared_buffers"]["applies"] == "restart"
    with pg_engine.connect() as conn:
        assert report["shared_buffers"]["actual"] == conn.execute(text("SHOW shared_buffers")).scalar_one()


def test_pool_is_tuned_from_settings(pg_engine, pg_settings):
    assert pg_engine.pool.size() == pg_settings.pool_size
    assert pg_engine.pool._pool.use_lifo is True and pg_engine.pool._pre_ping is True
    assert pg_engine.pool._max_overflow == pg_settings.max_overflow


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_frame_repeating_an_hour_keeps_one_row(engine, request):
    prefix = f"D{request.node.callspec.id}"
    with engine.begin() as conn:
        ids = _network(conn, prefix)
        frame = _frame(prefix, 3)
        write_measurements(conn, pd.concat([frame, frame.assign(value=99.0)], ignore_index=True), ids)
    assert _count(engine, ids.values()) == 12
    with Session(engine) as session:
        series = queries.station_series(session, ids[f"{prefix}-1"], T0, T0 + timedelta(hours=3), ["pm25"])
    assert list(series["value"]) == [99.0] * 3  # the later row of a repeated hour wins, as in a file

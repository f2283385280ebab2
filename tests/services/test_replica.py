"""The read replica against a real pair: a private PostgreSQL primary and its streaming standby (pg_basebackup -R).
Lag-tolerant reads run on the standby, writes on the primary, the lag is measured and checked, and reads fall back
to the primary while the standby is down."""
import logging
import math
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.exc import InternalError
from sqlalchemy.engine import make_url

from core import context, export, snapshots, thresholds
from core.db import engine as engine_module
from core.db import migrate
from core.db.models import City
from core.ingest.seed import seed
from core.metrics import METRICS, LocalSink
from core.settings import SettingsError, load_settings
from tests.conftest import TEST_DATABASE_READ_URL, settings_for_tests

END = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


class Clock:
    """The replica router's clock, moved on by hand: its retry delay passes without waiting for it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture(scope="module")
def pair_ctx(pg_pair):
    """A context on the pair: database `aqi` on the primary (migrated, seeded), read through the standby."""
    admin = create_engine(pg_pair.primary_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE aqi"))  # replicated like everything else
    admin.dispose()
    url = lambda port: make_url(pg_pair.url(port, "aqi")).render_as_string(hide_password=False)  # noqa: E731
    ctx = context.build(settings_for_tests(database_url=url(pg_pair.primary_port),
                                           database_read_url=url(pg_pair.replica_port)))
    migrate.upgrade(ctx.engine)
    seed(ctx.engine, 2, 12, seed=42, end=END)
    yield ctx
    ctx.close()


@pytest.fixture()
def own_metrics(monkeypatch):
    """This test's gauges in a store of their own."""
    monkeypatch.setattr(METRICS, "sink", LocalSink())


def caught_up(ctx, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lag = ctx.replica.report()
        if lag["bytes"] == 0:
            return lag
        time.sleep(0.05)
    raise AssertionError(f"the standby did not catch up: {lag}")


def replica_tile(settings, cache) -> dict:
    """The replica check as the panel's snapshot lists it."""
    return next(c for c in thresholds.snapshot(settings, cache)["checks"] if c["key"] == "db_replica")


def statements_on(engine) -> list[str]:
    """Every statement the engine sends from now on (a listener on the real engine)."""
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    return sent


def test_lag_tolerant_reads_run_on_the_standby_and_writes_on_the_primary(pair_ctx, own_metrics):
    caught_up(pair_ctx)
    with pair_ctx.read_session() as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
        with pytest.raises(InternalError, match="read-only transaction"):
            session.execute(insert(City).values(name="Nowhere", country="XX", timezone="UTC", lat=0, lon=0))
    with pair_ctx.session() as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False
    assert pair_ctx.read_engine is pair_ctx.replica.replica


def test_snapshots_history_and_exports_read_the_standby(pair_ctx, own_metrics):
    caught_up(pair_ctx)
    on_replica, on_primary = statements_on(pair_ctx.replica.replica), statements_on(pair_ctx.engine)
    snapshot = snapshots.compute_current(pair_ctx, "us_epa")
    assert snapshot["as_of"] == END and len(snapshot["stations"]) == 12
    station = snapshot["stations"][0]
    assert not snapshots.station_history(pair_ctx, station["id"], END, hours=24).empty
    sel = export.Selection([station], ["pm25"], END - timedelta(hours=3), END + timedelta(hours=1))
    assert len(list(export.csv_lines(pair_ctx, sel))) > 1
    assert any("measurements" in s for s in on_replica)
    assert not any("measurements" in s for s in on_primary)


def test_replica_lag_is_reported_in_bytes_and_seconds(pair_ctx, own_metrics):
    settings = pair_ctx.settings.model_copy(update={"replica_lag_warn_s": 0.2, "replica_lag_crit_s": 60})
    idle = caught_up(pair_ctx)
    assert idle == {"up": 1.0, "standby": 1.0, "bytes": 0.0, "seconds": 0.0}  # nothing to replay: no lag
    with pair_ctx.replica.replica.connect() as standby:
        standby.execute(text("SELECT pg_wal_replay_pause()"))
        standby.commit()
        try:
            time.sleep(0.5)  # the standby's newest replayed commit is now at least this old
            with pair_ctx.engine.begin() as conn:
                conn.execute(insert(City).values(name="Lagtown", country="XX", timezone="UTC", lat=0, lon=0))
            lag = pair_ctx.replica.report()
            assert lag["bytes"] > 0 and lag["seconds"] >= 0.5
            check = replica_tile(settings, pair_ctx.cache)
            assert check["status"] == "warning" and check["value"] == lag["seconds"]
            assert f"{lag['bytes']:,.0f} bytes of WAL behind" in check["recommendation"]
        finally:
            standby.execute(text("SELECT pg_wal_replay_resume()"))
            standby.commit()
    assert caught_up(pair_ctx)["seconds"] == 0.0
    assert replica_tile(settings, pair_ctx.cache)["status"] == "ok"


def test_reads_fall_back_to_the_primary_while_the_standby_is_down(pair_ctx, pg_pair, own_metrics, monkeypatch,
                                                                  caplog):
    from dashboard import create_app

    clock = Clock()
    monkeypatch.setattr(engine_module, "time", clock)
    client = create_app(ctx=pair_ctx).server.test_client()
    caught_up(pair_ctx)
    pg_pair.stop_replica()
    try:
        with caplog.at_level(logging.WARNING, logger="core.db.engine"):
            with pair_ctx.read_session() as session:
                assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False
        assert "read replica unreachable" in caplog.text
        assert pair_ctx.read_engine is pair_ctx.engine
        pair_ctx.cache.clear()
        response = client.get("/api/v1/aqi/current")
        assert response.status_code == 200 and response.get_json()["meta"]["found"] == 12
        check = replica_tile(pair_ctx.settings, pair_ctx.cache)
        assert check["status"] == "critical" and "unreachable" in check["recommendation"]
    finally:
        pg_pair.start_replica()
    clock.offset += engine_module.REPLICA_RETRY_S
    with pair_ctx.read_session() as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
    assert METRICS.sink.gauges("db_replica")[0]["up"] == 1.0  # measured again as soon as it answered
    caught_up(pair_ctx)
    assert replica_tile(pair_ctx.settings, pair_ctx.cache)["status"] == "ok"


def test_a_read_url_naming_a_primary_is_critical(pair_ctx, pg_pair, own_metrics):
    url = make_url(pg_pair.url(pg_pair.primary_port, "aqi")).render_as_string(hide_password=False)
    ctx = context.build(settings_for_tests(database_url=url, database_read_url=url))
    try:
        assert ctx.replica.report() == pytest.approx({"up": 1.0, "standby": 0.0, "bytes": math.nan,
                                                      "seconds": math.nan}, nan_ok=True)
        check = replica_tile(ctx.settings, ctx.cache)
        assert check["status"] == "critical" and "not in recovery" in check["recommendation"]
    finally:
        ctx.close()


def test_a_read_url_that_is_not_postgresql_stops_start_up():
    with pytest.raises(SettingsError, match="database_read_url: .*PostgreSQL URL"):
        load_settings(database_read_url="sqlite:///var/replica.db")
    assert load_settings(database_read_url="postgresql://u@replica/aqi").database_read_url == \
        "postgresql+psycopg://u@replica/aqi"


@pytest.mark.skipif(not TEST_DATABASE_READ_URL, reason="`make test-replica` sets TEST_DATABASE_READ_URL")
def test_the_suites_context_reads_through_the_standby(pg_ctx, seeded_pg):
    with pg_ctx.read_session() as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
    with pg_ctx.session() as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False

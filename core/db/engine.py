"""Engines tuned from settings: pool, per-session PostgreSQL settings, SQLite pragmas; the read replica."""
from __future__ import annotations

import logging
import math
import threading
import time

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from core.metrics import METRICS
from core.settings import Settings

log = logging.getLogger(__name__)
REPLICA_RETRY_S = 5.0  # after a failed connection to the replica, read from the primary this long, then retry
REPLICA_REPORT_EVERY_S = 5.0  # how often a process measures the replica's lag (gauge "db_replica")
REPLICA_CONNECT_TIMEOUT_S = 2  # an unreachable replica costs at most this, once per REPLICA_RETRY_S

# Server-wide settings cannot be SET per session; we only report them against our recommendation.
SERVER_RECOMMENDED = {
    "shared_buffers": "4GB",
    "maintenance_work_mem": "1GB",
    "max_connections": "200",
    "max_wal_size": "4GB",
    "checkpoint_completion_target": "0.9",
}


def session_options(settings: Settings) -> dict[str, str]:
    """The per-session PostgreSQL settings applied to every new connection."""
    return {
        "jit": "on" if settings.pg_jit else "off",
        "work_mem": settings.pg_work_mem,
        "random_page_cost": str(settings.pg_random_page_cost),
        "effective_io_concurrency": str(settings.pg_effective_io_concurrency),
        "effective_cache_size": settings.pg_effective_cache_size,
        "statement_timeout": str(settings.pg_statement_timeout_ms),
        "timezone": "UTC",
    }


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    """A new engine for settings.database_url (or another PostgreSQL URL, such as the replica's, tuned alike)."""
    if url is None and settings.is_sqlite:
        path = settings.sqlite_path()
        url = "sqlite://" if path is None else f"sqlite:///{path}"
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000,
                                                  "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas(settings))
        return engine
    # One startup packet carries the session settings: no extra round trip per connection.
    options = " ".join(f"-c {k}={v}" for k, v in session_options(settings).items())
    connect_args = {"options": options, "application_name": "aqi-dashboard"}
    if url is not None:
        connect_args["connect_timeout"] = REPLICA_CONNECT_TIMEOUT_S
    return create_engine(
        url or settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_use_lifo=True,  # idle connections beyond the hot set age out and get recycled
        pool_pre_ping=True,
        pool_recycle=settings.pool_recycle_s,
        pool_timeout=settings.pool_timeout_s,
        connect_args=connect_args,
    )


def _sqlite_pragmas(settings: Settings):
    def apply(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the live writer
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cur.close()

    return apply


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def pool_status(engine: Engine) -> dict:
    """Connections checked out, pool size and overflow in use."""
    pool = engine.pool
    if not hasattr(pool, "checkedout"):
        return {"checked_out": 0, "size": 0, "overflow": 0}
    return {"checked_out": pool.checkedout(), "size": pool.size(), "overflow": max(pool.overflow(), 0)}


def session_settings_report(engine: Engine, settings: Settings) -> list[dict]:
    """Per-session settings in force on a pooled connection vs those we asked for."""
    if not is_postgres(engine):
        return []
    wanted = session_options(settings)
    with engine.connect() as conn:
        return [{"name": k, "wanted": v, "actual": conn.execute(text(f"SHOW {k}")).scalar_one()}
                for k, v in wanted.items()]


def server_settings_report(engine: Engine) -> list[dict]:
    """Server-wide settings: recommended vs actual (SHOW); they need postgresql.conf and a restart or reload."""
    if not is_postgres(engine):
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, current_setting(name), context FROM pg_settings WHERE name = ANY(:names)"),
            {"names": list(SERVER_RECOMMENDED)},
        ).all()
    return [{"name": name, "recommended": SERVER_RECOMMENDED[name], "actual": actual,
             "applies": "restart" if context == "postmaster" else "reload"} for name, actual, context in rows]


def replica_lag(primary: Engine, replica: Engine) -> dict:
    """How far the replica's replay is behind the primary: bytes of WAL, and seconds.

    Seconds are 0 when nothing is left to replay, otherwise the age of the newest transaction replayed
    (pg_last_xact_replay_timestamp): after an idle spell on the primary they jump to the idle time until the next
    write is replayed. NaN when unknown (a standby that has replayed no transaction yet); `standby` 0 when the
    read URL names a server that is not in recovery.
    """
    with replica.connect() as conn:
        standby, replay_lsn, replay_age = conn.execute(text(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
            "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8")).one()
    if not standby:
        return {"up": 1.0, "standby": 0.0, "bytes": math.nan, "seconds": math.nan}
    with primary.connect() as conn:
        behind = float(conn.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:lsn AS pg_lsn))"),
                                    {"lsn": replay_lsn}).scalar_one())
    seconds = 0.0 if behind <= 0 else (math.nan if replay_age is None else max(float(replay_age), 0.0))
    return {"up": 1.0, "standby": 1.0, "bytes": max(behind, 0.0), "seconds": seconds}


class ReadReplica:
    """Connections for lag-tolerant reads: the replica's, or the primary's while the replica is unreachable (a log
    line, then a retry every REPLICA_RETRY_S); each process reports the replica's lag as the "db_replica" gauge."""

    def __init__(self, primary: Engine, replica: Engine) -> None:
        self.primary, self.replica = primary, replica
        self._down_until = 0.0
        self._next_report = 0.0
        self._reporting = threading.Lock()

    def is_up(self) -> bool:
        return time.monotonic() >= self._down_until

    @property
    def engine(self) -> Engine:
        """The replica's engine, or the primary's while the replica is known to be down."""
        return self.replica if self.is_up() else self.primary

    def connect(self) -> Connection:
        if self.is_up():
            try:
                conn = self.replica.connect()  # pre-ping: a dead replica fails here, before any query
            except DBAPIError as exc:
                self._fall_back(exc)
            else:
                self._report_if_due()
                return conn
        return self.primary.connect()

    def report(self) -> dict:
        """Measure the lag now and put it in the metrics store (unreachable: up 0, reads fall back)."""
        try:
            lag = replica_lag(self.primary, self.replica)
        except DBAPIError as exc:
            return self._fall_back(exc)
        METRICS.sink.put_gauge("db_replica", lag)
        return lag

    def _report_if_due(self) -> None:
        if time.monotonic() < self._next_report or not self._reporting.acquire(blocking=False):
            return
        try:
            self._next_report = time.monotonic() + REPLICA_REPORT_EVERY_S
            self.report()
        finally:
            self._reporting.release()

    def _fall_back(self, exc: Exception) -> dict:
        if self.is_up():
            log.warning("read replica unreachable (%s): reading from the primary for %.0f s",
                        type(exc).__name__, REPLICA_RETRY_S)
        self._down_until = time.monotonic() + REPLICA_RETRY_S
        self._next_report = 0.0  # measure again as soon as it answers
        down = {"up": 0.0, "standby": math.nan, "bytes": math.nan, "seconds": math.nan}
        METRICS.sink.put_gauge("db_replica", down)
        return down

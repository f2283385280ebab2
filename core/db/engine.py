"""Engines tuned from settings: pool, per-session PostgreSQL settings, SQLite pragmas."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine, event, text

from core.settings import Settings

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


def make_engine(settings: Settings) -> Engine:
    """A new engine for settings.database_url."""
    if settings.is_sqlite:
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
    return create_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_use_lifo=True,  # idle connections beyond the hot set age out and get recycled
        pool_pre_ping=True,
        pool_recycle=settings.pool_recycle_s,
        pool_timeout=settings.pool_timeout_s,
        connect_args={"options": options, "application_name": "aqi-dashboard"},
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

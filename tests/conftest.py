"""Shared fixtures: a private PostgreSQL database per run, seeded demo data, an app per configuration."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.common import private_postgres
from core import cache, context
from core.db import migrate
from core.metrics import METRICS, LocalSink, MetricsStore
from core.settings import load_settings

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# A streaming standby of TEST_DATABASE_URL's server (`make test-replica`): lag-tolerant reads then go there.
TEST_DATABASE_READ_URL = os.environ.get("TEST_DATABASE_READ_URL", "")
# A fixed "now" keeps every seeded test deterministic.
SEED_END = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
SEED_DAYS = 4
SEED_STATIONS = 24


def private_database(prefix: str = "aqi_test"):
    """A fresh PostgreSQL database on the test server (its URL), dropped afterwards."""
    return private_postgres(TEST_DATABASE_URL, prefix)


@contextlib.contextmanager
def migrated_engine(dialect: str, tmp_path, prefix: str = "aqi_test"):
    """An empty, migrated database of its own: a SQLite file in tmp_path, or a private PostgreSQL database."""
    if dialect == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / f'{prefix}.db'}")
        migrate.upgrade(engine)
        yield engine
        engine.dispose()
        return
    with private_database(prefix) as url:
        engine = create_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture(scope="session")
def pg_url():
    """A fresh, private PostgreSQL database for this test run, dropped afterwards."""
    with private_database() as url:
        yield url


def settings_for_tests(**overrides):
    """Settings for a test app: no live simulation, tiles or warm-up; many sign-ins from one address."""
    values = {"environment": "test", "live_simulation": False, "map_tiles": "", "cache_warm_on_start": False,
              "login_rate_limit": "1000/minute", "pool_size": 5, "max_overflow": 5}
    return load_settings(**{**values, **overrides})


@pytest.fixture(scope="session")
def pg_settings(pg_url, tmp_path_factory):
    # Tests never see a developer's var/models: without a model unless a test trains or points at one.
    read_url = (make_url(TEST_DATABASE_READ_URL).set(database=make_url(pg_url).database)
                .render_as_string(hide_password=False) if TEST_DATABASE_READ_URL else "")
    return settings_for_tests(database_url=pg_url, database_read_url=read_url,
                              forecast_model_dir=str(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="session")
def pg_ctx(pg_settings):
    """The app context on the private PostgreSQL database (in-process cache)."""
    ctx = context.build(pg_settings)
    migrate.upgrade(ctx.engine)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def pg_engine(pg_ctx):
    return pg_ctx.engine


@pytest.fixture()
def pg_context(pg_settings, pg_engine):
    """Build contexts on the test database (sharing its engine) with other settings: `pg_context(redis_url=…)`."""
    # A context with a Redis URL moves the process-wide metrics to Redis: put back what the other tests read.
    sink = METRICS.sink

    def build(**overrides) -> context.Context:
        base = {"database_url": pg_settings.database_url, "database_read_url": pg_settings.database_read_url,
                "forecast_model_dir": pg_settings.forecast_model_dir}
        return context.build(settings_for_tests(**{**base, **overrides}), engine=pg_engine)

    yield build
    METRICS.use(sink)


@pytest.fixture()
def app_with(seeded_pg, pg_context):
    """Build a dashboard on the seeded test database with other settings: `app_with(api_rate_limit="3/minute")`."""
    from dashboard import create_app

    return lambda **overrides: create_app(ctx=pg_context(**overrides))


@pytest.fixture(scope="session")
def seeded_pg(pg_engine):
    """The PostgreSQL test database with a few days of simulated data ending at SEED_END."""
    from core.ingest.seed import seed

    seed(pg_engine, SEED_DAYS, SEED_STATIONS, seed=42, end=SEED_END)
    return pg_engine


@pytest.fixture()
def sqlite_ctx(tmp_path):
    ctx = context.build(settings_for_tests(database_url=f"sqlite:///{tmp_path / 'aqi.db'}",
                                      forecast_model_dir=str(tmp_path / "models")))
    migrate.upgrade(ctx.engine)
    yield ctx
    ctx.close()


@pytest.fixture()
def sqlite_engine(sqlite_ctx):
    return sqlite_ctx.engine


@pytest.fixture(scope="session")
def app(seeded_pg, pg_ctx):
    """The dashboard on the seeded PostgreSQL database, shared by the API and browser tests."""
    from dashboard import create_app

    return create_app(ctx=pg_ctx)


@pytest.fixture()
def client(app):
    return app.server.test_client()


@pytest.fixture()
def cache_metrics(monkeypatch):
    """The cache counts this test's hits and misses in a store of their own."""
    store = MetricsStore(LocalSink())
    monkeypatch.setattr(cache, "METRICS", store)
    return store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A throwaway redis-server process on its own port: nothing else reads or writes it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"], stdout=subprocess.PIPE)
        # Its log says when it listens; an empty line means it exited instead.
        for line in iter(self.proc.stdout.readline, b""):
            if b"Ready to accept connections" in line:
                return
        raise RuntimeError(f"redis-server did not start (exit code {self.proc.wait()})")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


@pytest.fixture()
def private_redis():
    """A Redis server of this test's own, stopped afterwards."""
    server = RedisServer()
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


class SMTPServer:
    """A real SMTP server (aiosmtpd) on its own port, keeping what it receives; stop() and start() again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.received: list = []  # email.message.EmailMessage, in arrival order
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.received.append(message)
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture()
def smtp_server():
    """A running SMTP server of this test's own (`.url` for settings.smtp_url, `.received` messages)."""
    server = SMTPServer()
    server.start()
    yield server
    if server.controller.loop.is_running():
        server.stop()

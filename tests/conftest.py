"""Shared fixtures: a private PostgreSQL database per run, seeded demo data, the Flask app."""
from __future__ import annotations

import os
import tempfile
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.db import migrate
from core.db.engine import make_engine, set_engine
from core.settings import load_settings

# Tests never see a developer's var/models: without a model unless a test trains or points at one.
os.environ.setdefault("AQI_FORECAST_MODEL_DIR", tempfile.mkdtemp(prefix="aqi-test-models-"))

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# A fixed "now" keeps every seeded test deterministic.
SEED_END = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
SEED_DAYS = 4
SEED_STATIONS = 24


@pytest.fixture(scope="session")
def pg_url():
    """A fresh, private PostgreSQL database for this test run, dropped afterwards."""
    base = make_url(TEST_DATABASE_URL)
    name = f"aqi_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_settings(pg_url):
    return load_settings(database_url=pg_url, environment="test", live_simulation=False, map_tiles="",
                         pool_size=5, max_overflow=5)


@pytest.fixture(scope="session")
def pg_engine(pg_settings):
    engine = make_engine(pg_settings)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def seeded_pg(pg_engine):
    """The PostgreSQL test database with a few days of simulated data ending at SEED_END."""
    from core.ingest.seed import seed

    seed(pg_engine, SEED_DAYS, SEED_STATIONS, seed=42, end=SEED_END)
    return pg_engine


@pytest.fixture()
def sqlite_engine(tmp_path):
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'aqi.db'}", environment="test")
    engine = make_engine(settings)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app(seeded_pg, pg_settings):
    from core import settings as settings_module
    from dashboard import create_app

    settings_module.get_settings.cache_clear()
    os.environ.update({"DATABASE_URL": pg_settings.database_url, "AQI_MAP_TILES": "",
                       "AQI_LIVE_SIMULATION": "false", "AQI_ENVIRONMENT": "test",
                       "AQI_CACHE_WARM_ON_START": "false",
                       # Many sign-ins from one test address; the limit itself has its own test.
                       "AQI_LOGIN_RATE_LIMIT": "1000/minute"})
    set_engine(seeded_pg)
    return create_app(settings_module.get_settings(), seeded_pg)


@pytest.fixture()
def client(app):
    return app.server.test_client()

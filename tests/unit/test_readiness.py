"""Readiness checks without a running service: no Redis URL, a port where nothing listens, SQLite, no model."""
import socket

from core import readiness
from core.cache import AppCache
from core.forecast import ModelSlot
from core.settings import load_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cache_is_in_process_without_redis_url():
    assert AppCache(load_settings(redis_url="")).ping() == {"status": "ok", "backend": "in-process"}


def test_cache_reports_redis_down_without_raising():
    report = AppCache(load_settings(redis_url=f"redis://127.0.0.1:{_free_port()}/0")).ping()
    assert report["status"] == "down" and report["error"] == "ConnectionError"


def test_database_reports_ok_with_revision(sqlite_engine):
    from alembic.script import ScriptDirectory
    from alembic.config import Config
    from core.db.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    report = readiness.database(sqlite_engine)
    assert report == {"status": "ok", "dialect": "sqlite", "revision": ScriptDirectory.from_config(config).get_current_head()}


def test_a_missing_model_is_reported_down_with_what_to_do(tmp_path):
    report = readiness.model(ModelSlot(load_settings(environment="test", forecast_model_dir=str(tmp_path))))
    assert report["status"] == "down" and report["model"] == "missing" and report["version"] is None
    assert "python app.py train" in report["message"]

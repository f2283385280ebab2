"""The command line (dashboard/cli.py) on a fresh SQLite file per test, with `python app.py`'s arguments of old."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from core.db.models import Measurement
from core.settings import ROOT, load_settings
from core.users import authenticate
from dashboard import cli as cli_module
from dashboard.cli import cli, report_import

OPENAQ_CSV = Path(__file__).resolve().parents[1] / "fixtures" / "openaq_location-2178-20240101.csv"


@pytest.fixture()
def settings(tmp_path):
    return load_settings(database_url=f"sqlite:///{tmp_path / 'aqi.db'}", environment="test", redis_url="",
                         seed_days=1, seed_stations=6, live_simulation=False, forecast_train_on_start=False,
                         forecast_batch_enabled=False, cache_warm_on_start=False)


@pytest.fixture()
def invoke(settings):
    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), obj=settings, input=input)

    return invoke


@pytest.fixture()
def engine(settings):
    engine = create_engine(settings.database_url)
    yield engine
    engine.dispose()


def app_py(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python app.py ARGS` in a child process, its environment overridden by `env`."""
    environment = {k: v for k, v in os.environ.items() if not k.upper().endswith("DATABASE_URL")} | env
    return subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, env=environment, check=False,
                          capture_output=True, text=True, timeout=120)


def test_db_upgrade_takes_a_new_database_to_the_revision_db_current_reports(invoke):
    assert invoke("db", "current").output == "database at revision None\n"
    upgraded = invoke("db", "upgrade")
    assert upgraded.exit_code == 0 and upgraded.output.startswith("database at revision 0")
    assert invoke("db", "current").output == upgraded.output


def test_users_create_passwd_disable_and_list(invoke, engine):
    created = invoke("users", "create", "ana", "--role", "operator", "--password", "first-password")
    assert (created.exit_code, created.output) == (0, "created operator 'ana'\n")
    assert authenticate(engine, "ana", "first-password")["role"] == "operator"

    assert invoke("users", "passwd", "ana", "--password", "second-password").exit_code == 0
    assert authenticate(engine, "ana", "first-password") is None
    assert authenticate(engine, "ana", "second-password") is not None

    prompted = invoke("users", "passwd", "ana", input="third-password\nthird-password\n")
    assert prompted.exit_code == 0 and "third-password" not in prompted.output  # the prompt hides what is typed
    assert authenticate(engine, "ana", "third-password") is not None

    assert invoke("users", "disable", "ana").output == "disabled 'ana'\n"
    assert authenticate(engine, "ana", "third-password") is None
    [line] = invoke("users", "list").output.splitlines()
    assert line.split()[:3] == ["ana", "operator", "inactive"]


def test_passwd_mismatch_is_asked_again(invoke, engine):
    invoke("users", "create", "ana", "--password", "first-password")
    result = invoke("users", "passwd", "ana", input="second-password\ntypo-password\nsecond-password\nsecond-password\n")
    assert result.exit_code == 0 and "do not match" in result.output
    assert authenticate(engine, "ana", "second-password") is not None


@pytest.mark.parametrize("args, message", [
    (("users", "passwd", "ana", "--password", "short"), "error: password must be at least 10 characters"),
    (("users", "passwd", "nobody", "--password", "long-enough-1"), "error: no user named 'nobody'"),
    (("users", "disable", "nobody"), "error: no user named 'nobody'"),
    (("users", "create", "ana", "--password", "other-password"), "error: user 'ana' already exists"),
])
def test_user_errors_say_what_is_wrong_and_exit_1(invoke, args, message):
    invoke("users", "create", "ana", "--password", "first-password")
    result = invoke(*args)
    assert (result.exit_code, result.stderr.strip()) == (1, message)


def test_users_create_without_a_password_prints_the_random_one(invoke, engine):
    result = invoke("users", "create", "root", "--role", "admin")
    password = result.output.strip().rsplit(": ", 1)[1]
    assert result.output.startswith("created admin 'root' with password: ")
    assert authenticate(engine, "root", password)["role"] == "admin"


@pytest.mark.parametrize("args", [("import", str(OPENAQ_CSV), "--strict"), ("import", "--strict", str(OPENAQ_CSV))])
def test_strict_import_with_rejected_lines_exits_1_and_loads_nothing(invoke, engine, args):
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "rejected line(s); nothing loaded" in result.stderr
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Measurement)) == 0


@pytest.mark.parametrize("args", [("import",), ("users", "create"), ("users", "create", "x", "--role", "root"),
                                  ("db", "downgrade"), ("train", "--epochs", "many")])
def test_malformed_arguments_are_usage_errors(invoke, args):
    assert invoke(*args).exit_code == 2


def test_seed_takes_days_and_stations(invoke):
    result = invoke("seed", "--days", "1", "--stations", "6")
    assert result.exit_code == 0
    assert "for 6 stations in 6 cities" in result.stdout.splitlines()[-1]


def test_no_command_runs_prepare_then_serves_once_and_a_second_start_reuses_it(invoke, settings, monkeypatch):
    served = []

    class App:
        def run(self, host, port, debug):
            served.append((host, port, debug))

    monkeypatch.setattr(cli_module, "create_app", lambda ctx: App())
    first = invoke()
    assert first.exit_code == 0, first.output
    assert "Seeded " in first.output and "Created the first admin user 'admin' with password: " in first.output
    again = invoke("run")
    assert "Seeded " not in again.output and "first admin" not in again.output
    assert served == [(settings.host, settings.port, False)] * 2


def test_import_report_prints_whatever_the_summary_holds(capsys):
    @dataclass
    class Rejected:
        line: int
        reason: str

    @dataclass
    class Summary:
        path: str
        source: str
        loaded: int
        rejected: list = field(default_factory=list)
        skipped: dict = field(default_factory=dict)

    report_import("a.csv", Summary("a.csv", "openaq", 1200, [Rejected(9, "negative")], {"no unit": 3}))
    assert capsys.readouterr().out.splitlines() == [
        "a.csv: source openaq, loaded 1,200, 1 rejected, 1 skipped",
        "  rejected: line 9, reason negative",
        "  skipped 3: no unit",
    ]


def test_app_py_db_current_in_a_process_of_its_own(invoke, settings):
    upgraded = invoke("db", "upgrade").output
    result = app_py("db", "current", DATABASE_URL=settings.database_url)
    assert (result.returncode, result.stdout) == (0, upgraded)


def test_invalid_settings_print_an_error_and_exit_2(settings):
    result = app_py("db", "current", DATABASE_URL=settings.database_url, AQI_POOL_SIZE="0")
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid settings: pool_size")

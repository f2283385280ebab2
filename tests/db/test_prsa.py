"""The Beijing PRSA file: parsed (UTC hours, weather), imported by `python app.py import`, backtested by the CLI."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from core.db.models import Measurement, Station
from core.ingest.files import parse_file
from core.settings import load_settings
from dashboard.cli import cli

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "prsa" / "PRSA_2014-02-01_2014-03-17.csv"


def test_prsa_file_is_recognised_with_utc_hour_starts_and_na_as_missing():
    result = parse_file(SLICE)
    assert result.source == "prsa" and result.lines_read == 1080 and not result.rejected
    assert result.skipped["missing value (empty)"] == 3 and len(result.measurements) == 1077
    first = result.measurements.iloc[0]
    # 2014-02-01 00:00 Beijing time (UTC+8) is 2014-01-31 16:00 UTC.
    assert first["ts"] == pd.Timestamp("2014-01-31T16:00Z") and first["value"] == 183.0
    assert result.stations[0].timezone == "Asia/Shanghai" and result.stations[0].area == "Beijing"


def test_prsa_weather_gives_humidity_from_dew_point_and_hourly_wind_from_cumulated_speed():
    weather = parse_file(SLICE).site_weather.pivot_table(index="ts", columns="variable", values="value")
    hour = weather.loc[pd.Timestamp("2014-01-31T16:00Z")]
    assert hour["temperature_c"] == 2 and hour["pressure_hpa"] == 1019
    assert hour["humidity_pct"] == pytest.approx(59.8, abs=0.1)  # dew point −5 °C at 2 °C (Magnus)
    assert hour["wind_dir_deg"] == 45 and hour["wind_speed_ms"] == pytest.approx(0.89)
    calm = weather.loc[pd.Timestamp("2014-01-31T17:00Z")]
    assert pd.isna(calm.get("wind_dir_deg")) and calm["wind_speed_ms"] == pytest.approx(0.45)
    # NW runs 1.79, 2.68, 4.47: the hourly speeds are 1.79, 0.89, 1.79.
    run = weather["wind_speed_ms"].loc["2014-01-31T18:00Z":"2014-01-31T20:00Z"].round(2).tolist()
    assert run == [1.79, 0.89, 1.79]
    assert weather["humidity_pct"].between(0, 100).all()


@pytest.fixture()
def invoke(tmp_path):
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'aqi.db'}", environment="test", redis_url="",
                             live_simulation=False, forecast_train_on_start=False, forecast_batch_enabled=False,
                             cache_warm_on_start=False, forecast_model_dir=str(tmp_path / "models"))

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), obj=settings)

    run.url = settings.database_url
    return run


def test_import_then_backtest_prints_the_skill_table_against_every_baseline(invoke, tmp_path):
    imported = invoke("import", str(SLICE))
    assert imported.exit_code == 0, imported.output
    engine = create_engine(invoke.url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Measurement)).scalar_one() == 1077
        assert conn.execute(select(Station.name)).scalar_one() == "Beijing US Embassy"
    engine.dispose()
    out = tmp_path / "plots"
    result = invoke("backtest", "--from", "2014-03-08", "--to", "2014-03-17T15", "--epochs", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "past inputs only" in result.output
    for name in ("persistence", "same_hour_ye", "mean_24h", "climatology", "coverage"):
        assert name in result.output
    assert "o3: no held-out observations" in result.output
    assert "best baseline at every horizon" in result.output
    assert min(p.name for p in out.iterdir()).startswith("reliability-pm25-past_only.")
    assert not list(tmp_path.glob("models/*.json"))  # a backtest's model is never put in service


def test_backtest_without_enough_history_before_its_start_says_what_is_missing(invoke):
    assert invoke("import", str(SLICE)).exit_code == 0
    result = invoke("backtest", "--from", "2014-02-02", "--to", "2014-03-17T15", "--epochs", "1")
    assert result.exit_code == 1
    assert "needs 120 hours before its start" in result.output

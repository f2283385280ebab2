"""Open-Meteo's CSV download through `import` (the file Open-Meteo's own server test writes), SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.db.models import City, Weather
from core.ingest.files import ImportRejected, import_file
from core.ingest.tabular import ImportFormatError
from tests.conftest import migrated_engine, settings_for_tests

EXPORT = Path(__file__).resolve().parents[1] / "fixtures" / "open_meteo" / "export_server_test.csv"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)  # every hour of the file is past: archive rows


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """A migrated database with Sitges (31 km from the file's 41.0, 2.0) and Delhi."""
    with migrated_engine(request.param, tmp_path, "aqi_weather_csv") as engine:
        yield from _with_cities(engine)


def _with_cities(engine):
    with engine.begin() as conn:
        conn.execute(City.__table__.insert(), [
            {"id": 1, "name": "Sitges", "country": "ES", "timezone": "Europe/Madrid", "lat": 41.2372, "lon": 1.8059},
            {"id": 2, "name": "Delhi", "country": "IN", "timezone": "Asia/Kolkata", "lat": 28.61, "lon": 77.21}])
    yield engine


def weather(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(select(Weather).order_by(Weather.city_id, Weather.ts), conn)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def test_the_hourly_block_loads_as_the_nearest_citys_weather_in_utc(engine):
    summary = import_file(engine, EXPORT, now=NOW)
    assert (summary.source, summary.loaded, summary.lines_read, summary.cities) == ("open-meteo-csv", 48, 48,
                                                                                   ["Sitges"])
    assert summary.conversions == ["windspeed_10m: km/h → the weather table's unit"]
    rows = weather(engine)
    assert set(rows["city_id"]) == {1} and set(rows["source"]) == {"archive"}
    # "2022-07-12T01:00" at utc_offset_seconds 3600 is 00:00 UTC; the current and daily blocks are not hours.
    assert rows["ts"].iloc[0] == pd.Timestamp("2022-07-12T00:00Z") and rows["ts"].iloc[-1] == pd.Timestamp(
        "2022-07-13T23:00Z")
    assert rows["temperature_c"].eq(20.0).all() and rows["wind_speed_ms"].round(3).eq(2.778).all()
    assert rows["humidity_pct"].isna().all()
    assert import_file(engine, EXPORT, now=NOW).loaded == 0 and len(weather(engine)) == 48  # nothing changed


def test_a_named_city_wins_and_observed_hours_are_kept(engine):
    with engine.begin() as conn:
        conn.execute(Weather.__table__.insert(), [{"city_id": 2, "ts": datetime(2022, 7, 12, 5, tzinfo=timezone.utc),
                                                   "temperature_c": 31.0}])
    import_file(engine, EXPORT, city="Delhi", now=NOW)
    rows = weather(engine).set_index("ts")
    assert set(rows["city_id"]) == {2} and len(rows) == 48
    assert rows.loc[pd.Timestamp("2022-07-12T05:00Z"), ["temperature_c", "source"]].tolist() == [31.0, "observed"]


def test_bad_rows_are_rejected_by_line_and_strict_loads_nothing(engine, tmp_path):
    lines = EXPORT.read_text(encoding="utf-8").split("\n")
    assert lines[7] == "2022-07-12T01:00,20.0,10.0"  # line 8: the first hour
    lines[8] = "2022-07-12T02:00,warm,10.0"
    lines[9] = "2022-07-12T03:00,75.0,10.0"
    lines[10] = "2022-07-12T04:00,20.0"
    lines[11] = "2022-07-12T01:00,20.0,10.0"
    bad = tmp_path / "export.csv"
    bad.write_text("\n".join(lines), encoding="utf-8")

    with pytest.raises(ImportRejected, match="4 rejected line"):
        import_file(engine, bad, strict=True, now=NOW)
    assert weather(engine).empty

    summary = import_file(engine, bad, now=NOW)
    assert [(r.line, r.reason) for r in summary.rejected] == [
        (9, "temperature_c: 'warm' is not a number"), (10, "temperature_c: 75 is outside -90…60"),
        (11, "expected 3 fields, found 2"), (12, "hour 2022-07-12 00:00 UTC repeated")]
    assert summary.loaded == 44 == len(weather(engine))


def test_files_it_cannot_place_or_read_say_why_and_write_nothing(engine, tmp_path):
    far = tmp_path / "far.csv"
    far.write_text(EXPORT.read_text(encoding="utf-8").replace("41.0,2.0,NaN", "-33.9,18.4,NaN"), encoding="utf-8")
    with pytest.raises(ImportFormatError, match="no city within 50 km of -33.9, 18.4: name it with --city"):
        import_file(engine, far, now=NOW)
    with pytest.raises(ImportFormatError, match="no city named 'Atlantis'"):
        import_file(engine, EXPORT, city="Atlantis", now=NOW)
    several = tmp_path / "several.csv"
    several.write_text("location_id,latitude,longitude,elevation,utc_offset_seconds,timezone,timezone_abbreviation\n"
                       "0,41.0,2.0,NaN,3600,GMT,GMT\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="several locations in one file"):
        import_file(engine, several, now=NOW)
    daily_only = tmp_path / "daily.csv"
    daily_only.write_text("\n".join(EXPORT.read_text(encoding="utf-8").split("\n")[:3] + [
        "time,temperature_2m_mean (°C)", "2022-07-12,20.0", ""]), encoding="utf-8")
    with pytest.raises(ImportFormatError, match="no hourly block"):
        import_file(engine, daily_only, now=NOW)
    assert weather(engine).empty


def test_the_import_command_loads_the_download_and_names_the_city(tmp_path):
    from dashboard.cli import cli

    settings = settings_for_tests(database_url=f"sqlite:///{tmp_path / 'cli.db'}",
                                  forecast_model_dir=str(tmp_path / "models"))
    with migrated_engine("sqlite", tmp_path, "cli") as engine:
        list(_with_cities(engine))
    result = CliRunner().invoke(cli, ["import", str(EXPORT)], obj=settings)
    assert result.exit_code == 0, result.output
    assert "source open-meteo-csv" in result.output and "loaded 48" in result.output and "cities: Sitges" in result.output
    result = CliRunner().invoke(cli, ["import", str(EXPORT), "--city", "Nowhere"], obj=settings)
    assert result.exit_code == 1 and "error: " in result.output and "no city named 'Nowhere'" in result.output


def test_unix_seconds_before_1970_and_precipitation_of_the_preceding_hour(tmp_path):
    from core.ingest.open_meteo import parse_export

    text = ("latitude,longitude,elevation,utc_offset_seconds,timezone,timezone_abbreviation\n"
            "52.3,6.9,29.0,0,GMT,GMT\n\n"
            "time,temperature_2m (°C),precipitation (mm)\n"
            "-533095200,5.8,0.00\n-533091600,5.5,0.40\n-533088000,5.1,0.10\n")  # 1953-02-08T22:00Z …
    export = parse_export(text, tmp_path / "archive.csv")
    assert export.rejected == []
    assert list(export.frame["ts"]) == list(pd.date_range("1953-02-08T22:00Z", periods=3, freq="h"))
    assert list(export.frame["temperature_c"]) == [5.8, 5.5, 5.1]
    assert list(export.frame["precipitation_mm"].fillna(-1)) == [0.4, 0.1, -1]
    with pytest.raises(ImportFormatError, match="expected the location row"):
        parse_export("", tmp_path / "empty.csv")

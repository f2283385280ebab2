"""Open-Meteo's JSON answers as recorded (tests/fixtures/open_meteo/README.md), parsed without a database."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.feeds.open_meteo import (CAMS, HOURLY, ResponseError, parse_response, to_storage_units,
                                   to_weather_units)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "open_meteo"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_iso_times_are_local_to_the_answers_offset_and_stored_as_utc():
    ((frame, units),) = parse_response(_read("forecast_enschede.json"), HOURLY, 1)
    # utc_offset_seconds 7200: local 00:00 is 22:00 UTC the day before.
    assert list(frame["ts"]) == list(pd.date_range("2026-10-02T22:00Z", periods=3, freq="h"))
    assert units["wind_speed_ms"] == "km/h" and units["pressure_hpa"] == "hPa"
    weather, dropped = to_weather_units(frame, units)
    assert dropped == 0
    assert list(weather["wind_speed_ms"]) == pytest.approx([2.5, 8.3 / 3.6, 6.8 / 3.6], abs=1e-3)
    assert list(weather["pressure_hpa"]) == [1027.9, 1028.1, 1027.9]
    assert list(weather["humidity_pct"]) == [87, 90, 92] and list(weather["wind_dir_deg"]) == [142, 144, 153]


def test_multi_location_list_keeps_request_order_and_unix_times_match_iso_ones():
    unix = parse_response(_read("multi_location_unixtime.json"), HOURLY, 2)
    iso = parse_response(_read("multi_location_iso8601.json"), HOURLY, 2)
    assert len(unix) == len(iso) == 2
    for (a, units), (b, _) in zip(unix, iso):
        assert list(a["ts"]) == list(b["ts"])  # 1657584000 = 2022-07-12T00:00Z = "2022-07-12T01:00" at +3600
        assert a["ts"].iloc[0] == pd.Timestamp("2022-07-12T00:00Z") and len(a) == 48
        assert units == {"temperature_c": "°C", "wind_speed_ms": "km/h"}  # the pre-2023 name windspeed_10m
    with pytest.raises(ResponseError, match="asked for 3 location"):
        parse_response(_read("multi_location_unixtime.json"), HOURLY, 3)


def test_variables_not_sent_stay_missing_and_unknown_ones_are_ignored():
    ((frame, units),) = parse_response(_read("archive_enschede_1953.json"), HOURLY, 1)
    assert set(units) == {"temperature_c", "wind_speed_ms"}  # soil moisture is not ours
    weather, _ = to_weather_units(frame, units)
    assert weather["humidity_pct"].isna().all() and weather["precipitation_mm"].isna().all()
    assert list(weather["temperature_c"]) == [5.8, 5.5, 5.1]


def test_cams_micrograms_become_storage_units_and_the_greek_mu_is_understood():
    ((frame, units),) = parse_response(_read("air_quality_enschede.json"), CAMS, 1)
    assert units["o3"] == "\u03bcg/m\u00b3"
    rows, dropped = to_storage_units(frame, units)
    assert dropped == 0
    first = rows[rows["ts"] == pd.Timestamp("2026-10-02T22:00Z")].set_index("parameter")
    assert first.loc["pm25", "value"] == 20.5 and first.loc["pm25", "unit"] == "µg/m³"
    # 33 µg/m³ of ozone at 25 °C: 33 × 24.45 / 48.00 = 16.81 ppb; CO 263 µg/m³ = 0.2296 ppm.
    assert first.loc["o3", "value"] == pytest.approx(16.809, abs=1e-3) and first.loc["o3", "unit"] == "ppb"
    assert first.loc["no2", "value"] == pytest.approx(20.7 * 24.45 / 46.01, abs=1e-3)
    assert first.loc["co", "value"] == pytest.approx(0.2296, abs=1e-4) and first.loc["co", "unit"] == "ppm"


def test_nulls_stay_missing_and_impossible_values_are_dropped_and_counted():
    body = (b'{"utc_offset_seconds":0,"hourly_units":{"time":"unixtime","relative_humidity_2m":"%",'
            b'"temperature_2m":"\xc2\xb0C"},"hourly":{"time":[0,3600],"relative_humidity_2m":[null,140],'
            b'"temperature_2m":[1.5,null]}}')
    ((frame, units),) = parse_response(body, HOURLY, 1)
    weather, dropped = to_weather_units(frame, units)
    assert dropped == 1
    assert np.isnan(weather["humidity_pct"]).all() and list(weather["temperature_c"].fillna(-1)) == [1.5, -1]


@pytest.mark.parametrize("body, message", [
    (FIXTURES / "error_400.json", "refused the request: Cannot initialize WeatherVariable"),
    (b"<html>", "not JSON"),
    (b'{"hourly_units":{"time":"unixtime"},"hourly":{"time":[0,3600],"temperature_2m":[1.0]}}', "has 1 values"),
    (b'{"hourly_units":{"time":"iso8601"},"hourly":{"time":["yesterday"]}}', "not iso8601"),
    (b'{"latitude":1}', "no hourly block"),
    (b'{"hourly_units":[],"hourly":{"time":5}}', "no hourly block"),
    (b'[1]', "no hourly block"),
])
def test_unusable_answers_say_why(body, message):
    content = body.read_bytes() if isinstance(body, Path) else body
    with pytest.raises(ResponseError, match=message):
        parse_response(content, HOURLY, 1)


def test_a_unit_we_do_not_know_is_refused_rather_than_stored():
    body = b'{"hourly_units":{"time":"unixtime","surface_pressure":"inHg"},"hourly":{"time":[0],"surface_pressure":[30]}}'
    ((frame, units),) = parse_response(body, HOURLY, 1)
    with pytest.raises(ResponseError, match="unexpected unit 'inHg' for pressure_hpa"):
        to_weather_units(frame, units)


def test_precipitation_of_the_preceding_hour_lands_on_the_hour_it_fell_in():
    # Open-Meteo: precipitation at T is the sum of the hour before T; a weather row is the hour starting at ts.
    body = (b'{"utc_offset_seconds":0,"hourly_units":{"time":"unixtime","precipitation":"mm",'
            b'"temperature_2m":"\xc2\xb0C"},"hourly":{"time":[0,3600,7200],"precipitation":[0.1,0.2,0.3],'
            b'"temperature_2m":[1.0,2.0,3.0]}}')
    ((frame, units),) = parse_response(body, HOURLY, 1)
    weather, _ = to_weather_units(frame, units)
    assert list(weather["temperature_c"]) == [1.0, 2.0, 3.0]  # instantaneous: stays on its hour
    assert list(weather["precipitation_mm"].fillna(-1)) == [0.2, 0.3, -1]  # 00:00–01:00 is what T=01:00 sent

"""Calculator: input checking, units, result shape, and the reverse direction's round trips."""
import json
import math
from decimal import Decimal

import pytest

from core.aqi import AQIError, india, us_epa
from core.aqi.calculator import POLLUTANT_CODES, STANDARDS, calculate, concentration_range, table_unit


def test_every_standard_lists_its_pollutant_codes():
    assert STANDARDS == ("us_epa", "india_naqi", "eea")
    assert set(POLLUTANT_CODES["us_epa"]) == {"pm25_24h", "pm25_1h", "pm10_24h", "pm10_1h", "o3_8h", "o3_1h",
                                              "co_8h", "so2_1h", "so2_24h", "no2_1h"}
    assert set(POLLUTANT_CODES["india_naqi"]) == {"pm25_24h", "pm10_24h", "no2_24h", "so2_24h", "co_8h", "o3_8h",
                                                  "o3_1h", "nh3_24h", "pb_24h"}
    assert POLLUTANT_CODES["eea"] == ("pm25_1h", "pm10_1h", "no2_1h", "o3_1h", "so2_1h")


def test_pollutant_not_in_the_standard_names_what_it_accepts():
    with pytest.raises(AQIError) as error:
        calculate("eea", "o3_8h", 10)
    assert str(error.value) == ("pollutant 'o3_8h' is not defined by eea; it accepts: "
                                "pm25_1h, pm10_1h, no2_1h, o3_1h, so2_1h")


@pytest.mark.parametrize(("args", "message"), [
    (("who", "pm25_24h", 10), "unknown standard 'who'"),
    (("us_epa", "benzene", 10), "unknown pollutant 'benzene'"),
    (("us_epa", "no2_24h", 10), "not defined by us_epa"),
    (("us_epa", "pm25_24h", -0.1), "must not be negative"),
    (("us_epa", "pm25_24h", "-3"), "must not be negative"),
    (("us_epa", "pm25_24h", "abc"), "must be a number"),
    (("us_epa", "pm25_24h", ""), "must be a number"),
    (("us_epa", "pm25_24h", None), "must be a number"),
    (("us_epa", "pm25_24h", True), "must be a number"),
    (("us_epa", "pm25_24h", float("nan")), "finite"),
    (("us_epa", "pm25_24h", "NaN"), "finite"),
    (("us_epa", "pm25_24h", float("inf")), "finite"),
    (("us_epa", "pm25_24h", "1e12"), "too large"),
    (("us_epa", "pm25_24h", 10, "grains"), "unknown unit 'grains'"),
    (("us_epa", "pm25_24h", 10, "ppb"), "ppb and ppm do not apply"),
    (("india_naqi", "pb_24h", 1, "ppm"), "ppb and ppm do not apply"),
])
def test_bad_input_raises_a_user_facing_error(args, message):
    with pytest.raises(AQIError, match=message):
        calculate(*args)


def test_aqi_error_is_a_value_error():
    assert issubclass(AQIError, ValueError)


@pytest.mark.parametrize("unit", ["ug/m3", "µg/m³", "µg/m3", "μg/m³", "UG/M3", " ug/m3 "])
def test_microgram_spellings_are_all_accepted(unit):
    result = calculate("us_epa", "pm25_24h", 35.5, unit)
    assert result["aqi"] == 101 and result["unit"] == "µg/m³"


@pytest.mark.parametrize(("standard", "pollutant", "unit"), [
    ("us_epa", "o3_8h", "ppm"), ("us_epa", "o3_1h", "ppm"), ("us_epa", "co_8h", "ppm"), ("us_epa", "so2_1h", "ppb"),
    ("us_epa", "no2_1h", "ppb"), ("us_epa", "pm25_24h", "ug/m3"), ("india_naqi", "co_8h", "mg/m3"),
    ("india_naqi", "o3_8h", "ug/m3"), ("india_naqi", "no2_24h", "ug/m3"), ("eea", "so2_1h", "ug/m3"),
])
def test_default_unit_is_the_standards_own(standard, pollutant, unit):
    assert table_unit(standard, pollutant) == unit


@pytest.mark.parametrize(("args", "expected"), [
    (("us_epa", "o3_8h", 70, "ppb"), 100),          # 70 ppb = 0.070 ppm → 100
    (("us_epa", "o3_8h", "0.0709", "PPM"), 100),
    (("us_epa", "no2_1h", 100, "ug/m3"), 50),       # 100 × 24.45/46.01 = 53.14 ppb → 53 → 50
    (("us_epa", "co_8h", 5, "mg/m3"), 49),          # 5 × 24.45/28.01 = 4.36 ppm → 4.3 → 50/4.4·4.3 = 48.9 → 49
    (("us_epa", "so2_1h", "0.036", "ppm"), 51),     # 36 ppb
    (("us_epa", "pm25_24h", "0.0355", "mg/m3"), 101),  # 35.5 µg/m³
    (("india_naqi", "no2_24h", 21.3, "ppb"), 50),   # 21.3 × 46.01/24.45 = 40.08 µg/m³ → 40 → 50
])
def test_other_units_are_converted_at_25_degrees(args, expected):
    assert calculate(*args)["aqi"] == expected


def test_result_shape_is_plain_json():
    result = calculate("us_epa", "pm25_24h", "12.5")
    assert {"aqi", "category", "color", "standard", "pollutant", "concentration", "unit", "health_message",
            "sensitive_groups"} <= set(result)
    assert result["concentration"] == 12.5 and isinstance(result["concentration"], float)
    assert result["color"] == "#FFFF00" and result["standard"] == "us_epa" and result["pollutant"] == "pm25_24h"
    json.dumps(result)
    json.dumps(calculate("eea", "pm25_1h", 3))
    json.dumps(calculate("us_epa", "o3_8h", "0.3"))


def test_no_index_result_is_grey_and_explains_why():
    result = calculate("us_epa", "o3_8h", "0.250")
    assert result["aqi"] is None and result["category"] == "No index" and result["color"].startswith("#")
    assert "1-hour" in result["note"]


def _step(standard: str, pollutant: str) -> Decimal:
    """The table's reporting step (EEA: 1 µg/m³, its rounding step)."""
    if standard == "eea":
        return Decimal(1)
    scales = us_epa.SCALES if standard == "us_epa" else india.SCALES
    return Decimal(1).scaleb(-scales[pollutant].decimals)


def _round_trip_cases():
    cases = []
    for standard in STANDARDS:
        top = 7 if standard == "eea" else 520 if standard == "india_naqi" else 700
        for pollutant in POLLUTANT_CODES[standard]:
            for aqi in range(1 if standard == "eea" else 0, top):
                cases.append((standard, pollutant, aqi))
    return cases


def test_reverse_direction_round_trips_for_every_reachable_index():
    checked = 0
    for standard, pollutant, aqi in _round_trip_cases():
        try:
            span = concentration_range(standard, pollutant, aqi)
        except AQIError:
            continue
        key = "level" if standard == "eea" else "aqi"
        assert calculate(standard, pollutant, span["low"])[key] == aqi, (standard, pollutant, aqi)
        step = _step(standard, pollutant)
        below = Decimal(repr(span["low"])) - step
        if below >= 0:
            assert (calculate(standard, pollutant, str(below))[key] or -1) < aqi, (standard, pollutant, aqi)
        if span["high"] is not None:
            assert calculate(standard, pollutant, span["high"])[key] == aqi, (standard, pollutant, aqi)
            above = str(Decimal(repr(span["high"])) + step)
            assert (calculate(standard, pollutant, above)[key] or math.inf) > aqi, (standard, pollutant, aqi)
        checked += 1
    assert checked > 5000


@pytest.mark.parametrize(("standard", "pollutant", "aqi", "low", "high"), [
    ("us_epa", "pm25_24h", 50, 9.0, 9.0),     # 50/9·8.9 = 49.4 → 49: only 9.0 gives 50
    ("us_epa", "pm25_24h", 101, 35.5, 35.7),  # 35.7 → 49/19.9·0.2 + 101 = 101.49 → 101; 35.8 → 101.74 → 102
    ("us_epa", "pm25_24h", 0, 0.0, 0.0),      # 0.1 → 50/9·0.1 = 0.56 → 1
    ("us_epa", "so2_1h", 200, 303.0, None),   # 49/118·117 + 151 = 199.6 → 200 (302 → 199.2); 305+ is 200 too
    ("india_naqi", "pm25_24h", 75, 45.0, 45.0),  # 44 → 49/29·13 + 51 = 73.0; 46 → 76.3
    ("india_naqi", "pm25_24h", 500, 380.0, None),  # 379 → 99/129·128 + 401 = 499.2; above 380 capped
    ("eea", "o3_1h", 3, 101.0, 120.0),
])
def test_concentration_range_known_intervals(standard, pollutant, aqi, low, high):
    result = concentration_range(standard, pollutant, aqi)
    assert (result["low"], result["high"]) == (low, high)
    assert result["aqi"] == aqi and result["category"] and result["color"].startswith("#")


def test_concentration_range_in_another_unit_round_trips():
    result = concentration_range("us_epa", "o3_8h", 100, "ppb")
    assert (result["low"], result["high"], result["unit"]) == (70.0, 70.0, "ppb")
    span = concentration_range("us_epa", "o3_8h", 126, "ug/m3")
    assert calculate("us_epa", "o3_8h", span["low"], "ug/m3")["aqi"] == 126


@pytest.mark.parametrize(("args", "message"), [
    (("us_epa", "pm25_24h", -1), "must not be negative"),
    (("us_epa", "pm25_24h", 50.5), "whole number"),
    (("us_epa", "pm25_24h", True), "whole number"),
    (("india_naqi", "pm25_24h", 501), "0 to 500"),
    (("eea", "pm25_1h", 0), "levels run from 1 to 6"),
    (("eea", "pm25_1h", 7), "levels run from 1 to 6"),
    (("us_epa", "o3_8h", 301), "0–300"),
    (("us_epa", "o3_1h", 100), "101 and up"),
    (("us_epa", "so2_1h", 201), "0–200"),
    (("us_epa", "so2_24h", 200), "201 and up"),
    (("us_epa", "o3_8h", 52), "no o3_8h concentration gives exactly 52"),
    (("us_epa", "pm25_24h", 10, "ppb"), "ppb and ppm do not apply"),
    (("eea", "co_8h", 1), "not defined by eea"),
])
def test_concentration_range_rejects_bad_input(args, message):
    with pytest.raises(AQIError, match=message):
        concentration_range(*args)

"""India NAQI (CPCB 2014): breakpoint edges, the check value, the 500 cap and completeness rules."""
import numpy as np
import pytest

from core.aqi.calculator import calculate
from core.aqi.engine import compute_indexes
from core.aqi.india import SCALES

# Transcribed by hand from AQI_STANDARDS.md, both sides of every edge: (concentration, index).
EDGES = {
    "pm10_24h": [("0", 0), ("50", 50), ("51", 51), ("100", 100), ("101", 101), ("250", 200), ("251", 201),
                 ("350", 300), ("351", 301), ("430", 400), ("431", 401), ("510", 500)],
    "pm25_24h": [("0", 0), ("30", 50), ("31", 51), ("60", 100), ("61", 101), ("90", 200), ("91", 201),
                 ("120", 300), ("121", 301), ("250", 400), ("251", 401), ("380", 500)],
    "no2_24h": [("40", 50), ("41", 51), ("80", 100), ("81", 101), ("180", 200), ("181", 201), ("280", 300),
                ("281", 301), ("400", 400), ("401", 401), ("520", 500)],
    "o3_8h": [("50", 50), ("51", 51), ("100", 100), ("101", 101), ("168", 200), ("169", 201), ("208", 300),
              ("209", 301), ("748", 400), ("749", 401), ("1288", 500)],
    "o3_1h": [("209", 301), ("748", 400), ("749", 401), ("1288", 500)],
    "co_8h": [("1.0", 50), ("1.1", 51), ("2.0", 100), ("2.1", 101), ("10", 200), ("10.1", 201), ("17", 300),
              ("17.1", 301), ("34", 400), ("34.1", 401), ("51", 500)],
    "so2_24h": [("40", 50), ("41", 51), ("80", 100), ("81", 101), ("380", 200), ("381", 201), ("800", 300),
                ("801", 301), ("1600", 400), ("1601", 401), ("2400", 500)],
    "nh3_24h": [("200", 50), ("201", 51), ("400", 100), ("401", 101), ("800", 200), ("801", 201), ("1200", 300),
                ("1201", 301), ("1800", 400), ("1801", 401), ("2400", 500)],
    "pb_24h": [("0.5", 50), ("0.6", 51), ("1.0", 100), ("1.1", 101), ("2.0", 200), ("2.1", 201), ("3.0", 300),
               ("3.1", 301), ("3.5", 400), ("3.6", 401), ("4.0", 500)],
}
EDGE_CASES = [(code, c, aqi) for code, edges in EDGES.items() for c, aqi in edges]


@pytest.mark.parametrize(("pollutant", "concentration", "expected"), EDGE_CASES)
def test_every_breakpoint_edge_gives_its_index(pollutant, concentration, expected):
    assert calculate("india_naqi", pollutant, concentration)["aqi"] == expected


def test_cpcb_check_value_pm25_45_gives_75():
    # 31–60 → 51–100: 49/29·(45 − 31) + 51 = 74.66 → 75
    result = calculate("india_naqi", "pm25_24h", 45)
    assert result["aqi"] == 75 and result["category"] == "Satisfactory" and result["color"] == "#92D051"


@pytest.mark.parametrize(("pollutant", "concentration", "expected"), [
    ("no2_24h", "2", 3),    # 50/40·2 = 2.5 → 3
    ("pb_24h", "0.8", 76),  # 49/0.4·0.2 + 51 = 75.5 → 76
    ("nh3_24h", "2", 1),    # 50/200·2 = 0.5 → 1
])
def test_sub_index_rounds_half_up(pollutant, concentration, expected):
    assert calculate("india_naqi", pollutant, concentration)["aqi"] == expected


def test_values_between_rows_truncate_to_the_table_step():
    assert calculate("india_naqi", "pm25_24h", "30.9")["aqi"] == 50   # → 30
    assert calculate("india_naqi", "co_8h", "2.05")["aqi"] == 100     # → 2.0 mg/m³


@pytest.mark.parametrize(("pollutant", "concentration"), [("pm25_24h", "381"), ("pm10_24h", "900"),
                                                          ("co_8h", "60"), ("pb_24h", "4.1")])
def test_index_is_capped_at_500_above_the_severe_row(pollutant, concentration):
    result = calculate("india_naqi", pollutant, concentration)
    assert result["aqi"] == 500 and result["category"] == "Severe" and "capped at 500" in result["note"]


def test_ozone_one_hour_rows_start_at_209():
    assert calculate("india_naqi", "o3_1h", "208")["aqi"] is None
    # 8-h values above 208 continue on the 1-h rows: 99/539·(300 − 209) + 301 = 317.7 → 318
    assert calculate("india_naqi", "o3_8h", "300")["aqi"] == 318


def test_co_in_ppm_is_converted_to_mg_per_m3():
    # 1 ppm × 28.01/24.45 = 1.1456 mg/m³ → 1.1 → 51
    result = calculate("india_naqi", "co_8h", 1, "ppm")
    assert result["aqi"] == 51 and result["unit"] == "ppm"


def test_tables_are_contiguous_at_their_reporting_step():
    for code, scale in SCALES.items():
        for below, above in zip(scale.rows, scale.rows[1:]):
            assert below.c_hi + 1 == above.c_lo and below.i_hi + 1 == above.i_lo, code


def _hours(value: float, valid: int, stations: int = 1) -> np.ndarray:
    """(stations, 24) with `valid` hours of value (the oldest ones), the rest missing."""
    row = np.full(24, np.nan)
    row[24 - valid:] = value
    return np.tile(row, (stations, 1))


def test_aqi_needs_three_sub_indices_including_pm():
    missing = _hours(np.nan, 0)
    history = {  # stations: full, PM2.5 short, PM2.5 just enough, no PM, nothing
        "pm25": np.vstack([_hours(45, 24), _hours(45, 15), _hours(45, 16), missing, missing]),
        "pm10": np.vstack([_hours(80, 24)] * 3 + [missing, missing]),
        "so2": np.vstack([_hours(10, 24)] * 4 + [missing]),
        "no2": np.vstack([missing] * 3 + [_hours(20, 24), missing]),
        "o3": np.vstack([missing] * 3 + [_hours(20, 24), missing]),
    }
    result = compute_indexes("india_naqi", history)
    # PM2.5 45 → 75; PM10 80 → 49/49·(80 − 51) + 51 = 80; SO2 10 ppb × 64.07/24.45 = 26.2 µg/m³ → 26
    # → 50/40·26 = 32.5 → 33. The AQI is the highest: 80 (PM10).
    np.testing.assert_array_equal(result.sub_index["so2"][:4], [33, 33, 33, 33])
    np.testing.assert_array_equal(result.aqi, [80, np.nan, 80, np.nan, np.nan])
    assert list(result.main_pollutant) == ["pm10", None, "pm10", None, None]
    assert result.reason[0] is None and result.reason[2] is None
    assert "at least 3" in result.reason[1]
    assert "PM2.5 or PM10" in result.reason[3]
    assert "enough valid hours" in result.reason[4]
    assert np.isnan(result.sub_index["pm25"][1]) and result.sub_index["pm25"][2] == 75


def test_eight_hour_means_need_six_of_the_last_eight_hours():
    co = np.full((2, 24), np.nan)
    co[0, 2:8] = 1.0   # 6 of the last 8 hours
    co[1, 3:8] = 1.0   # 5 of the last 8 hours
    co[1, 8:] = 1.0    # older hours do not count
    history = {"co": co, "pm25": _hours(45, 24, 2), "pm10": _hours(80, 24, 2)}
    result = compute_indexes("india_naqi", history)
    # 1 ppm → 1.1456 mg/m³ → 1.1 → 51
    np.testing.assert_array_equal(result.sub_index["co"], [51, np.nan])
    np.testing.assert_array_equal(result.aqi, [80, np.nan])
    assert result.concentration["co"][0] == pytest.approx(1.0)


def test_ammonia_in_ppb_counts_as_a_sub_index():
    # 100 ppb × 17.03/24.45 = 69.65 µg/m³ → 69 → 50/200·69 = 17.25 → 17
    history = {"nh3": _hours(100, 24), "pm25": _hours(45, 24), "pm10": _hours(80, 24)}
    result = compute_indexes("india_naqi", history)
    assert result.sub_index["nh3"][0] == 17 and result.aqi[0] == 80

"""European Air Quality Index: bands, half-up rounding, levels, current hour from storage units."""
import numpy as np
import pytest

from core.aqi.calculator import calculate, concentration_range
from core.aqi.engine import compute_indexes
from core.aqi.eea import BANDS, level_array

# Transcribed by hand from AQI_STANDARDS.md: the top of each of levels 1..5 in µg/m³.
TOPS = {"pm25_1h": (5, 15, 50, 90, 140), "pm10_1h": (15, 45, 120, 195, 270), "no2_1h": (10, 25, 60, 100, 150),
        "o3_1h": (60, 100, 120, 160, 180), "so2_1h": (20, 40, 125, 190, 275)}
EDGE_CASES = [(code, top, level) for code, tops in TOPS.items() for level, top in enumerate(tops, start=1)]
NAMES = ["Good", "Fair", "Moderate", "Poor", "Very poor", "Extremely poor"]


@pytest.mark.parametrize(("pollutant", "top", "level"), EDGE_CASES)
def test_each_band_ends_at_its_top_and_the_next_starts_one_above(pollutant, top, level):
    at_top = calculate("eea", pollutant, top)
    above = calculate("eea", pollutant, top + 1)
    assert (at_top["level"], above["level"]) == (level, level + 1)
    assert above["category"] == NAMES[level]


def test_zero_is_good_and_the_top_level_is_open():
    assert calculate("eea", "pm25_1h", 0)["level"] == 1
    assert calculate("eea", "pm25_1h", 5000)["category"] == "Extremely poor"


@pytest.mark.parametrize(("concentration", "level"), [("5.49", 1), ("5.5", 2), ("15.49", 2), ("15.5", 3),
                                                      (140.5, 6), (140.49, 5)])
def test_concentration_rounds_half_up_before_the_lookup(concentration, level):
    assert calculate("eea", "pm25_1h", concentration)["level"] == level


def test_result_has_a_level_and_no_index_number():
    result = calculate("eea", "no2_1h", 30)
    assert result["aqi"] is None and result["level"] == 3
    assert (result["category"], result["color"]) == ("Moderate", "#F0E641")
    assert "Sensitive populations" in result["health_message"]


def test_gases_in_ppb_are_converted_to_micrograms():
    # NO2: 5.3 ppb × 46.01/24.45 = 9.97 µg/m³ → 10 → Good; 5.6 ppb → 10.54 → 11 → Fair
    assert calculate("eea", "no2_1h", "5.3", "ppb")["level"] == 1
    assert calculate("eea", "no2_1h", "5.6", "ppb")["level"] == 2


def test_concentration_range_gives_the_rounded_band():
    assert concentration_range("eea", "pm25_1h", 2)["low"] == 6
    result = concentration_range("eea", "pm25_1h", 6)
    assert (result["low"], result["high"], result["category"]) == (141, None, "Extremely poor")


def test_level_array_matches_the_scalar_lookup():
    rng = np.random.default_rng(7)
    for code in BANDS:
        values = rng.uniform(0, 400, 500)
        values[::50] = np.nan
        expected = [np.nan if np.isnan(v) else calculate("eea", code, float(v))["level"] for v in values]
        np.testing.assert_array_equal(level_array(code, values), expected)


def test_current_level_is_the_worst_pollutant_this_hour():
    history = {"pm25": np.full((3, 24), np.nan), "no2": np.full((3, 24), np.nan), "co": np.full((3, 24), 5.0)}
    history["pm25"][:, 0] = [3, 20, np.nan]      # levels 1, 3, missing
    history["no2"][:, 0] = [30, 5.3, np.nan]     # 30 ppb → 56.45 µg/m³ → 56 → 3; 5.3 ppb → 10 → 1
    history["pm25"][2, 1] = 500                  # an older hour does not count
    result = compute_indexes("eea", history)
    np.testing.assert_array_equal(result.aqi, [3, 3, np.nan])
    np.testing.assert_array_equal(result.category, [2, 2, -1])
    assert list(result.main_pollutant) == ["no2", "pm25", None]
    assert "co" not in result.sub_index   # the EAQI has no CO
    assert result.reason[2] and result.reason[0] is None
    assert result.concentration["no2"][0] == 30

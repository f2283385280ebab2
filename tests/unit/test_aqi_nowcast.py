"""NowCast: 2 of 3 recent hours, weight floor for PM only, missing-hour exponents, clipping, zeros."""
import numpy as np
import pytest

from core.aqi import AQIError
from core.aqi.nowcast import NEEDS_RECENT, nowcast, nowcast_aqi, nowcast_array


def test_pm_hand_computed_example_with_weight_floor():
    # min/max = 10/40 = 0.25 < 0.5 → w = 0.5: (20 + 0.5·10 + 0.25·40) / (1 + 0.5 + 0.25) = 35 / 1.75 = 20
    result = nowcast("pm25", [20, 10, 40])
    assert result.value == pytest.approx(20.0) and result.weight == 0.5 and result.reason is None


def test_ozone_has_no_weight_floor():
    # w = 0.25: (20 + 0.25·10 + 0.0625·40) / (1 + 0.25 + 0.0625) = 25 / 1.3125 = 19.0476…
    result = nowcast("o3", [20, 10, 40])
    assert result.value == pytest.approx(25 / 1.3125) and result.weight == 0.25


def test_floor_applies_to_pm10_too():
    # min/max = 0.1 → 0.5: (100 + 0.5·10) / 1.5 = 70; ozone keeps 0.1: (100 + 0.1·10) / 1.1 = 91.8…
    assert nowcast("pm10", [100, 10]).value == pytest.approx(70.0)
    assert nowcast("o3", [100, 10]).value == pytest.approx(101 / 1.1)


def test_missing_hour_keeps_its_exponent_for_the_others():
    # Hours 0, 2, 3 valid; w = 10/30 → 0.5: (30 + 0.25·10 + 0.125·20) / (1 + 0.25 + 0.125) = 35 / 1.375
    # (closing the gap would give (30 + 0.5·10 + 0.25·20) / 1.75 = 22.86 instead)
    assert nowcast("pm25", [30, None, 10, 20]).value == pytest.approx(35 / 1.375)
    assert nowcast("pm25", [30, float("nan"), 10, 20]).value == pytest.approx(35 / 1.375)


@pytest.mark.parametrize("hourly", [[10, None, None, 10, 10], [None, None, 10], [None, 10, None], [], [5]])
def test_nowcast_needs_two_of_three_recent_hours(hourly):
    result = nowcast("pm25", hourly)
    assert (result.value, result.weight, result.reason) == (None, None, NEEDS_RECENT)


@pytest.mark.parametrize("hourly", [[None, 10, 10], [10, None, 10], [10, 10]])
def test_two_of_three_recent_hours_are_enough(hourly):
    assert nowcast("pm25", hourly).value == pytest.approx(10.0)


def test_negative_hours_count_as_they_are_as_airnow_does():
    # [-5, 10, 20]: w = -0.25 → 0.5 for PM: (-5 + 0.5·10 + 0.25·20) / 1.75 = 5 / 1.75
    assert nowcast("pm25", [-5, 10, 20]).value == pytest.approx(5 / 1.75)
    # ozone holds a negative ratio at w = 0: only this hour counts
    result = nowcast("o3", [-5, 10, 20])
    assert (result.value, result.weight) == (-5.0, 0.0)


def test_a_nowcast_below_zero_reads_as_index_zero():
    result = nowcast_aqi("pm25", [-1.0, -0.5, 0.2])
    assert (result.value, result.aqi) == (0.0, 0)


def test_all_zeros_give_zero():
    assert nowcast("pm25", [0] * 12) == nowcast("o3", [0, None, 0])
    assert nowcast("pm25", [0, 0, 0]).value == 0.0


def test_ozone_weight_zero_without_this_hour_takes_the_newest_valid_hour():
    # w = 0/30 = 0 and hour 0 missing: the formula's limit is hour 1 alone
    result = nowcast("o3", [None, 0, 30])
    assert (result.value, result.weight) == (0.0, 0.0)


def test_pm_uses_twelve_hours_and_ozone_eight():
    hourly = [10] * 8 + [None] * 3 + [1000]
    # PM: w = 10/1000 → 0.5; (10·Σ0.5^i for i<8 + 1000·0.5^11) / (Σ0.5^i for i<8 + 0.5^11)
    #   = (19.921875 + 0.48828125) / (1.9921875 + 0.00048828125) = 20.41015625 / 1.99267578125 = 10.2426…
    assert nowcast("pm25", hourly).value == pytest.approx(20.41015625 / 1.99267578125)
    assert nowcast("o3", hourly).value == pytest.approx(10.0)   # hour 11 is outside ozone's 8
    assert nowcast("pm25", hourly + [5000]).value == nowcast("pm25", hourly).value


def test_value_is_not_truncated():
    assert nowcast("pm25", [35.45, 35.45, 35.45]).value == pytest.approx(35.45)


def test_unknown_pollutant_and_infinite_values_are_errors():
    with pytest.raises(AQIError, match="pm25, pm10, o3"):
        nowcast("no2", [1, 2, 3])
    with pytest.raises(AQIError, match="finite"):
        nowcast("pm25", [1, float("inf"), 3])
    with pytest.raises(AQIError, match="finite"):
        nowcast_array("pm25", np.array([[1, np.inf, 3]]))


@pytest.mark.parametrize("pollutant", ["pm25", "pm10", "o3"])
def test_vectorised_nowcast_equals_scalar_on_random_data(pollutant):
    rng = np.random.default_rng(42)
    values = rng.gamma(1.5, 20, (400, 24)) - 3       # some negatives
    values[rng.random(values.shape) < 0.25] = np.nan
    values[:5] = 0.0                                  # all zeros
    values[5:8] = np.nan                              # nothing at all
    values[8:12, 0] = 0.0                             # zero weight for ozone
    values[12:16, :2] = np.nan                        # missing the two newest hours
    got, weights = nowcast_array(pollutant, values)
    for row, value, weight in zip(values, got, weights):
        expected = nowcast(pollutant, [None if np.isnan(v) else v for v in row])
        if expected.value is None:
            assert np.isnan(value) and np.isnan(weight)
        else:
            assert value == pytest.approx(expected.value, rel=1e-12, abs=1e-12)
            assert weight == pytest.approx(expected.weight, rel=1e-12)


def test_vectorised_nowcast_accepts_fewer_hours_than_its_window():
    got, weights = nowcast_array("pm25", np.array([[20.0, 10.0, 40.0]]))
    assert got[0] == pytest.approx(20.0) and weights[0] == 0.5


# --------------------------------------------------------------------------- NowCast → reported value and AQI

def test_nowcast_aqi_reports_the_value_truncated_as_epa_does():
    from core.aqi.nowcast import nowcast_aqi
    pm25 = nowcast_aqi("pm25", [35.49, 35.49, 35.49])
    assert (pm25.value, pm25.aqi, pm25.category) == (35.4, 100, 1)  # 35.49 truncates to 35.4, not 35.5 (USG)
    assert nowcast_aqi("pm10", [154.9, 154.9]).value == 154.0
    ozone = nowcast_aqi("o3", [70.9] * 8)
    assert (ozone.value, ozone.aqi) == (70.0, 100)


def test_nowcast_aqi_applies_the_one_hour_ozone_rule_like_the_live_map():
    from core.aqi.nowcast import nowcast_aqi
    # 8-h NowCast 0.210 ppm has no 8-h index; this hour's 0.210 ppm (≥ 0.125) gives the 1-hour table's 203.
    assert nowcast_aqi("o3", [210] * 8).aqi == 203
    # The same 8-h level with this hour missing has no index at all, and says why.
    missing_hour = nowcast_aqi("o3", [None, 300, 300, 300])
    assert missing_hour.aqi is None and missing_hour.category == -1 and "1-hour ozone value" in missing_hour.reason
    # Below 0.125 ppm the hour does not count: the 8-h index stands (0.070 ppm → 100).
    assert nowcast_aqi("o3", [70] * 8).aqi == 100


def test_nowcast_aqi_reads_pm25_on_the_table_in_force_on_the_date():
    from datetime import date

    from core.aqi.nowcast import nowcast_aqi
    hourly = [10.0, 10.0, 10.0]
    assert nowcast_aqi("pm25", hourly).aqi == 53  # 2024 table: 9.1–35.4 is 51–100
    assert nowcast_aqi("pm25", hourly, on=date(2024, 4, 16)).aqi == 42  # 2012 table: 0–12.0 is 0–50
    assert nowcast_aqi("pm25", hourly, on=date(2024, 5, 6)).aqi == 53


def test_nowcast_aqi_without_two_of_three_recent_hours():
    from core.aqi.nowcast import NEEDS_RECENT, nowcast_aqi
    result = nowcast_aqi("pm25", [None, None, 5.0, 5.0])
    assert (result.value, result.aqi, result.category, result.reason) == (None, None, -1, NEEDS_RECENT)

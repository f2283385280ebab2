"""US EPA AQI (TAD 2024): every breakpoint edge, truncation, rounding, ozone and SO2 rules."""
from decimal import Decimal

import numpy as np
import pytest

from core.aqi import AQIError
from core.aqi.calculator import calculate
from core.aqi.sensors import epa_pm25_correction
from core.aqi.us_epa import SCALES, ozone_index_array, so2_index_array

# Transcribed by hand from AQI_STANDARDS.md, both sides of every edge: (concentration, index).
EDGES = {
    "pm25_24h": [("0.0", 0), ("9.0", 50), ("9.1", 51), ("35.4", 100), ("35.5", 101), ("55.4", 150), ("55.5", 151),
                 ("125.4", 200), ("125.5", 201), ("225.4", 300), ("225.5", 301), ("325.4", 500)],
    "pm10_24h": [("0", 0), ("54", 50), ("55", 51), ("154", 100), ("155", 101), ("254", 150), ("255", 151),
                 ("354", 200), ("355", 201), ("424", 300), ("425", 301), ("604", 500)],
    "o3_8h": [("0.000", 0), ("0.054", 50), ("0.055", 51), ("0.070", 100), ("0.071", 101), ("0.085", 150),
              ("0.086", 151), ("0.105", 200), ("0.106", 201), ("0.200", 300)],
    "o3_1h": [("0.125", 101), ("0.164", 150), ("0.165", 151), ("0.204", 200), ("0.205", 201), ("0.404", 300),
              ("0.405", 301), ("0.604", 500)],
    "co_8h": [("0.0", 0), ("4.4", 50), ("4.5", 51), ("9.4", 100), ("9.5", 101), ("12.4", 150), ("12.5", 151),
              ("15.4", 200), ("15.5", 201), ("30.4", 300), ("30.5", 301), ("50.4", 500)],
    "so2_1h": [("0", 0), ("35", 50), ("36", 51), ("75", 100), ("76", 101), ("185", 150), ("186", 151),
               ("304", 200)],
    "so2_24h": [("305", 201), ("604", 300), ("605", 301), ("1004", 500)],
    "no2_1h": [("0", 0), ("53", 50), ("54", 51), ("100", 100), ("101", 101), ("360", 150), ("361", 151),
               ("649", 200), ("650", 201), ("1249", 300), ("1250", 301), ("2049", 500)],
}
EDGE_CASES = [(code, c, aqi) for code, edges in EDGES.items() for c, aqi in edges]


@pytest.mark.parametrize(("pollutant", "concentration", "expected"), EDGE_CASES)
def test_every_breakpoint_edge_gives_its_index(pollutant, concentration, expected):
    assert calculate("us_epa", pollutant, concentration)["aqi"] == expected


@pytest.mark.parametrize(("pollutant", "concentration", "category"), [
    ("pm25_24h", "9.0", "Good"), ("pm25_24h", "9.1", "Moderate"),
    ("pm25_24h", "35.4", "Moderate"), ("pm25_24h", "35.5", "Unhealthy for Sensitive Groups"),
    ("pm25_24h", "55.4", "Unhealthy for Sensitive Groups"), ("pm25_24h", "55.5", "Unhealthy"),
    ("pm25_24h", "125.4", "Unhealthy"), ("pm25_24h", "125.5", "Very Unhealthy"),
    ("pm25_24h", "225.4", "Very Unhealthy"), ("pm25_24h", "225.5", "Hazardous"), ("pm25_24h", "1000", "Hazardous"),
])
def test_categories_change_at_the_edges(pollutant, concentration, category):
    assert calculate("us_epa", pollutant, concentration)["category"] == category


def test_hourly_pm_codes_read_the_24_hour_table():
    assert calculate("us_epa", "pm25_1h", "35.5")["aqi"] == 101
    assert calculate("us_epa", "pm10_1h", "155")["aqi"] == 101


@pytest.mark.parametrize(("pollutant", "concentration", "expected"), [
    # 35.49 → 35.4 → 100, where 35.49 itself would interpolate to 101.
    ("pm25_24h", "35.49", 100),
    ("pm25_24h", "9.09", 50),
    ("o3_8h", "0.0709", 100),   # → 0.070 ppm, not 0.071 (101)
    ("o3_8h", "0.0549", 50),
    ("co_8h", "4.49", 50),
    ("pm10_24h", "54.9", 50),
    ("no2_1h", "53.9", 50),
    ("so2_1h", "35.9", 50),
])
def test_concentration_truncates_before_interpolating(pollutant, concentration, expected):
    assert calculate("us_epa", pollutant, concentration)["aqi"] == expected


def test_float_input_keeps_its_decimal_value():
    # Binary 35.4 is 35.39999…; read as the decimal the user typed it stays on the 35.4 row edge.
    assert calculate("us_epa", "pm25_24h", 35.4)["aqi"] == 100
    assert calculate("us_epa", "pm25_24h", 35.5)["aqi"] == 101
    assert calculate("us_epa", "o3_8h", 0.0709)["aqi"] == 100


def test_float_noise_just_under_a_step_counts_as_the_step():
    # A mean that should be 35.5 but comes out 35.49999999999999 in binary is read as 35.5.
    assert calculate("us_epa", "pm25_24h", 35.49999999999999)["aqi"] == 101


@pytest.mark.parametrize(("pollutant", "concentration", "expected"), [
    ("o3_8h", "0.078", 126),   # 49/0.014·0.007 + 101 = 125.5 → 126
    ("co_8h", "1.1", 13),      # 50/4.4·1.1 = 12.5 → 13
    ("co_8h", "1.0", 11),      # 50/4.4·1.0 = 11.36 → 11
    ("so2_1h", "245", 176),    # 49/118·59 + 151 = 175.5 → 176
    ("no2_1h", "77", 76),      # 49/46·23 + 51 = 75.5 → 76
])
def test_index_rounds_half_up(pollutant, concentration, expected):
    assert calculate("us_epa", pollutant, concentration)["aqi"] == expected


def test_tad_worked_examples():
    # Ozone 8-h 0.07853 ppm → 0.078 → (150−101)/(0.085−0.071)·(0.078−0.071) + 101 = 125.5 → 126.
    assert calculate("us_epa", "o3_8h", "0.07853")["aqi"] == 126
    # PM2.5 35.9 µg/m³ → (150−101)/(55.4−35.5)·(35.9−35.5) + 101 = 101.98 → 102.
    assert calculate("us_epa", "pm25_24h", "35.9")["aqi"] == 102


@pytest.mark.parametrize(("pollutant", "concentration", "expected"), [
    ("pm25_24h", "500.4", 849),  # 199/99.9·(500.4−225.5) + 301 = 848.6 → 849
    ("pm10_24h", "700", 607),    # 199/179·(700−425) + 301 = 606.7 → 607
    ("co_8h", "60", 596),        # 199/19.9·(60−30.5) + 301 = 596
    ("no2_1h", "3000", 737),     # 199/799·(3000−1250) + 301 = 736.9 → 737
    ("o3_1h", "0.7", 596),       # 199/0.199·(0.7−0.405) + 301 = 596
    ("so2_24h", "1100", 548),    # 199/399·(1100−605) + 301 = 547.9 → 548
])
def test_above_500_the_open_row_slope_continues_without_cap(pollutant, concentration, expected):
    result = calculate("us_epa", pollutant, concentration)
    assert result["aqi"] == expected
    assert result["category"] == "Hazardous"


def test_eight_hour_ozone_of_0_201_ppm_has_no_index():
    result = calculate("us_epa", "o3_8h", "0.201")
    assert result["aqi"] is None
    assert "1-hour" in result["note"] and "300" in result["note"]


def test_one_hour_ozone_below_0_125_ppm_has_no_index():
    result = calculate("us_epa", "o3_1h", "0.124")
    assert result["aqi"] is None and "8-hour" in result["note"]


def test_ozone_takes_the_higher_index_and_needs_the_8_hour_value():
    ppm = np.array
    index, undefined = ozone_index_array(ppm([80, 80, 210, 210, 210, np.nan]), ppm([100, 170, 300, 100, np.nan, 200]))
    # 0.080 → 49/0.014·0.009 + 101 = 132.5 → 133 (1-h 0.100 < 0.125 is ignored)
    # 1-h 0.170 → 49/0.039·0.005 + 151 = 157.3 → 157, higher than 133
    # 8-h 0.210 ≥ 0.201: only the 1-h 0.300 counts → 99/0.199·0.095 + 201 = 248.3 → 248
    # 8-h 0.210 without a usable 1-h value: no index; no 8-h value: no index either
    np.testing.assert_array_equal(index, [133, 157, 248, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(undefined, [False, False, False, True, True, False])


def test_so2_one_hour_at_305_with_24_hour_below_305_gives_200():
    index = so2_index_array(np.array([320.0, 320, 100, 320, 100]), np.array([200.0, 400, np.nan, np.nan, 400]))
    # 24-h 400 → 99/299·95 + 201 = 232.45 → 232; 1-h 100 → 49/109·24 + 101 = 111.8 → 112
    np.testing.assert_array_equal(index, [200, 232, 112, 200, 232])


def test_so2_one_hour_value_alone_stops_at_200_with_a_note():
    result = calculate("us_epa", "so2_1h", "305")
    assert result["aqi"] == 200 and "24-hour" in result["note"]
    assert calculate("us_epa", "so2_24h", "304")["aqi"] is None


def test_tables_are_contiguous_at_their_reporting_step():
    for code, scale in SCALES.items():
        for below, above in zip(scale.rows, scale.rows[1:]):
            assert below.c_hi + 1 == above.c_lo, code
            assert below.i_hi + 1 == above.i_lo, code


@pytest.mark.parametrize("code", sorted(SCALES))
def test_vectorised_index_matches_scalar(code):
    scale = SCALES[code]
    steps = np.arange(0, scale.rows[-1].c_hi * 2 + 3, dtype=float)
    expected = [scale.evaluate(int(c))[0] for c in steps]
    np.testing.assert_array_equal(scale.index_array(steps), [np.nan if e is None else e for e in expected])
    assert np.isnan(scale.index_array(np.array([np.nan]))[0])


@pytest.mark.parametrize("code", sorted(SCALES))
def test_interval_is_exactly_the_steps_with_that_index(code):
    scale = SCALES[code]
    top = scale.rows[-1].c_hi + 400
    by_index: dict[int, list[int]] = {}
    for c in range(top):
        index = scale.evaluate(c)[0]
        if index is not None:
            by_index.setdefault(index, []).append(c)
    for aqi in range(0, scale.evaluate(top)[0] or 501):
        if aqi not in by_index:
            if scale.rows[0].i_lo <= aqi <= max(by_index):
                with pytest.raises(AQIError, match="no .* concentration gives exactly"):
                    scale.interval(aqi)
            continue
        low, high = scale.interval(aqi)
        assert low == by_index[aqi][0]
        assert (high is None and scale.above == "cap") or high == by_index[aqi][-1]


def test_cautionary_statement_and_sensitive_groups_follow_pollutant_and_category():
    result = calculate("us_epa", "pm25_24h", "40")
    assert result["category"] == "Unhealthy for Sensitive Groups"
    assert "lower socioeconomic status" in result["sensitive_groups"]
    assert result["cautionary_statement"].endswith("should reduce prolonged or heavy exertion.")
    assert calculate("us_epa", "co_8h", "13")["sensitive_groups"] == "People with heart disease"


def test_epa_sensor_correction_and_its_floor():
    # 0.524·20 − 0.0862·50 + 5.75 = 10.48 − 4.31 + 5.75 = 11.92
    assert epa_pm25_correction(20, 50) == pytest.approx(11.92)
    # 0 − 8.62 + 5.75 < 0 → 0
    assert epa_pm25_correction(0, 100) == 0.0
    corrected = epa_pm25_correction(np.array([20.0, 0.0, np.nan]), np.array([50.0, 100.0, 40.0]))
    np.testing.assert_allclose(corrected, [11.92, 0.0, np.nan])
    assert isinstance(epa_pm25_correction(20.0, 50.0), float)


def test_scale_steps_use_decimal_truncation():
    assert SCALES["pm25_24h"].steps(Decimal("35.4")) == 354
    assert SCALES["o3_8h"].steps(Decimal("0.0709")) == 70


def test_sensitive_groups_are_named_only_above_100():
    assert calculate("us_epa", "pm25_24h", "35.4")["sensitive_groups"] is None
    assert calculate("us_epa", "pm25_24h", "35.4")["cautionary_statement"].startswith("Unusually sensitive people")
    assert calculate("us_epa", "o3_8h", "0.071")["sensitive_groups"].startswith("People with lung disease")


def test_epa_extended_sensor_correction_covers_smoke_levels():
    # Linear below 570: 0.524·500 − 0.0862·50 + 5.75 = 263.44
    assert epa_pm25_correction(500, 50) == pytest.approx(263.44)
    # Quadratic from 611: 4.21e-4·1000² + 0.392·1000 + 3.44 = 816.44, whatever the humidity
    assert epa_pm25_correction(1000, 20) == pytest.approx(816.44) == epa_pm25_correction(1000, 80)
    # Blended between: at 590, w = 0.0244·590 − 13.9 = 0.496
    w, linear, quadratic = 0.496, 0.524 * 590 - 0.0862 * 50 + 5.75, 4.21e-4 * 590**2 + 0.392 * 590 + 3.44
    assert epa_pm25_correction(590, 50) == pytest.approx(w * quadratic + (1 - w) * linear)
    # Continuous at both ends of the blend to within a microgram (the published coefficients are rounded)
    for edge in (570.0, 611.0):
        assert epa_pm25_correction(edge - 1e-9, 50) == pytest.approx(epa_pm25_correction(edge, 50), abs=1.0)
    assert np.isnan(epa_pm25_correction(1000.0, float("nan")))


def test_pm25_table_by_date():
    from datetime import date

    from core.aqi.us_epa import PM25_2024_FROM, pm25_scale
    assert PM25_2024_FROM == date(2024, 5, 6)
    old, new = pm25_scale(date(2024, 5, 5)), pm25_scale(date(2024, 5, 6))
    assert old.evaluate(old.steps(Decimal("12.0")))[0] == 50 and new.evaluate(new.steps(Decimal("12.0")))[0] == 56
    assert old.evaluate(old.steps(Decimal("150.4")))[0] == 200 and old.evaluate(old.steps(Decimal("500.4")))[0] == 500
    assert pm25_scale() == new and pm25_scale(None, "pm25_1h").code == "pm25_1h"
    assert calculate("us_epa", "pm25_24h", "12.0", on=date(2024, 4, 16))["aqi"] == 50


def test_daily_ozone_uses_the_17_windows_beginning_7_to_23_local():
    from datetime import date

    import pandas as pd

    from core.aqi.us_epa import daily_max_8h_ozone
    hours = pd.date_range("2026-07-01T00:00", periods=48, freq="h", tz="America/New_York")
    values = pd.Series(40.0, index=hours)
    values[hours.hour < 7] = 100.0  # early-morning peak on both days
    day = date(2026, 7, 1)
    # Windows ending early on 1 July are not that day's; the 23:00 window reaches 06:00 on 2 July (7 hours of 100).
    assert daily_max_8h_ozone(values, day, "America/New_York") == pytest.approx((40 + 7 * 100) / 8)
    # The index may be in any zone: the windows are local clock hours.
    assert daily_max_8h_ozone(values.tz_convert("UTC"), day, "America/New_York") == pytest.approx(92.5)
    # A window needs 6 of its 8 hours.
    assert daily_max_8h_ozone(values[:10], day, "America/New_York") is None

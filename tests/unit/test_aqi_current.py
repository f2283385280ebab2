"""Whole-map current AQI: vectorised results equal the scalar rules; legends and palettes."""

import numpy as np
import pytest

from core.aqi import AQIError
from core.aqi.calculator import calculate
from core.aqi.engine import categories, category_info, compute_indexes
from core.aqi.nowcast import nowcast


def _missing(stations: int = 1) -> np.ndarray:
    return np.full((stations, 24), np.nan)


def _random_history(stations: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    history = {
        "pm25": rng.gamma(2, 25, (stations, 24)),
        "pm10": rng.gamma(2, 60, (stations, 24)),
        "o3": rng.gamma(3, 25, (stations, 24)),
        "no2": rng.gamma(2, 120, (stations, 24)),
        "so2": rng.gamma(1.2, 120, (stations, 24)),
        "co": rng.gamma(2, 4, (stations, 24)),
    }
    history["o3"][: stations // 10] += 180    # NowCast ≥ 0.201 ppm, with and without a high current hour
    history["o3"][: stations // 30] += 250    # 1-h values above 0.405 ppm (AQI 301+)
    history["so2"][: stations // 8] += 250    # 24-h means around and above 305 ppb
    for values in history.values():
        values[rng.random(values.shape) < 0.15] = np.nan
    return history


def _hours(row: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in row]


def _aqi(pollutant: str, value: float | None, unit: str | None = None) -> float:
    if value is None or np.isnan(value):
        return np.nan
    aqi = calculate("us_epa", pollutant, value, unit)["aqi"]
    return np.nan if aqi is None else aqi


def _mean(row: np.ndarray, min_hours: int) -> float | None:
    valid = row[~np.isnan(row)]
    return float(valid.mean()) if len(valid) >= min_hours else None


def _scalar_us(history: dict[str, np.ndarray], i: int) -> dict[str, float]:
    """One station's US sub-indices by the scalar path: nowcast() and calculate()."""
    o3_8h = nowcast("o3", _hours(history["o3"][i])).value
    # The 8-h value is required; this hour's 1-h value counts from 0.125 ppm; the higher index wins.
    o3 = np.nan if o3_8h is None else np.fmax(_aqi("o3_8h", o3_8h, "ppb"), _aqi("o3_1h", history["o3"][i][0], "ppb"))
    return {
        "pm25": _aqi("pm25_1h", nowcast("pm25", _hours(history["pm25"][i])).value),
        "pm10": _aqi("pm10_1h", nowcast("pm10", _hours(history["pm10"][i])).value),
        "o3": o3,
        "no2": _aqi("no2_1h", history["no2"][i][0]),
        "so2": np.fmax(_aqi("so2_1h", history["so2"][i][0]), _aqi("so2_24h", _mean(history["so2"][i], 18))),
        "co": _aqi("co_8h", _mean(history["co"][i][:8], 6)),
    }


def test_us_vectorised_equals_scalar_on_random_data():
    history = _random_history(300)
    result = compute_indexes("us_epa", history)
    for i in range(300):
        expected = _scalar_us(history, i)
        for p, value in expected.items():
            assert result.sub_index[p][i] == pytest.approx(value, nan_ok=True), (i, p)
        blocked = result.reason[i] is not None and "ozone" in result.reason[i]
        values = list(expected.values())
        overall = np.nan if blocked or np.isnan(values).all() else np.nanmax(values)
        assert result.aqi[i] == pytest.approx(overall, nan_ok=True), i
    assert (result.sub_index["so2"] > 200).any() and (result.sub_index["so2"] == 200).any()
    assert (result.sub_index["o3"] > 300).any()
    assert any(reason and "ozone" in reason for reason in result.reason)


def test_india_vectorised_equals_scalar_on_random_data():
    rng = np.random.default_rng(5)
    level = rng.uniform(0.02, 1.0, (300, 1))   # from clean to Severe air
    history = {p: values * level for p, values in _random_history(300, seed=5).items()}
    for values in history.values():   # stations 0-99: many missing hours, so some means drop out
        values[:100][rng.random((100, 24)) < 0.4] = np.nan
    history["pm25"][100:130] = history["pm10"][100:130] = np.nan   # no PM
    result = compute_indexes("india_naqi", history)
    assert len(set(result.reason)) == 4 and len(set(result.category)) >= 4  # None and all three reasons
    windows = {"pm25": (24, 16, None), "pm10": (24, 16, None), "no2": (24, 16, "ppb"), "so2": (24, 16, "ppb"),
               "co": (8, 6, "ppm"), "o3": (8, 6, "ppb")}
    for i in range(300):
        expected = {}
        for p, (hours, min_hours, unit) in windows.items():
            mean = _mean(history[p][i][:hours], min_hours)
            code = f"{p}_8h" if hours == 8 else f"{p}_24h"
            expected[p] = np.nan if mean is None else calculate("india_naqi", code, mean, unit)["aqi"]
            assert result.sub_index[p][i] == pytest.approx(expected[p], nan_ok=True), (i, p)
        values = list(expected.values())
        enough = np.sum(~np.isnan(values)) >= 3 and not np.isnan([expected["pm25"], expected["pm10"]]).all()
        assert result.aqi[i] == pytest.approx(np.nanmax(values) if enough else np.nan, nan_ok=True), i


def test_us_main_pollutant_and_category_follow_the_highest_sub_index():
    history = {"pm25": np.full((2, 24), 40.0), "o3": np.full((2, 24), 30.0), "co": np.full((2, 24), np.nan)}
    history["o3"][1] = 90.0
    result = compute_indexes("us_epa", history)
    # PM2.5 NowCast 40 → 49/19.9·4.5 + 101 = 112.1 → 112; O3 30 ppb → 50/54·30 = 27.8 → 28;
    # O3 90 ppb → 49/19·4 + 151 = 161.3 → 161
    np.testing.assert_array_equal(result.aqi, [112, 161])
    assert list(result.main_pollutant) == ["pm25", "o3"]
    np.testing.assert_array_equal(result.category, [2, 3])
    assert np.isnan(result.sub_index["co"]).all()
    np.testing.assert_allclose(result.concentration["pm25"], [40.0, 40.0])


def test_us_ozone_nowcast_of_0_201_ppm_needs_a_one_hour_value():
    o3 = np.full((2, 24), 210.0)
    o3[1, 0] = np.nan  # this hour missing: NowCast still 210 ppb from the others, but no 1-h value
    result = compute_indexes("us_epa", {"o3": o3, "pm25": np.full((2, 24), 10.0)})
    # Station 0: NowCast 210 ppb (all hours equal) ≥ 0.201; 1-h 0.210 → 99/0.199·0.005 + 201 = 203.49 → 203
    assert result.aqi[0] == 203 and result.main_pollutant[0] == "o3"
    assert np.isnan(result.aqi[1]) and "0.201 ppm" in result.reason[1] and result.main_pollutant[1] is None


def test_us_so2_hour_of_305_with_lower_24_hour_mean_gives_200():
    so2 = np.full((2, 24), 100.0)
    so2[:, 0] = 400.0
    so2[1] = 400.0
    result = compute_indexes("us_epa", {"so2": so2})
    # Station 0: 24-h mean (400 + 23·100)/24 = 112.5 < 305 → 200. Station 1: 24-h 400 → 99/299·95 + 201 = 232.45 → 232
    np.testing.assert_array_equal(result.aqi, [200, 232])


def test_us_co_eight_hour_mean_needs_six_valid_hours():
    co = np.full((2, 24), 5.0)
    co[1, :3] = np.nan   # 5 of the last 8
    result = compute_indexes("us_epa", {"co": co})
    # 5.0 ppm → 49/4.9·0.5 + 51 = 56
    np.testing.assert_array_equal(result.aqi, [56, np.nan])
    assert result.reason[1] == "no pollutant has a current value"


def test_negative_hours_count_as_zero():
    no2 = np.full((1, 24), -2.0)
    assert compute_indexes("us_epa", {"no2": no2}).aqi[0] == 0


def test_short_histories_are_padded_with_missing_hours():
    result = compute_indexes("us_epa", {"pm25": np.array([[20.0, 10.0, 40.0]])})
    # NowCast 20.0 (see the NowCast tests) → 49/26.3·10.9 + 51 = 71.3 → 71
    assert result.aqi[0] == 71


def test_no_history_gives_empty_arrays():
    result = compute_indexes("eea", {})
    assert result.aqi.shape == (0,) and result.sub_index == {}


@pytest.mark.parametrize(("history", "message"), [
    ({"benzene": _missing()}, "unknown pollutant"),
    ({"pm25": _missing(2), "o3": _missing(3)}, "n_stations"),
    ({"pm25": np.zeros(24)}, "n_stations"),
    ({"no2": np.full((1, 24), np.inf)}, "finite"),
])
def test_bad_history_is_an_error(history, message):
    with pytest.raises(AQIError, match=message):
        compute_indexes("us_epa", history)


def test_unknown_standard_is_an_error():
    with pytest.raises(AQIError, match="unknown standard"):
        compute_indexes("uk_daqi", {})


def test_legend_categories_per_standard():
    us = categories("us_epa")
    assert [c["name"] for c in us][0] == "Good" and us[-1] == {"name": "Hazardous", "color": "#7E0023",
                                                                "text_color": "#FFFFFF", "low": 301, "high": None}
    assert categories("india_naqi")[-1]["high"] == 500
    assert [(c["low"], c["high"]) for c in categories("eea")] == [(n, n) for n in range(1, 7)]


def test_colour_vision_palette_is_tad_table_3():
    assert [c["color"] for c in categories("us_epa", palette="cvd")] == [
        "#9EFF91", "#FFC905", "#FF8205", "#F02200", "#890997", "#640015"]
    assert category_info("us_epa", 2, palette="cvd")["color"] == "#FF8205"
    with pytest.raises(AQIError, match="palette"):
        categories("eea", palette="cvd")


def test_category_info_gives_name_colour_and_health_message():
    info = category_info("india_naqi", 2)
    assert (info["name"], info["color"], info["text_color"]) == ("Moderately polluted", "#FFFF00", "#000000")
    assert info["health_message"]
    assert category_info("us_epa", -1)["name"] == "No index"
    with pytest.raises(AQIError):
        category_info("eea", 6)


def test_us_pm25_reads_the_table_in_force_on_the_given_date():
    from datetime import date
    history = {"pm25": np.full((1, 24), 10.0)}
    assert compute_indexes("us_epa", history).aqi[0] == 53  # 2024 table
    assert compute_indexes("us_epa", history, on=date(2024, 4, 16)).aqi[0] == 42  # 2012 table, as AirNow then

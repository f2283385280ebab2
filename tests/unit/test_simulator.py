"""Behaviour of the deterministic demo-data simulator."""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from core.ingest.simulator import SimulatedData, network, simulate
from core.parameters import PHYSICAL_MAX, POLLUTANTS, QUALITY_INVALID, QUALITY_VALID, UNITS

UTC = timezone.utc
WINTER = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
SUMMER = (datetime(2024, 6, 15, tzinfo=UTC), datetime(2024, 8, 15, tzinfo=UTC))


@pytest.fixture(scope="module")
def winter() -> SimulatedData:
    """Sixty winter days over the default 84-station network."""
    return simulate(*WINTER)


@pytest.fixture(scope="module")
def summer() -> SimulatedData:
    """Sixty summer days over the default 84-station network."""
    return simulate(*SUMMER)


def _with_city(data: SimulatedData, valid_only: bool = True) -> pd.DataFrame:
    """Measurements joined with station city and kind."""
    m = data.measurements
    if valid_only:
        m = m[m["quality"] == QUALITY_VALID]
    code = m["station_code"].astype(str)
    city = {s.code: s.city for s in data.stations}
    kind = {s.code: s.kind for s in data.stations}
    return m.assign(city=code.map(city), kind=code.map(kind))


def _assert_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same dtypes and values, row for row (much faster than assert_frame_equal on categoricals)."""
    assert list(a.dtypes) == list(b.dtypes)
    assert a.reset_index(drop=True).equals(b.reset_index(drop=True))


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlon = math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


# --- determinism ------------------------------------------------------------------------


def test_same_arguments_give_identical_data_and_seed_changes_it() -> None:
    start, end = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 4, tzinfo=UTC)
    a, b = simulate(start, end, seed=3), simulate(start, end, seed=3)
    _assert_identical(a.measurements, b.measurements)
    _assert_identical(a.weather, b.weather)
    other = simulate(start, end, seed=4)
    assert not np.array_equal(a.weather["temperature_c"], other.weather["temperature_c"])
    assert network(seed=3)[1] != network(seed=4)[1]


@pytest.mark.parametrize("cut", [
    datetime(2024, 3, 1, 1, tzinfo=UTC),  # one hour in
    datetime(2024, 3, 9, 7, tzinfo=UTC),  # mid-knot, mid-week
    datetime(2024, 3, 31, 1, tzinfo=UTC),  # around the European DST change
    datetime(2024, 4, 9, 23, tzinfo=UTC),  # last hour
])
def test_splitting_a_range_concatenates_to_the_whole_row_for_row(cut: datetime) -> None:
    start, end = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 10, tzinfo=UTC)
    whole = simulate(start, end, n_stations=30)
    first, second = simulate(start, cut, n_stations=30), simulate(cut, end, n_stations=30)
    for name in ("measurements", "weather"):
        joined = pd.concat([getattr(first, name), getattr(second, name)], ignore_index=True)
        _assert_identical(getattr(whole, name), joined)


def test_appending_hour_by_hour_matches_a_bulk_run() -> None:
    start = datetime(2024, 11, 2, 20, tzinfo=UTC)
    bulk = simulate(start, start + timedelta(hours=6), n_stations=12).measurements
    live = [simulate(start + timedelta(hours=h), start + timedelta(hours=h + 1), n_stations=12).measurements
            for h in range(6)]
    _assert_identical(bulk, pd.concat(live, ignore_index=True))


def test_range_bounds_are_floored_to_the_hour_and_must_be_aware() -> None:
    data = simulate(datetime(2024, 1, 1, 0, 40, tzinfo=UTC), datetime(2024, 1, 1, 3, 59, tzinfo=UTC))
    assert sorted(data.weather["ts"].dt.hour.unique()) == [0, 1, 2]
    with pytest.raises(ValueError):
        simulate(datetime(2024, 1, 1), datetime(2024, 1, 2))


def test_empty_range_gives_empty_frames_with_the_same_columns(winter: SimulatedData) -> None:
    empty = simulate(WINTER[0], WINTER[0])
    assert len(empty.measurements) == 0 and len(empty.weather) == 0
    assert list(empty.measurements.columns) == list(winter.measurements.columns)
    assert (empty.measurements.dtypes == winter.measurements.dtypes).all()


# --- schema and network -----------------------------------------------------------------


def test_measurement_columns_have_documented_types_and_units(winter: SimulatedData) -> None:
    m = winter.measurements
    assert list(m.columns) == ["station_code", "parameter", "ts", "value", "unit", "quality"]
    assert str(m["ts"].dtype).startswith("datetime64") and str(m["ts"].dt.tz) == "UTC"
    assert (m["ts"] == m["ts"].dt.floor("h")).all()
    assert m["value"].dtype == np.float64 and m["quality"].dtype == np.int8
    assert set(m["parameter"].astype(str)) == set(POLLUTANTS)
    units = m.groupby("parameter", observed=True)["unit"].agg(lambda u: set(u.astype(str)))
    assert {p: u for p, u in units.items()} == {p: {UNITS[p]} for p in POLLUTANTS}
    assert set(m["quality"].unique()) == {QUALITY_VALID, QUALITY_INVALID}
    # Rows come ordered by time so that successive ranges append cleanly.
    assert m["ts"].is_monotonic_increasing


def test_weather_covers_every_city_hour_with_plausible_values(winter: SimulatedData) -> None:
    w = winter.weather
    hours = (WINTER[1] - WINTER[0]) // timedelta(hours=1)
    assert len(w) == hours * len(winter.cities)
    assert list(w.columns) == ["city", "ts", "temperature_c", "humidity_pct", "wind_speed_ms",
                               "wind_dir_deg", "pressure_hpa", "precipitation_mm"]
    assert w["temperature_c"].between(-30, 50).all() and w["humidity_pct"].between(0, 100).all()
    assert w["wind_speed_ms"].ge(0).all() and w["wind_dir_deg"].between(0, 360).all()
    assert w["pressure_hpa"].between(960, 1060).all() and w["precipitation_mm"].ge(0).all()
    by_city = w.groupby("city", observed=True)["temperature_c"].mean()
    assert by_city["Beijing"] < by_city["London"] < by_city["Delhi"] < by_city["Lagos"]
    assert by_city["São Paulo"] > by_city["London"]  # southern-hemisphere summer
    assert w.groupby("city", observed=True)["precipitation_mm"].sum()["London"] > 20


def test_network_spans_six_cities_on_three_continents() -> None:
    cities, stations = network()
    names = {c.name for c in cities}
    assert {"Delhi", "Beijing", "Los Angeles", "London", "São Paulo", "Lagos"} <= names
    continents = {c.timezone.split("/")[0] for c in cities}
    assert len(continents) >= 3
    assert len(stations) == 84 and {s.city for s in stations} == names
    assert len({s.code for s in stations}) == len(stations)
    assert all(re.fullmatch(r"[A-Z]{3}-[RS]\d{2,}", s.code) for s in stations)
    assert all((s.code[4] == "R") == (s.kind == "reference") for s in stations)
    assert 0.55 <= sum(s.kind == "reference" for s in stations) / len(stations) <= 0.65
    assert any(s.name == "Delhi – Anand Vihar" for s in stations)


def test_stations_lie_within_30_km_of_their_city_centre() -> None:
    cities, stations = network(600)
    centre = {c.name: c for c in cities}
    distances = [_distance_km(s.lat, s.lon, centre[s.city].lat, centre[s.city].lon) for s in stations]
    assert max(distances) < 30
    assert np.median(distances) > 8  # spread out, not piled on the centre


def test_growing_the_network_keeps_existing_stations_and_their_readings() -> None:
    small, large = network(84)[1], network(1000)[1]
    assert set(small) <= set(large)
    codes = {s.code for s in large}
    assert len(codes) == 1000 and "DEL-R100" in codes  # numbering simply continues
    start = datetime(2024, 2, 1, tzinfo=UTC)
    a = simulate(start, start + timedelta(hours=12), n_stations=84).measurements
    b = simulate(start, start + timedelta(hours=12), n_stations=300).measurements
    b = b[b["station_code"].isin(a["station_code"].cat.categories)]
    _assert_identical(a.astype({"station_code": str}), b.astype({"station_code": str}))


# --- realism ----------------------------------------------------------------------------


def test_valid_readings_are_plausible_rounded_and_never_negative(winter: SimulatedData) -> None:
    m = _with_city(winter)
    for p in POLLUTANTS:
        v = m.loc[m["parameter"] == p, "value"]
        assert v.min() >= 0 and v.max() <= PHYSICAL_MAX[p]
        decimals = 2 if p == "co" else 1
        assert np.allclose(v, v.round(decimals))
    ref = m[m["kind"] == "reference"]
    means = ref.groupby("parameter", observed=True)["value"].mean()
    assert 10 < means["pm25"] < 150 and means["pm10"] > means["pm25"]
    assert 5 < means["no2"] < 60 and 5 < means["o3"] < 60 and 0.1 < means["co"] < 3 and means["so2"] < 20
    # Reference PM10 includes PM2.5.
    wide = ref[ref["parameter"].isin(["pm25", "pm10"])].pivot_table(
        index=["station_code", "ts"], columns="parameter", values="value", observed=True).dropna()
    assert (wide["pm10"] >= wide["pm25"]).all()


def test_cities_differ_as_in_reality(winter: SimulatedData, summer: SimulatedData) -> None:
    ref = _with_city(winter).query("kind == 'reference'")
    pm25 = ref[ref["parameter"] == "pm25"].groupby("city")["value"].mean()
    assert pm25["Delhi"] > 3 * pm25["London"]
    assert pm25["Delhi"] > pm25["Beijing"] > pm25["Los Angeles"] > pm25["London"]
    pm10 = ref[ref["parameter"] == "pm10"].groupby("city")["value"].mean()
    assert pm10["Lagos"] > 2 * pm10["London"]  # Harmattan dust
    o3 = _with_city(summer).query("kind == 'reference' and parameter == 'o3'").groupby("city")["value"]
    assert o3.quantile(0.99)["Los Angeles"] > 1.3 * o3.quantile(0.99)["London"]


def test_los_angeles_ozone_peaks_in_the_afternoon(summer: SimulatedData) -> None:
    m = _with_city(summer).query("city == 'Los Angeles' and parameter == 'o3'")
    local_hour = m["ts"].dt.tz_convert("America/Los_Angeles").dt.hour
    profile = m.groupby(local_hour)["value"].mean()
    assert 12 <= profile.idxmax() <= 17
    assert profile.max() > 2 * profile.min()


def test_no2_is_higher_on_weekdays_than_at_weekends(winter: SimulatedData) -> None:
    m = _with_city(winter).query("parameter == 'no2'")
    for city in ("London", "Delhi", "Los Angeles"):
        tz = next(c.timezone for c in winter.cities if c.name == city)
        c = m[m["city"] == city]
        weekend = c["ts"].dt.tz_convert(tz).dt.day_of_week >= 5
        assert c.loc[~weekend, "value"].mean() > 1.1 * c.loc[weekend, "value"].mean()


def test_night_time_stagnation_raises_winter_pm(winter: SimulatedData) -> None:
    m = _with_city(winter).query("city == 'Delhi' and parameter == 'pm25' and kind == 'reference'")
    local_hour = m["ts"].dt.tz_convert("Asia/Kolkata").dt.hour
    profile = m.groupby(local_hour)["value"].mean()
    assert profile.loc[[22, 23, 0, 1, 2]].mean() > 1.3 * profile.loc[[13, 14, 15]].mean()


def test_low_cost_sensors_report_raw_pm_only(winter: SimulatedData) -> None:
    m = _with_city(winter, valid_only=False)
    assert set(m.loc[m["kind"] == "low_cost", "parameter"].astype(str)) == {"pm25", "pm10"}
    assert set(m.loc[m["kind"] == "reference", "parameter"].astype(str)) == set(POLLUTANTS)
    # The raw CF=1 reading runs high; the US EPA correction brings it back near the monitors.
    m = _with_city(winter).query("parameter == 'pm25'")
    rh = winter.weather.set_index(["city", "ts"])["humidity_pct"]
    lc = m[m["kind"] == "low_cost"]
    lc_rh = rh.reindex(pd.MultiIndex.from_arrays([lc["city"], lc["ts"]])).to_numpy()
    corrected = (0.524 * lc["value"] - 0.0862 * lc_rh + 5.75).groupby(lc["city"]).mean()
    raw = lc.groupby("city")["value"].mean()
    reference = m[m["kind"] == "reference"].groupby("city")["value"].mean()
    assert (raw > reference).all()
    assert ((corrected / reference).between(0.7, 1.3)).all()


def test_neighbouring_stations_agree_more_than_distant_ones() -> None:
    data = simulate(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC), n_stations=150)
    m = _with_city(data).query("parameter == 'no2'")
    where = {s.code: s for s in data.stations}
    near, far = [], []
    for city in ("Delhi", "London", "Lagos"):
        wide = np.log(m[m["city"] == city].pivot(index="ts", columns="station_code", values="value")
                      .clip(lower=0.1))
        corr = wide.corr()
        for i, a in enumerate(corr.columns):
            for b in corr.columns[i + 1:]:
                d = _distance_km(where[a].lat, where[a].lon, where[b].lat, where[b].lon)
                (near if d < 8 else far if d > 25 else []).append(corr.loc[a, b])
    assert np.mean(near) > np.mean(far) + 0.05


@pytest.mark.parametrize("now", [datetime(2023, 3, 1, tzinfo=UTC), datetime(2024, 8, 15, tzinfo=UTC),
                                 datetime(2025, 5, 10, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)])
def test_every_recent_90_days_show_an_episode_and_a_spread_of_air_quality(now: datetime) -> None:
    data = simulate(now - timedelta(days=90), now, n_stations=24)
    m = _with_city(data).query("parameter == 'pm25' and kind == 'reference'")
    hourly = m.groupby(["city", "ts"])["value"].mean()
    peak = hourly.groupby(level="city").max()
    assert max(peak["Los Angeles"], peak["São Paulo"]) > 150  # smoke
    daily = m.groupby(["city", m["ts"].dt.floor("D")])["value"].mean().groupby(level="city")
    assert daily.max()["Delhi"] > 55.5 and daily.median()["London"] < 35.5


# --- data faults ------------------------------------------------------------------------


def test_gaps_and_invalid_flags_occur_at_the_stated_rates(winter: SimulatedData) -> None:
    m = _with_city(winter, valid_only=False)
    hours = (WINTER[1] - WINTER[0]) // timedelta(hours=1)
    expected = hours * sum(6 if s.kind == "reference" else 2 for s in winter.stations)
    missing = 1 - len(m) / expected
    assert 0.008 < missing < 0.03
    assert not m.duplicated(["station_code", "parameter", "ts"]).any()

    invalid = m[m["quality"] == QUALITY_INVALID]
    assert 0.00005 < len(invalid) / len(m) < 0.0006
    limit = invalid["parameter"].astype(str).map(PHYSICAL_MAX)
    assert ((invalid["value"] < 0) | (invalid["value"] > limit)).all()

    # Some whole-station outages of several hours: every parameter absent at once.
    hours_seen = m[["station_code", "ts"]].drop_duplicates()
    longest = hours_seen.groupby("station_code", observed=True)["ts"].agg(lambda ts: ts.diff().max())
    assert (longest >= pd.Timedelta(hours=5)).sum() >= 5


# --- scale ------------------------------------------------------------------------------


def test_scales_to_a_thousand_stations() -> None:
    start = datetime(2024, 9, 1, tzinfo=UTC)
    began = time.perf_counter()
    data = simulate(start, start + timedelta(days=3), n_stations=1000)
    elapsed = time.perf_counter() - began
    m = data.measurements
    assert m["station_code"].nunique() == 1000
    assert isinstance(m["station_code"].dtype, pd.CategoricalDtype)
    expected = 72 * sum(6 if s.kind == "reference" else 2 for s in data.stations)
    assert 0.97 * expected < len(m) <= expected
    assert elapsed < 20  # vectorised: ~0.3 M rows here, well under a second on a laptop

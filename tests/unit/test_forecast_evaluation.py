"""Held-out scoring without a model: baselines never look ahead, MAE, pinball, coverage, best-baseline verdict."""
from __future__ import annotations

import numpy as np
import pytest

from core.forecast import evaluation
from core.forecast import features as F


def history(series: np.ndarray) -> np.ndarray:
    """Raw values (T, 1, F) whose PM2.5 is `series` and everything else missing."""
    values = np.full((len(series), 1, F.N_FEATURES), np.nan, np.float32)
    values[:, 0, F.TARGET_INDEX[0]] = series
    return values


def test_baselines_read_only_hours_up_to_the_issue_hour():
    hours = 24 * 40
    series = np.arange(hours, dtype=float)[:, None]
    base = evaluation.Baselines(series)
    t, s = np.array([24 * 30 + 5]), np.array([0])
    for h in (1, 24, 25, 72):
        guesses = base.at(t, s, h)
        assert guesses["persistence"][0] == t[0]
        assert guesses["mean_24h"][0] == pytest.approx(t[0] - 11.5)
        same = t[0] + h - 24 * int(np.ceil(h / 24))
        assert same <= t[0] and same % 24 == (t[0] + h) % 24
        assert guesses["same_hour_yesterday"][0] == same
        # The mean of the 28 days at that hour of day, ending at the newest one up to the issue hour.
        assert guesses["climatology"][0] == pytest.approx(same - 24 * 13.5)


def test_climatology_feature_is_the_28_day_same_hour_median_up_to_each_hour():
    values = history(np.where(np.arange(24 * 30) % 24 == 3, 100.0, 1.0))
    values[24 * 29 + 3, 0, F.TARGET_INDEX[0]] = 10_000.0  # one outlier: the median does not move
    F._fill_climatology(values)
    clim = values[:, 0, F.CLIMATOLOGY_INDEX[0]]
    assert clim[24 * 29 + 3] == 100.0 and clim[24 * 29 + 4] == 1.0
    assert np.isnan(clim[24 * 2 + 3])  # fewer than a quarter of the days seen: no climatology yet


def test_pinball_scores_a_point_forecast_as_every_quantile():
    truth = np.array([10.0, 10.0])
    assert evaluation.pinball(truth, np.array([10.0, 10.0])) == 0
    assert evaluation.pinball(truth, np.array([8.0, 8.0])) == pytest.approx(2 * (0.1 + 0.5 + 0.9) / 3)
    assert evaluation.pinball(truth, np.array([[9.0, 10.0, 11.0]] * 2)) == pytest.approx((0.1 + 0.1) / 3)


def test_a_perfect_forecast_beats_every_baseline_with_a_narrow_band_that_covers_everything():
    rng = np.random.default_rng(3)
    series = np.round(30 + 10 * np.sin(np.arange(24 * 40) * 2 * np.pi / 24) + rng.normal(0, 5, 24 * 40))
    values = history(series)
    t = np.arange(24 * 30, 24 * 40 - F.HORIZON)
    s = np.zeros(len(t), int)
    truth = np.stack([series[t + h] for h in range(1, F.HORIZON + 1)], axis=1)
    quantiles = np.zeros((len(t), len(F.TARGETS), F.HORIZON, 3))
    quantiles[:, 0] = np.stack([truth - 1, truth, truth + 1], axis=-1)
    metrics = evaluation.score(quantiles, values, t, s)
    assert metrics["horizons"] == [1, 3, 6, 12, 24, 48, 72]
    assert metrics["mae"]["pm25"]["model"] == [0.0] * 7 and metrics["coverage"]["pm25"] == [1.0] * 7
    best = metrics["best_baseline"]["pm25"]
    assert all(name in evaluation.BASELINES for name in best["names"]) and all(best["model_wins"])
    assert best["mae"] == [min(metrics["mae"]["pm25"][n][i] for n in evaluation.BASELINES) for i in range(7)]
    # A city without ozone has no O3 verdict: None everywhere, and the overall verdict is PM2.5's.
    assert metrics["mae"]["o3"]["model"] == [None] * 7 and metrics["coverage"]["o3"] == [None] * 7
    assert metrics["beats_best_baseline"] is True
    assert metrics["reliability"]["pm25"]["observed"][0] == [0.0, 1.0, 1.0]


def test_a_forecast_worse_than_climatology_at_long_horizons_is_not_declared_a_winner():
    series = np.tile(np.r_[np.full(12, 10.0), np.full(12, 50.0)], 40)
    values = history(series)
    t = np.arange(24 * 30, 24 * 40 - F.HORIZON)
    quantiles = np.zeros((len(t), len(F.TARGETS), F.HORIZON, 3))
    quantiles[:, 0] = series[t][:, None, None]  # persistence everywhere: wrong half of each day
    metrics = evaluation.score(quantiles, values, t, np.zeros(len(t), int))
    assert metrics["beats_best_baseline"] is False
    rows = evaluation.skill_rows(metrics, "pm25")
    at_12h = rows[metrics["horizons"].index(12)]  # half a day ahead persistence is always on the wrong half
    assert at_12h["best_baseline"] in ("climatology", "same_hour_yesterday") and at_12h["best_mae"] == 0
    assert at_12h["wins"] is False and at_12h["skill"] is None


def test_conformal_calibration_puts_a_tenth_of_outcomes_outside_each_side_of_the_band():
    rng = np.random.default_rng(0)
    y = rng.normal(0, 2, size=(4000, len(F.TARGETS), F.HORIZON))
    raw = np.zeros((4000, len(F.TARGETS), F.HORIZON, 3))
    raw[..., 0], raw[..., 2] = -1.0, 1.0  # a band far too narrow for σ = 2
    calibrated = F.Calibration.fit(raw, y).apply(raw)
    below = (y < calibrated[..., 0]).mean()
    above = (y > calibrated[..., 2]).mean()
    assert below == pytest.approx(0.1, abs=0.01) and above == pytest.approx(0.1, abs=0.01)
    again = F.Calibration.from_dict(F.Calibration.fit(raw, y).as_dict())
    np.testing.assert_allclose(again.apply(raw), calibrated, atol=1e-3)


def test_calibration_leaves_horizons_with_too_few_outcomes_alone():
    y = np.full((10, len(F.TARGETS), F.HORIZON), 5.0)
    raw = np.zeros((10, len(F.TARGETS), F.HORIZON, 3))
    raw[..., 0], raw[..., 2] = -1.0, 1.0
    np.testing.assert_array_equal(F.Calibration.fit(raw, y).apply(raw), raw)

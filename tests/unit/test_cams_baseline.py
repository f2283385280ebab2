"""CAMS as a published baseline in the held-out scoring: scored where it exists, the other four untouched."""
from __future__ import annotations

import numpy as np
import pytest

from core.forecast import evaluation
from core.forecast import features as F


def _case():
    rng = np.random.default_rng(7)
    hours = 24 * 40
    series = np.round(30 + 10 * np.sin(np.arange(hours) * 2 * np.pi / 24) + rng.normal(0, 5, hours))
    values = np.full((hours, 1, F.N_FEATURES), np.nan, np.float32)
    values[:, 0, F.TARGET_INDEX[0]] = series
    t = np.arange(24 * 30, hours - F.HORIZON)
    s = np.zeros(len(t), int)
    truth = np.stack([series[t + h] for h in range(1, F.HORIZON + 1)], axis=1)
    quantiles = np.zeros((len(t), len(F.TARGETS), F.HORIZON, 3))
    quantiles[:, 0] = np.stack([truth - 3, truth + 2, truth + 7], axis=-1)  # p50 always 2 too high
    return series, values, t, s, quantiles


def test_cams_is_scored_on_the_hours_it_covers_and_the_other_baselines_do_not_move():
    series, values, t, s, quantiles = _case()
    cams = (series + 4.0)[:, None].copy()  # always 4 too high …
    cams[: 24 * 35] = np.nan  # … and only from day 35 on
    without = evaluation.score(quantiles, values, t, s)
    with_cams = evaluation.score(quantiles, values, t, s, cams={"pm25": cams})

    assert "cams" not in without
    for key in ("mae", "pinball", "coverage", "best_baseline", "beats_best_baseline"):
        assert with_cams[key] == without[key]
    scored = with_cams["cams"]["pm25"]
    assert scored["mae"] == [4.0] * len(evaluation.REPORT_HORIZONS)
    assert scored["model_mae"] == [2.0] * len(evaluation.REPORT_HORIZONS)
    # Outcomes at t + h from day 35 on: fewer samples at short horizons, where t + h reaches day 35 later.
    assert scored["samples"][0] == int(np.sum(t + 1 >= 24 * 35)) < len(t)
    assert scored["samples"] == sorted(scored["samples"])
    assert set(with_cams["cams"]) == {"pm25"}  # no O3 from CAMS given: none scored


def test_cams_without_any_value_for_the_held_out_hours_scores_nothing_and_the_skill_text_says_so():
    series, values, t, s, quantiles = _case()
    metrics = evaluation.score(quantiles, values, t, s, cams={"pm25": np.full((len(series), 1), np.nan)})
    assert metrics["cams"]["pm25"]["samples"] == [0] * len(evaluation.REPORT_HORIZONS)
    assert metrics["cams"]["pm25"]["mae"] == [None] * len(evaluation.REPORT_HORIZONS)
    assert not any("CAMS" in line for line in evaluation.skill_text(metrics, "pm25"))

    cams = (series + 4.0)[:, None]
    lines = evaluation.skill_text(evaluation.score(quantiles, values, t, s, cams={"pm25": cams}), "pm25")
    assert lines[-1].startswith("CAMS as published on the samples it covers")
    assert "24 h 4.00 / 2.00 / " in lines[-1]


def test_cams_pinball_scores_its_single_value_as_every_quantile():
    series, values, t, s, quantiles = _case()
    cams = (series - 1.0)[:, None]
    scored = evaluation.score(quantiles, values, t, s, cams={"pm25": cams})["cams"]["pm25"]
    assert scored["pinball"][0] == pytest.approx(evaluation.pinball(np.array([1.0]), np.array([0.0])))

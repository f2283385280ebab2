"""Held-out skill: the model's quantiles against four simple baselines per horizon (MAE, pinball, coverage).

Every baseline reads only hours up to the issue hour, like the model. Plain numpy: no TensorFlow here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.forecast import features as F

REPORT_HORIZONS = (1, 3, 6, 12, 24, 48, 72)
QUANTILES = (0.1, 0.5, 0.9)
COVERAGE_TARGET = 0.8  # p10–p90 should hold 80 % of outcomes
BASELINES: dict[str, str] = {
    "persistence": "Persistence (last value)",
    "same_hour_yesterday": "Same hour yesterday",
    "mean_24h": "Mean of the last 24 h",
    "climatology": "28-day same-hour mean",
}
# Scored where its rows exist, on those samples only (the four above keep their results); never the "best".
# The stored CAMS value of an hour is the newest run published before it, so at long horizons the
# comparison flatters CAMS.
CAMS_LABEL = "CAMS as published"  # out["cams"]


class Baselines:
    """The four baselines of one target series (T, S), precomputed once for every issue hour."""

    def __init__(self, series: np.ndarray) -> None:
        self.series = series
        self.last = pd.DataFrame(series).ffill().to_numpy()
        self.mean_24h = pd.DataFrame(series).rolling(24, min_periods=1).mean().to_numpy()
        self.climatology = F.same_hour_rolling(series, F.CLIMATOLOGY_DAYS, "mean")

    def at(self, t: np.ndarray, s: np.ndarray, h: int) -> dict[str, np.ndarray]:
        """Each baseline's forecast for hour t+h issued at hour t."""
        # The newest hour up to t with the target's hour of day: 24·⌈h/24⌉ hours before the target.
        same = t + h - 24 * int(np.ceil(h / 24))
        return {"persistence": self.last[t, s], "same_hour_yesterday": self.series[same, s],
                "mean_24h": self.mean_24h[t, s], "climatology": self.climatology[same, s]}


def pinball(truth: np.ndarray, quantiles: np.ndarray) -> float:
    """Mean pinball loss over QUANTILES; quantiles (N, 3), or a point forecast (N,) scored as all three."""
    q = np.asarray(QUANTILES)
    guess = quantiles if quantiles.ndim == 2 else np.repeat(quantiles[:, None], len(q), axis=1)
    error = truth[:, None] - guess
    return float(np.mean(np.maximum(q * error, (q - 1.0) * error)))


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def score(quantiles: np.ndarray, values: np.ndarray, t: np.ndarray, s: np.ndarray,
          horizons: tuple[int, ...] = REPORT_HORIZONS, cams: dict[str, np.ndarray] | None = None) -> dict:
    """Skill of quantile forecasts (N, P, HORIZON, 3), concentrations, issued at hours t for stations s, against
    the raw history values (T, S, F), at `horizons`.

    Per target: MAE and pinball of the model (p50 / its quantiles) and of every baseline, p10–p90 coverage,
    the share of outcomes below each quantile (reliability), and the best baseline by MAE per horizon. Only
    (sample, horizon) pairs where the outcome and every forecast exist are compared. With `cams` (target →
    (T, S) CAMS values, NaN where none, e.g. core.weather.cams_series) also out["cams"][target]: CAMS's and
    the model's MAE on the pairs that also have a CAMS value, and how many there were.
    """
    out: dict = {"held_out_samples": int(len(t)), "horizons": list(horizons), "quantiles": list(QUANTILES),
                 "mae": {}, "pinball": {}, "coverage": {}, "reliability": {}, "best_baseline": {}}
    verdicts = []
    for pi, parameter in enumerate(F.TARGETS):
        series = values[..., F.TARGET_INDEX[pi]]
        baselines = Baselines(series)
        mae = {name: [] for name in ("model", *BASELINES)}
        loss = {name: [] for name in ("model", *BASELINES)}
        coverage, below, compared = [], [], []
        for h in horizons:
            truth = series[t + h, s]
            model = quantiles[:, pi, h - 1, :]
            guesses = baselines.at(t, s, h)
            ok = np.isfinite(truth) & np.isfinite(model).all(axis=1)
            ok &= np.all([np.isfinite(g) for g in guesses.values()], axis=0)
            compared.append(int(ok.sum()))
            if not ok.any():
                for name in mae:
                    mae[name].append(None)
                    loss[name].append(None)
                coverage.append(None)
                below.append([None] * len(QUANTILES))
                continue
            y, m = truth[ok], model[ok]
            mae["model"].append(_round(np.mean(np.abs(m[:, 1] - y))))
            loss["model"].append(_round(pinball(y, m)))
            for name, guess in guesses.items():
                mae[name].append(_round(np.mean(np.abs(guess[ok] - y))))
                loss[name].append(_round(pinball(y, guess[ok])))
            coverage.append(_round(np.mean((y >= m[:, 0]) & (y <= m[:, 2]))))
            below.append([_round(np.mean(y <= m[:, k])) for k in range(len(QUANTILES))])
        best = _best(mae, horizons)
        out["mae"][parameter], out["pinball"][parameter], out["coverage"][parameter] = mae, loss, coverage
        out["reliability"][parameter] = {"observed": below, "samples": compared}
        if cams is not None and parameter in cams:
            out.setdefault("cams", {})[parameter] = _cams_skill(quantiles[:, pi], series, cams[parameter], t, s,
                                                                horizons, baselines)
        out["best_baseline"][parameter] = best
        verdicts += [w for w in best["model_wins"] if w is not None]
    # Over every target and horizon that could be scored (a city without ozone monitors has no O3 verdict).
    out["beats_best_baseline"] = bool(verdicts) and all(verdicts)
    return out


def _cams_skill(quantiles: np.ndarray, series: np.ndarray, cams: np.ndarray, t: np.ndarray, s: np.ndarray,
                horizons: tuple[int, ...], baselines: Baselines) -> dict:
    """CAMS against the model per horizon on the samples every other forecast is scored on, where CAMS has a value."""
    out = {"mae": [], "model_mae": [], "pinball": [], "samples": []}
    for h in horizons:
        truth, model, guess = series[t + h, s], quantiles[:, h - 1, :], cams[t + h, s]
        ok = np.isfinite(truth) & np.isfinite(model).all(axis=1) & np.isfinite(guess)
        ok &= np.all([np.isfinite(g) for g in baselines.at(t, s, h).values()], axis=0)
        out["samples"].append(int(ok.sum()))
        scored = ok.any()
        out["mae"].append(_round(np.mean(np.abs(guess[ok] - truth[ok]))) if scored else None)
        out["model_mae"].append(_round(np.mean(np.abs(model[ok, 1] - truth[ok]))) if scored else None)
        out["pinball"].append(_round(pinball(truth[ok], guess[ok])) if scored else None)
    return out


def _best(mae: dict[str, list], horizons: tuple[int, ...]) -> dict:
    names, best_mae, wins = [], [], []
    for i in range(len(horizons)):
        scored = {n: mae[n][i] for n in BASELINES if mae[n][i] is not None}
        if not scored or mae["model"][i] is None:
            names.append(None), best_mae.append(None), wins.append(None)
            continue
        name = min(scored, key=scored.get)
        names.append(name), best_mae.append(scored[name]), wins.append(bool(mae["model"][i] < scored[name]))
    return {"names": names, "mae": best_mae, "model_wins": wins}


def skill_rows(metrics: dict, parameter: str) -> list[dict]:
    """One row per horizon: model MAE, best baseline (name, MAE), skill (1 − model/best), coverage."""
    best = metrics["best_baseline"][parameter]
    rows = []
    for i, h in enumerate(metrics["horizons"]):
        model, base = metrics["mae"][parameter]["model"][i], best["mae"][i]
        skill = None if model is None or not base else round(1.0 - model / base, 3)
        rows.append({"horizon": h, "model_mae": model, "best_baseline": best["names"][i], "best_mae": base,
                     "skill": skill, "pinball": metrics["pinball"][parameter]["model"][i],
                     "coverage": metrics["coverage"][parameter][i], "wins": best["model_wins"][i]})
    return rows


def skill_text(metrics: dict, parameter: str) -> list[str]:
    """The skill table as text lines (CLI and bench): per horizon the model and every baseline's MAE, the
    model's pinball loss and coverage, and whether it beats the best baseline."""
    if all(v is None for v in metrics["mae"][parameter]["model"]):
        return [f"{parameter}: no held-out observations (the data has no {parameter})"]
    names = ("model", *BASELINES)
    lines = [f"{parameter}  MAE per horizon (lower is better); pinball and p10–p90 coverage of the model",
             f"{'h':>4} " + " ".join(f"{n[:12]:>12}" for n in names) + f" {'pinball':>8} {'coverage':>8}  verdict"]
    best = metrics["best_baseline"][parameter]
    for i, h in enumerate(metrics["horizons"]):
        cells = [metrics["mae"][parameter][n][i] for n in names]
        coverage = metrics["coverage"][parameter][i]
        loss = metrics["pinball"][parameter]["model"][i]
        verdict = ("—" if best["model_wins"][i] is None else
                   f"{'beats' if best['model_wins'][i] else 'LOSES to'} {best['names'][i]} ({best['mae'][i]:.2f})")
        lines.append(f"{h:>4} " + " ".join(f"{'—' if c is None else f'{c:.2f}':>12}" for c in cells)
                     + f" {'—' if loss is None else f'{loss:.2f}':>8} {'—' if coverage is None else f'{coverage:.0%}':>8}"
                     + f"  {verdict}")
    cams = metrics.get("cams", {}).get(parameter)
    if cams and any(n for n in cams["samples"]):
        lines.append(f"{CAMS_LABEL} on the samples it covers (CAMS MAE / model MAE / samples): " + ", ".join(
            f"{h} h {'—' if c is None else f'{c:.2f}'} / {'—' if m is None else f'{m:.2f}'} / {n}"
            for h, c, m, n in zip(metrics["horizons"], cams["mae"], cams["model_mae"], cams["samples"])))
    return lines

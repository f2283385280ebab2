"""Train the forecaster on a time-based split, calibrate it, score it against the baselines, save it."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.db import queries
from core.db.models import Measurement
from core.forecast import evaluation
from core.forecast import features as F
from core.forecast import versions

MODES = ("past_only", "with_weather")  # without / with a weather forecast for the horizon hours
FUTURE_DROPOUT = 0.5  # share of training samples shown no weather forecast: one model serves both modes
PATIENCE = 3  # epochs without a better validation loss before training stops


@dataclass
class Split:
    """Hour indexes of training and held-out issue hours; every training target lies before split_hour."""

    train: np.ndarray
    held_out: np.ndarray
    split_hour: int


def load_history(engine: Engine, days: int, end: datetime | None = None) -> F.History:
    """The last `days` days of every active station's valid readings and its city's weather."""
    with Session(engine) as session:
        end = F.utc_hour(end or queries.latest_hour(session) or datetime.now(timezone.utc))
        stations = [s for s in queries.stations(session, active=True)]
        hours = days * 24
        measurements = queries.recent_window(session, end, hours)
        weather = queries.city_weather(session, end, hours)
    if not stations or measurements.empty:
        raise ValueError("no measurements to train on: seed or import data first (python app.py seed)")
    return F.build_history(measurements, weather, stations, end - timedelta(hours=hours - 1), end)


def load_range(engine: Engine, start: datetime | None, end: datetime) -> F.History:
    """Every active station's valid readings and its city's weather in [start, end] (start None: the first
    stored hour)."""
    from sqlalchemy import func, select

    end = F.utc_hour(end)
    with Session(engine) as session:
        first = session.execute(select(func.min(Measurement.ts))).scalar_one_or_none()
        if first is None:
            raise ValueError("no measurements to train on: seed or import data first (python app.py seed)")
        start = max(F.utc_hour(start or queries.utc(first)), F.utc_hour(queries.utc(first)))
        hours = int((end - start).total_seconds() // 3600) + 1
        if hours <= 0:
            raise ValueError(f"no data before {end:%Y-%m-%d %H:00} UTC: the first stored hour is {start:%Y-%m-%d %H:00}")
        stations = queries.stations(session, active=True)
        measurements = queries.recent_window(session, end, hours)
        weather = queries.city_weather(session, end, hours)
    return F.build_history(measurements, weather, stations, start, end)


def history_from_simulation(data) -> F.History:
    """A History straight from core.ingest.simulator output (the bench trains without a database)."""
    cities = {c.name: i + 1 for i, c in enumerate(data.cities)}
    tz = {c.name: c.timezone for c in data.cities}
    stations = [{"id": i + 1, "city_id": cities[s.city], "timezone": tz[s.city]} for i, s in enumerate(data.stations)]
    code_to_id = {s.code: i + 1 for i, s in enumerate(data.stations)}
    m = data.measurements[data.measurements["quality"] < 2]
    measurements = pd.DataFrame({"station_id": m["station_code"].astype(str).map(code_to_id).to_numpy(),
                                 "parameter": m["parameter"].astype(str).to_numpy(), "ts": m["ts"].to_numpy(),
                                 "value": m["value"].to_numpy()})
    measurements["ts"] = pd.to_datetime(measurements["ts"], utc=True)
    weather = data.weather.copy()
    weather["city_id"] = weather["city"].astype(str).map(cities)
    ts = weather["ts"]
    return F.build_history(measurements, weather, stations, ts.min().to_pydatetime(), ts.max().to_pydatetime())


def time_split(n_hours: int, held_out_fraction: float = 0.2, split_hour: int | None = None) -> Split:
    """Issue hours before the split train (with targets before it too); those after it are held out.

    split_hour (an hour index) overrides held_out_fraction: a backtest holds out everything from a date on.
    """
    split_hour = int(n_hours * (1 - held_out_fraction)) if split_hour is None else split_hour
    train = F.issue_indexes(n_hours, first_target_limit=split_hour)
    held_out = np.arange(max(split_hour, F.LOOKBACK - 1), n_hours - F.HORIZON)
    if len(train) == 0 or len(held_out) == 0:
        need = int(max((F.LOOKBACK + F.HORIZON) / (1 - held_out_fraction), F.HORIZON / held_out_fraction)) + 2
        raise ValueError(f"{n_hours} hours of history are too few to train and evaluate: need at least {need}"
                         if split_hour is None else
                         f"a backtest needs {F.LOOKBACK + F.HORIZON} hours before its start and "
                         f"{F.HORIZON + 1} hours after it: there are {split_hour} and {n_hours - split_hour}")
    return Split(train, held_out, split_hour)


def _samples(issue: np.ndarray, n_stations: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    t = np.repeat(issue[::stride], n_stations)
    s = np.tile(np.arange(n_stations), len(issue[::stride]))
    return t, s


@dataclass
class Inputs:
    """What the model reads for a set of samples, built batch by batch (windows are large)."""

    inputs: np.ndarray  # (T, S, F) standardised
    buckets: np.ndarray  # (S,) station buckets
    t: np.ndarray
    s: np.ndarray
    weather: np.ndarray  # (N,) bool: the sample's weather forecast is shown to the model

    def batch(self, idx: np.ndarray) -> list[np.ndarray]:
        t, s = self.t[idx], self.s[idx]
        return [F.windows(self.inputs, t, s), F.future_weather(self.inputs, t, s, self.weather[idx]),
                self.buckets[s]]

    def with_weather(self, weather: np.ndarray) -> "Inputs":
        return Inputs(self.inputs, self.buckets, self.t, self.s, weather)


def raw_quantiles(model, data: Inputs, batch_size: int = 2048) -> np.ndarray:
    """Standardised model outputs (N, P, H, 3) for every sample of `data`."""
    out = [np.asarray(model(data.batch(np.arange(b, min(b + batch_size, len(data.t)))), training=False))
           for b in range(0, len(data.t), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, len(F.TARGETS), F.HORIZON, 3), np.float32)


def train(history: F.History, epochs: int = 6, batch_size: int = 256, hidden: int = 128, seed: int = 42,
          held_out_fraction: float = 0.2, val_fraction: float = 0.25, progress: Callable[[int, int, float], None] | None = None,
          version: str | None = None, split_at: datetime | None = None) -> tuple[object, dict]:
    """Fit on the early hours, evaluate on the late ones (from split_at when given); returns (model, card).

    progress(step, steps, loss). Training stops early when the validation loss stops improving and keeps the
    best epoch's weights.
    """
    import keras
    import tensorflow as tf

    from core.forecast.model import build_model, pinball_loss

    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    n_hours, n_stations = history.values.shape[:2]
    split_hour = None if split_at is None else int(history.hours.searchsorted(pd.Timestamp(split_at)))
    split = time_split(n_hours, held_out_fraction, split_hour)
    # Statistics from the training span only: the held-out hours must not leak into the inputs' scale.
    norm = F.fit_normalisation(history.values[:split.split_hour])
    inputs = F.normalised_inputs(history.values, norm)
    buckets = F.station_buckets(history.station_ids)
    # The end of the training span is a validation slice: the network fits on issue hours whose targets all
    # lie before it, then the anchor blend, gate and band are calibrated on it (still before the split).
    fit_issues, val_issues = validation_split(split, val_fraction)
    fit, y_fit = _observed(history, norm, inputs, buckets, fit_issues, n_stations)
    val, y_val = _observed(history, norm, inputs, buckets, val_issues, n_stations)
    rng = np.random.default_rng(seed)
    has_weather = bool(fit.weather.any())
    fit_shown = fit.weather & (rng.random(len(fit.t)) >= FUTURE_DROPOUT)
    weights = tf.constant(horizon_weights(inputs, fit, y_fit))

    model = build_model(hidden=hidden)
    optimizer = keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=1e-2)
    spec = [tf.TensorSpec((None, F.LOOKBACK, F.N_FEATURES), tf.float32),
            tf.TensorSpec((None, F.HORIZON, F.N_FUTURE), tf.float32), tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None, len(F.TARGETS), F.HORIZON), tf.float32)]

    @tf.function(input_signature=spec)
    def step(x, future, s, y):
        with tf.GradientTape() as tape:
            loss = pinball_loss(y, model([x, future, s], training=True), horizon_weights=weights)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    steps_per_epoch = max(1, int(np.ceil(len(fit.t) / batch_size)))
    total, done, loss = steps_per_epoch * epochs, 0, float("nan")
    best, best_weights, stale, epochs_run = np.inf, None, 0, 0
    shown = fit.with_weather(fit_shown)
    for _epoch in range(epochs):
        order = rng.permutation(len(fit.t))
        for b in range(steps_per_epoch):
            idx = order[b * batch_size:(b + 1) * batch_size]
            loss = float(step(*shown.batch(idx), y_fit[idx]))
            done += 1
            if progress:
                progress(done, total, loss)
        epochs_run += 1
        if not len(val.t):
            continue
        score = _validation_loss(model, val, y_val, weights)
        if score < best - 1e-5:
            best, best_weights, stale = score, model.get_weights(), 0
        else:
            stale += 1
            if stale >= PATIENCE:
                break
    if best_weights is not None:
        model.set_weights(best_weights)
    calibration = {mode: F.Calibration.identity() for mode in MODES}
    if len(val.t):
        calibrate(model, val, y_val, weights, seed=seed)
        for mode in MODES:
            shown = val.with_weather(val.weather & (mode == "with_weather"))
            calibration[mode] = F.Calibration.fit(raw_quantiles(model, shown), y_val)
    train_seconds = time.perf_counter() - started

    held = _held_out(history, inputs, buckets, split.held_out, n_stations)
    metrics = evaluate(model, history, norm, held.with_weather(np.zeros(len(held.t), bool)), calibration["past_only"])
    if has_weather:
        metrics["with_weather"] = evaluate(model, history, norm, held, calibration["with_weather"])
    version = version or datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    card = {
        "version": version, "format": versions.FORMAT,
        "trained_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "data_range": {"start": _iso(history.hours[0]), "end": _iso(history.hours[-1]),
                       "split": _iso(history.hours[split.split_hour]), "stations": int(n_stations)},
        "features": list(F.FEATURES), "targets": list(F.TARGETS), "lookback_hours": F.LOOKBACK,
        "horizon_hours": F.HORIZON, "quantiles": [0.1, 0.5, 0.9],
        "inputs": {"future_weather": list(F.FUTURE_WEATHER), "trained_with_weather_forecast": has_weather},
        "architecture": {"hidden": hidden, "embedding": 8},
        "training": {"epochs": epochs, "epochs_run": epochs_run, "batch_size": batch_size,
                     "samples": int(len(fit.t)), "calibration_samples": int(len(val.t)),
                     "final_loss": round(loss, 5), "validation_loss": None if best == np.inf else round(best, 5),
                     "seconds": round(train_seconds, 1)},
        "normalisation": norm.as_dict(),
        "calibration": {mode: c.as_dict() for mode, c in calibration.items()},
        "metrics": metrics,
    }
    return model, card


def horizon_weights(inputs: np.ndarray, fit: Inputs, y: np.ndarray) -> np.ndarray:
    """(P, H) loss weights, mean 1: the inverse of persistence's mean error per target and horizon.

    Errors grow with the horizon, so an unweighted loss is all about 72 h; scaled like this, a 1-h forecast
    that is 5 % better than persistence counts as much as a 72-h one.
    """
    last = inputs[fit.t, fit.s][:, list(F.TARGET_INDEX)]  # (N, P) the standardised last value
    with np.errstate(invalid="ignore"):
        error = np.nanmean(np.abs(y - last[:, :, None]), axis=0) if len(y) else np.full(y.shape[1:], np.nan)
    weights = np.where(np.isfinite(error) & (error > 1e-6), 1.0 / np.maximum(error, 1e-6), np.nan)
    weights = weights / np.nanmean(weights) if np.isfinite(weights).any() else np.ones_like(weights)
    return np.nan_to_num(weights, nan=1.0).astype(np.float32)


def validation_split(split: Split, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) issue hours from split.train: fit targets all lie before the validation issue hours.

    The validation slice is val_fraction of the training span, at most a year (a year sees every season).
    """
    if val_fraction <= 0:
        return split.train, split.train[:0]
    val_start = max(int(split.split_hour * (1 - val_fraction)), split.split_hour - 365 * 24)
    fit = split.train[split.train + F.HORIZON < val_start]
    val = split.train[split.train >= val_start]
    if len(fit) == 0 or len(val) == 0:
        return split.train, split.train[:0]
    return fit, val


def _observed(history: F.History, norm: F.Normalisation, inputs: np.ndarray, buckets: np.ndarray,
              issues: np.ndarray, n_stations: int) -> tuple[Inputs, np.ndarray]:
    """The samples of `issues` with at least one observed target, and their standardised targets."""
    t, s = _samples(issues, n_stations)
    y = F.targets(history.values, norm, t, s)
    keep = np.isfinite(y).any(axis=(1, 2))
    t, s = t[keep], s[keep]
    return Inputs(inputs, buckets, t, s, F.weather_observed(history.values, t, s)), y[keep]


def _held_out(history: F.History, inputs: np.ndarray, buckets: np.ndarray, issues: np.ndarray,
              n_stations: int) -> Inputs:
    """Every held-out sample, shown the observed weather of its horizon hours where there is some."""
    t, s = _samples(issues, n_stations)
    return Inputs(inputs, buckets, t, s, F.weather_observed(history.values, t, s))


def _validation_loss(model, val: Inputs, y: np.ndarray, weights) -> float:
    """Pinball loss on the validation slice, averaged over showing and not showing the weather forecast."""
    from core.forecast.model import pinball_loss

    losses = [float(pinball_loss(y, raw_quantiles(model, val.with_weather(val.weather & shown)),
                                 horizon_weights=weights)) for shown in (False, True)]
    return float(np.mean(losses))


def calibrate(model, val: Inputs, y: np.ndarray, weights, epochs: int = 4, batch_size: int = 1024,
              seed: int = 42) -> None:
    """Fit only the anchor blend, the per-horizon gate and the spreads on the validation slice.

    The network itself stays fixed (and deterministic: no dropout), so this measures how far its corrections
    carry over to hours it never saw, horizon by horizon, and shrinks them toward the anchor where they do not.
    Half the samples are shown their weather forecast, as in training.
    """
    import keras
    import tensorflow as tf

    from core.forecast.model import CALIBRATED_LAYERS, pinball_loss

    variables = [v for name in CALIBRATED_LAYERS for v in model.get_layer(name).trainable_variables]
    optimizer = keras.optimizers.Adam(learning_rate=2e-2)
    spec = [tf.TensorSpec((None, F.LOOKBACK, F.N_FEATURES), tf.float32),
            tf.TensorSpec((None, F.HORIZON, F.N_FUTURE), tf.float32), tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None, len(F.TARGETS), F.HORIZON), tf.float32)]

    @tf.function(input_signature=spec)
    def step(x, future, st, yt):
        with tf.GradientTape() as tape:
            loss = pinball_loss(yt, model([x, future, st], training=False), horizon_weights=weights)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(seed)
    shown = val.with_weather(val.weather & (rng.random(len(val.t)) >= FUTURE_DROPOUT))
    for _ in range(epochs):
        order = rng.permutation(len(val.t))
        for b in range(0, len(val.t), batch_size):
            idx = order[b:b + batch_size]
            step(*shown.batch(idx), y[idx])


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def evaluate(model, history: F.History, norm: F.Normalisation, held: Inputs, calibration: F.Calibration) -> dict:
    """evaluation.score of the calibrated model on the held-out samples (concentrations, raw units)."""
    quantiles = F.to_concentration(calibration.apply(raw_quantiles(model, held)), norm)
    return evaluation.score(quantiles, history.values, held.t, held.s)


def train_and_save(engine: Engine, directory: Path, days: int, epochs: int,
                   progress: Callable[[int, int, float], None] | None = None, promoted_by: str = "train") -> dict:
    """`python app.py train` and the Retrain button: load history, train, save weights and card, promote it
    (every worker switches to it); returns the card."""
    from core.forecast.model import save

    history = load_history(engine, days)
    model, card = train(history, epochs=epochs, progress=progress)
    save(model, card, directory)
    versions.promote(directory, card["version"], promoted_by, "trained and promoted directly")
    return card


# -- the challenger: a new version is promoted only if it beats the promoted one on the newest weeks -----------
COVERAGE_TOLERANCE = 0.05  # p10–p90 coverage within 80 ± 5 % is on target


def held_out_score(directory: Path, version: str, history: F.History, split_at: datetime) -> dict:
    """evaluation.score of a saved version, past inputs only, on every issue hour of `history` from split_at
    (the same samples whichever version is scored, each read with its own normalisation and calibration).

    IncompatibleModel (or OSError) when the version cannot be loaded."""
    from core.forecast.model import load

    model, card = load(directory, version)
    norm = F.Normalisation.from_dict(card["normalisation"])
    inputs = F.normalised_inputs(history.values, norm)
    split = time_split(len(history.hours), split_hour=int(history.hours.searchsorted(pd.Timestamp(split_at))))
    held = _held_out(history, inputs, F.station_buckets(history.station_ids), split.held_out, len(history.station_ids))
    return evaluate(model, history, norm, held.with_weather(np.zeros(len(held.t), bool)),
                    F.Calibration.from_dict(card["calibration"]["past_only"]))


def score_summary(version: str, metrics: dict) -> dict:
    """Mean MAE over every scored target and horizon (each target in its unit), mean p10–p90 coverage, and
    the MAE per target and horizon."""
    mae = [v for target in metrics["mae"].values() for v in target["model"] if v is not None]
    coverage = [v for target in metrics["coverage"].values() for v in target if v is not None]
    return {"version": version, "mean_mae": round(float(np.mean(mae)), 3) if mae else None,
            "coverage": round(float(np.mean(coverage)), 3) if coverage else None,
            "mae": {t: m["model"] for t, m in metrics["mae"].items()}, "samples": metrics["held_out_samples"]}


def challenger_wins(challenger: dict, promoted: dict) -> tuple[bool, str]:
    """The rule: a lower mean MAE, and a coverage within 80 ± 5 % or at least as close to 80 % as the promoted
    model's. Returns (wins, why)."""
    target = evaluation.COVERAGE_TARGET
    if challenger["mean_mae"] is None or promoted["mean_mae"] is None:
        return False, "no held-out outcomes to compare on"
    if challenger["mean_mae"] >= promoted["mean_mae"]:
        return False, f"mean MAE {challenger['mean_mae']} is not below the promoted model's {promoted['mean_mae']}"
    off, promoted_off = abs(challenger["coverage"] - target), abs(promoted["coverage"] - target)
    if off > COVERAGE_TOLERANCE and off > promoted_off:
        return False, (f"coverage {challenger['coverage']:.1%} is outside {target:.0%} ± {COVERAGE_TOLERANCE:.0%} "
                       f"and further from {target:.0%} than the promoted model's {promoted['coverage']:.1%}")
    return True, (f"mean MAE {challenger['mean_mae']} < {promoted['mean_mae']} and coverage "
                  f"{challenger['coverage']:.1%} (promoted {promoted['coverage']:.1%})")


def contest(directory: Path, challenger: str, incumbent: str | None, history: F.History, split_at: datetime,
            by: str) -> dict:
    """Score the challenger and the incumbent (the version promoted before the challenger was trained) on the
    same held-out samples and promote the challenger only if challenger_wins; returns the job's summary."""
    ours = score_summary(challenger, held_out_score(directory, challenger, history, split_at))
    theirs = None
    if incumbent is None:
        wins, why = True, "no model was promoted"
    else:
        try:
            theirs = score_summary(incumbent, held_out_score(directory, incumbent, history, split_at))
            wins, why = challenger_wins(ours, theirs)
        except (versions.IncompatibleModel, OSError) as exc:
            wins, why = True, f"the promoted model {incumbent} cannot be scored: {str(exc)[:200]}"
    if wins:
        versions.promote(directory, challenger, by, f"challenger won: {why}")
    verdict = f"promoted {challenger}" if wins else f"kept {incumbent}"
    return {"decision": f"{verdict}: {why}", "promoted": wins, "challenger": ours, "incumbent": theirs,
            "held_out": {"from": _iso(pd.Timestamp(split_at)), "to": _iso(history.hours[-1])}}


def challenge(engine: Engine, directory: Path, days: int, epochs: int, held_out_days: int, by: str,
              progress: Callable[[int, int, float], None] | None = None) -> dict:
    """The weekly challenger: train a new version on the newest `days` days except the last held_out_days,
    save it, then contest it against the promoted version on those held-out days."""
    from core.forecast.model import save

    incumbent = versions.serving_version(directory)
    history = load_history(engine, days)
    split_at = history.end - timedelta(days=held_out_days) + timedelta(hours=1)
    model, card = train(history, epochs=epochs, progress=progress, split_at=split_at)
    save(model, card, directory)
    return contest(directory, card["version"], incumbent, history, split_at, by)


def backtest(engine: Engine, start: datetime, end: datetime, epochs: int, train_days: int | None = None,
             progress: Callable[[int, int, float], None] | None = None) -> dict:
    """`python app.py backtest`: train on the data before `start` (the last train_days days, or all of it) and
    score forecasts issued in [start, end − 72 h]; returns the card (the model is not saved)."""
    history = load_range(engine, None if train_days is None else start - timedelta(days=train_days), end)
    _, card = train(history, epochs=epochs, progress=progress, split_at=start, version="backtest")
    return card

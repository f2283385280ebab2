"""Train the forecaster on a time-based split, score it against persistence and same-hour-yesterday, save it."""
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
from core.forecast import features as F

REPORT_HORIZONS = (1, 6, 24, 48, 72)


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


def time_split(n_hours: int, held_out_fraction: float = 0.2) -> Split:
    """Issue hours before the split train (with targets before it too); those after it are held out."""
    split_hour = int(n_hours * (1 - held_out_fraction))
    train = F.issue_indexes(n_hours, first_target_limit=split_hour)
    held_out = np.arange(max(split_hour, F.LOOKBACK - 1), n_hours - F.HORIZON)
    if len(train) == 0 or len(held_out) == 0:
        need = int(max((F.LOOKBACK + F.HORIZON) / (1 - held_out_fraction), F.HORIZON / held_out_fraction)) + 2
        raise ValueError(f"{n_hours} hours of history are too few to train and evaluate: need at least {need}")
    return Split(train, held_out, split_hour)


def _samples(issue: np.ndarray, n_stations: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    t = np.repeat(issue[::stride], n_stations)
    s = np.tile(np.arange(n_stations), len(issue[::stride]))
    return t, s


def train(history: F.History, epochs: int = 6, batch_size: int = 256, hidden: int = 128, seed: int = 42,
          held_out_fraction: float = 0.2, val_fraction: float = 0.15, progress: Callable[[int, int, float], None] | None = None,
          version: str | None = None) -> tuple[object, dict]:
    """Fit on the early hours, evaluate on the late ones; returns (model, card). progress(step, steps, loss)."""
    import keras
    import tensorflow as tf

    from core.forecast.model import build_model, pinball_loss

    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    n_hours, n_stations = history.values.shape[:2]
    split = time_split(n_hours, held_out_fraction)
    # Statistics from the training span only: the held-out hours must not leak into the inputs' scale.
    norm = F.fit_normalisation(history.values[:split.split_hour])
    inputs = F.normalised_inputs(history.values, norm)
    buckets = F.station_buckets(history.station_ids)
    # The end of the training span is a validation slice: the network fits on issue hours whose targets all
    # lie before it, then the anchor blend, gate and spreads are calibrated on it (still before the split).
    fit_issues, val_issues = validation_split(split, val_fraction)
    t_train, s_train, y_all = _observed(history, norm, fit_issues, n_stations)
    t_val, s_val, y_val = _observed(history, norm, val_issues, n_stations)

    model = build_model(hidden=hidden)
    optimizer = keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=1e-2)
    spec = [tf.TensorSpec((None, F.LOOKBACK, F.N_FEATURES), tf.float32), tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None, len(F.TARGETS), F.HORIZON), tf.float32)]

    @tf.function(input_signature=spec)
    def step(x, s, y):
        with tf.GradientTape() as tape:
            loss = pinball_loss(y, model([x, s], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    steps_per_epoch = max(1, int(np.ceil(len(t_train) / batch_size)))
    total, done, loss = steps_per_epoch * epochs, 0, float("nan")
    for _epoch in range(epochs):
        order = rng.permutation(len(t_train))
        for b in range(steps_per_epoch):
            idx = order[b * batch_size:(b + 1) * batch_size]
            x = F.windows(inputs, t_train[idx], s_train[idx])
            loss = float(step(x, buckets[s_train[idx]], y_all[idx]))
            done += 1
            if progress:
                progress(done, total, loss)
    if len(t_val):
        calibrate(model, inputs, buckets, t_val, s_val, y_val, seed=seed)
    train_seconds = time.perf_counter() - started

    metrics = evaluate(model, history, inputs, norm, split)
    version = version or datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    card = {
        "version": version,
        "trained_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "data_range": {"start": _iso(history.hours[0]), "end": _iso(history.hours[-1]),
                       "split": _iso(history.hours[split.split_hour]), "stations": int(n_stations)},
        "features": list(F.FEATURES), "targets": list(F.TARGETS), "lookback_hours": F.LOOKBACK,
        "horizon_hours": F.HORIZON, "quantiles": [0.1, 0.5, 0.9],
        "architecture": {"hidden": hidden, "embedding": 8},
        "training": {"epochs": epochs, "batch_size": batch_size, "samples": int(len(t_train)),
                     "calibration_samples": int(len(t_val)),
                     "final_loss": round(loss, 5), "seconds": round(train_seconds, 1)},
        "normalisation": norm.as_dict(),
        "metrics": metrics,
    }
    return model, card


def validation_split(split: Split, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) issue hours from split.train: fit targets all lie before the validation issue hours."""
    if val_fraction <= 0:
        return split.train, split.train[:0]
    val_start = int(split.split_hour * (1 - val_fraction))
    fit = split.train[split.train + F.HORIZON < val_start]
    val = split.train[split.train >= val_start]
    if len(fit) == 0 or len(val) == 0:
        return split.train, split.train[:0]
    return fit, val


def _observed(history: F.History, norm: F.Normalisation, issues: np.ndarray, n_stations: int):
    t, s = _samples(issues, n_stations)
    y = F.targets(history.values, norm, t, s)
    keep = np.isfinite(y).any(axis=(1, 2))
    return t[keep], s[keep], y[keep]


def calibrate(model, inputs: np.ndarray, buckets: np.ndarray, t: np.ndarray, s: np.ndarray, y: np.ndarray,
              epochs: int = 4, batch_size: int = 1024, seed: int = 42) -> None:
    """Fit only the anchor blend, the per-horizon gate and the spreads on the validation slice.

    The network itself stays fixed (and deterministic: no dropout), so this measures how far its corrections
    carry over to hours it never saw, horizon by horizon, and shrinks them toward the anchor where they do not.
    """
    import keras
    import tensorflow as tf

    from core.forecast.model import CALIBRATED_LAYERS, pinball_loss

    variables = [v for name in CALIBRATED_LAYERS for v in model.get_layer(name).trainable_variables]
    optimizer = keras.optimizers.Adam(learning_rate=2e-2)
    spec = [tf.TensorSpec((None, F.LOOKBACK, F.N_FEATURES), tf.float32), tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None, len(F.TARGETS), F.HORIZON), tf.float32)]

    @tf.function(input_signature=spec)
    def step(x, st, yt):
        with tf.GradientTape() as tape:
            loss = pinball_loss(yt, model([x, st], training=False))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(t))
        for b in range(0, len(t), batch_size):
            idx = order[b:b + batch_size]
            step(F.windows(inputs, t[idx], s[idx]), buckets[s[idx]], y[idx])


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def evaluate(model, history: F.History, inputs: np.ndarray, norm: F.Normalisation, split: Split,
             batch_size: int = 2048) -> dict:
    """MAE (raw units) at REPORT_HORIZONS on held-out hours: model p50, persistence, same hour yesterday.

    Same hour yesterday is the last observed value at the target's hour of day (24·⌈h/24⌉ hours before it),
    so it never uses anything after the issue hour either.
    """
    n_stations = history.values.shape[1]
    t, s = _samples(split.held_out, n_stations)
    buckets = F.station_buckets(history.station_ids)
    preds = []
    for b in range(0, len(t), batch_size):
        x = F.windows(inputs, t[b:b + batch_size], s[b:b + batch_size])
        preds.append(np.asarray(model([x, buckets[s[b:b + batch_size]]], training=False))[..., 1])
    p50 = F.to_concentration(np.concatenate(preds), norm)  # (N, P, H)
    out: dict = {"held_out_samples": int(len(t)), "horizons": list(REPORT_HORIZONS), "mae": {}}
    raw = history.values[..., list(F.TARGET_INDEX)]  # (T, S, P)
    for pi, parameter in enumerate(F.TARGETS):
        rows = {"model": [], "persistence": [], "same_hour_yesterday": []}
        last = _last_observed(raw[..., pi])
        for h in REPORT_HORIZONS:
            truth = raw[t + h, s, pi]
            back = 24 * int(np.ceil(h / 24))
            candidates = {"model": p50[:, pi, h - 1], "persistence": last[t, s],
                          "same_hour_yesterday": raw[t + h - back, s, pi]}
            ok = np.isfinite(truth) & np.all([np.isfinite(v) for v in candidates.values()], axis=0)
            for name, guess in candidates.items():
                rows[name].append(round(float(np.mean(np.abs(guess[ok] - truth[ok]))), 3) if ok.any() else None)
        out["mae"][parameter] = rows
    out["beats_baselines"] = all(
        m is not None and m < min(b for b in (p, y) if b is not None)
        for rows in out["mae"].values()
        for m, p, y in zip(rows["model"], rows["persistence"], rows["same_hour_yesterday"]))
    return out


def _last_observed(series: np.ndarray) -> np.ndarray:
    """(T, S): the latest observed value at or before each hour (persistence)."""
    return pd.DataFrame(series).ffill().to_numpy()


def train_and_save(engine: Engine, directory: Path, days: int, epochs: int,
                   progress: Callable[[int, int, float], None] | None = None) -> dict:
    """`python app.py train`: load history, train, save weights and card; returns the card."""
    from core.forecast.model import save

    history = load_history(engine, days)
    model, card = train(history, epochs=epochs, progress=progress)
    save(model, card, directory)
    return card

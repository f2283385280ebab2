"""The Keras 3 quantile forecaster, its pinball loss, and versioned files: weights + a JSON card.

Imports TensorFlow: only the predictor and training import this module, lazily (never the gunicorn master).
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from core.forecast.features import (  # noqa: E402
    CLIMATOLOGY_INDEX, HORIZON, LOOKBACK, N_FEATURES, N_FUTURE, STATION_BUCKETS, TARGET_INDEX, TARGETS)
from core.forecast.versions import IncompatibleModel, card_path, check_card, weights_path  # noqa: E402

QUANTILES = (0.1, 0.5, 0.9)
DEFAULT_ARCH = {"hidden": 128, "embedding": 8}


class Anchors(keras.layers.Layer):
    """Per target and horizon (B, P, HORIZON): a learnt, horizon-dependent blend of the last value, the mean of
    the last 24 h, the same-hour-of-day profile of the last two days and the 28-day same-hour climatology.

    The median is learnt as a change from this anchor: at 1 h the blend can stay on the last value, at 24–72 h
    it can move to the climatology instead of persisting one noisy hour.
    """

    N_ANCHORS = 4

    def build(self, input_shape):
        # Initially: mostly the last value at short horizons, mostly the climatology at long ones.
        h = np.arange(1, HORIZON + 1, dtype=np.float32)
        init = np.zeros((len(TARGETS), HORIZON, self.N_ANCHORS), np.float32)
        init[..., 0] = 4.0 * np.exp(-h / 6.0)
        init[..., 3] = 1.0
        self.logits = self.add_weight(shape=init.shape, initializer=keras.initializers.Constant(init),
                                      name="anchor_logits")
        hour = (np.arange(HORIZON) % 24).astype(np.int32)
        self._days = [LOOKBACK - 24 * (k + 1) + hour for k in range(LOOKBACK // 24)]
        # The target hour's hour of day within the last 24 input hours (the climatology is up to date there).
        self._same_hour = LOOKBACK - 24 + hour

    def call(self, x):
        series = tf.transpose(tf.gather(x, list(TARGET_INDEX), axis=2), (0, 2, 1))  # (B, P, L)
        clim = tf.transpose(tf.gather(x, list(CLIMATOLOGY_INDEX), axis=2), (0, 2, 1))  # (B, P, L)
        last = series[:, :, -1:]
        mean24 = tf.reduce_mean(series[:, :, -24:], axis=2, keepdims=True)
        profile = tf.add_n([tf.gather(series, idx, axis=2) for idx in self._days]) / len(self._days)  # (B, P, H)
        climatology = tf.gather(clim, self._same_hour, axis=2)
        stacked = tf.stack([tf.broadcast_to(last, tf.shape(profile)), tf.broadcast_to(mean24, tf.shape(profile)),
                            profile, climatology], axis=-1)
        weights = tf.nn.softmax(tf.cast(self.logits, stacked.dtype), axis=-1)
        return tf.reduce_sum(stacked * weights[None], axis=-1)


CALIBRATED_LAYERS = ("anchors", "quantile_head")  # refit on a validation slice after training


class QuantileHead(keras.layers.Layer):
    """p10 ≤ p50 ≤ p90 by construction: p50 = anchor + gate·delta, the outer quantiles = p50 ∓ scale·softplus(·).

    delta is the past-only network's output plus, when a weather forecast is shown (the flag channel), the
    weather branch's correction times weather_gate. gate, weather_gate and the two scales are per target and
    horizon; training.calibrate fits them (with the anchor blend) on hours the network did not train on, so
    where a correction does not generalise (the network's at long horizons, the weather's at short ones) its
    gate shrinks it: with a weather forecast the model falls back to its past-only forecast, never below it.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        shape = (len(TARGETS), HORIZON)
        self.gate = self.add_weight(shape=shape, initializer="ones", name="gate")
        self.weather_gate = self.add_weight(shape=shape, initializer="ones", name="weather_gate")
        unit = float(np.log(np.expm1(1.0)))  # softplus(unit) == 1
        self.spread = self.add_weight(shape=(*shape, 2), initializer=keras.initializers.Constant(unit),
                                      name="spread")

    def call(self, raw, weather, future, anchor):
        shown = tf.cast(future[:, 0, -1] > 0, raw.dtype)[:, None, None, None]
        raw = raw + shown * self.weather_gate[None, :, :, None] * weather
        median = anchor + self.gate[None] * raw[..., 1]
        spread = tf.nn.softplus(self.spread)[None]
        low = median - spread[..., 0] * tf.nn.softplus(raw[..., 0])
        high = median + spread[..., 1] * tf.nn.softplus(raw[..., 2])
        return tf.stack([low, median, high], axis=-1)


def build_model(hidden: int = 128, embedding: int = 8, dtype_policy: str = "float32") -> keras.Model:
    """Inputs (B, LOOKBACK, F) standardised history, (B, HORIZON, N_FUTURE) weather forecast (zeros and flag 0
    when there is none) and (B,) station buckets → (B, P, HORIZON, 3).

    The past-only network reads the history and the station; a weather branch reads the forecast hours (and
    the network's features) and adds a correction only to samples shown a weather forecast.
    """
    policy = keras.mixed_precision.DTypePolicy(dtype_policy)
    history = keras.Input((LOOKBACK, N_FEATURES), name="history")
    future = keras.Input((HORIZON, N_FUTURE), name="future_weather")
    station = keras.Input((), dtype="int32", name="station")
    emb = keras.layers.Embedding(STATION_BUCKETS, embedding, name="station_embedding", dtype=policy)(station)
    h = keras.layers.Concatenate()([keras.layers.Flatten()(history), emb])
    h = keras.layers.Dense(hidden, activation="relu", name="dense_1", dtype=policy)(h)
    h = keras.layers.Dropout(0.3)(h)
    h = keras.layers.Dense(hidden, activation="relu", name="dense_2", dtype=policy)(h)
    w = keras.layers.Concatenate()([keras.layers.Flatten()(future), h])
    w = keras.layers.Dense(hidden, activation="relu", name="weather_dense", dtype=policy)(w)
    w = keras.layers.Dropout(0.3)(w)
    # Zero-initialised: training starts from the anchors (and a fixed interval) and learns corrections.
    outputs = []
    for name, features in (("quantiles", h), ("weather_quantiles", w)):
        raw = keras.layers.Dense(len(TARGETS) * HORIZON * 3, name=name, dtype="float32",
                                 kernel_initializer="zeros")(features)
        outputs.append(keras.layers.Reshape((len(TARGETS), HORIZON, 3))(raw))
    anchor = Anchors(dtype="float32", name="anchors")(history)
    out = QuantileHead(dtype="float32", name="quantile_head")(*outputs, future, anchor)
    return keras.Model([history, future, station], out, name="aqi_forecaster")


def pinball_loss(y_true, y_pred, quantiles=QUANTILES, horizon_weights=None):
    """Mean pinball (quantile) loss over observed targets; y_true (B, P, H) with NaN where unobserved.

    horizon_weights (P, H), mean 1, rescale each target and horizon (training.horizon_weights).
    """
    y_true = tf.convert_to_tensor(y_true, tf.float32)
    y_pred = tf.cast(tf.convert_to_tensor(y_pred), tf.float32)
    mask = tf.math.is_finite(y_true)
    y = tf.where(mask, y_true, 0.0)[..., None]
    q = tf.constant(quantiles, tf.float32)
    error = y - y_pred
    loss = tf.maximum(q * error, (q - 1.0) * error)
    if horizon_weights is not None:
        loss = loss * tf.cast(horizon_weights, tf.float32)[None, :, :, None]
    weights = tf.cast(mask, tf.float32)[..., None]
    return tf.reduce_sum(loss * weights) / tf.maximum(tf.reduce_sum(weights) * len(quantiles), 1.0)


# -- files (named in core.forecast.versions) -------------------------------------------------------------
def save(model: keras.Model, card: dict, directory: Path) -> Path:
    """Write weights and card (normalisation stats inside) for card["version"]; returns the card's path."""
    directory.mkdir(parents=True, exist_ok=True)
    version = card["version"]
    model.save_weights(weights_path(directory, version))
    path = card_path(directory, version)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2))
    tmp.replace(path)  # the card appears last and whole: a reader never sees a half-written version
    return path


def load(directory: Path, version: str, dtype_policy: str = "float32") -> tuple[keras.Model, dict]:
    """Rebuild the architecture named in the card and load its weights; IncompatibleModel when the card or the
    weights' shapes do not fit this code."""
    card = json.loads(card_path(directory, version).read_text())
    check_card(card)
    model = build_model(**card.get("architecture", DEFAULT_ARCH), dtype_policy=dtype_policy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(weights_path(directory, version))
        except ValueError as exc:  # Keras names the layer whose saved shape differs from the built one
            if "shape" not in str(exc).lower():
                raise
            raise IncompatibleModel(f"forecast model {version}'s weights do not fit the architecture in its card "
                                    f"({str(exc)[:200]}): retrain it") from exc
    # Keras only warns when the file lacks a layer (it keeps that layer's fresh weights): never serve that.
    missing = [str(w.message) for w in caught if "no matching group" in str(w.message)]
    if missing:
        raise IncompatibleModel(f"forecast model {version}'s weights lack layers of the architecture in its card "
                                f"({missing[0][:160]}): retrain it")
    return model, card

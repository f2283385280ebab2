"""Fast in-process inference: the promoted model loaded once per process (lazily, thread-safe), run through a
tf.function with a fixed input signature (XLA when configured), batched, with an LRU cache of outputs.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from core.forecast import features as F
from core.forecast import versions
from core.metrics import timed
from core.settings import ROOT, Settings

log = logging.getLogger(__name__)
FIX = "run `python app.py train` to train one"


class ModelUnavailable(Exception):
    """No usable forecast model: the message says what is wrong and how to fix it."""


def model_dir(settings: Settings) -> Path:
    raw = Path(settings.forecast_model_dir)
    return raw if raw.is_absolute() else ROOT / raw


def _bucket(n: int) -> int:
    """Batch sizes are padded to powers of two: XLA compiles once per shape, not once per station count."""
    return 1 << max(0, (n - 1).bit_length())


class Predictor:
    """One loaded model version; predict() maps standardised inputs to calibrated concentration quantiles."""

    def __init__(self, directory: Path, version: str, jit: bool = True, precision: str = "float32",
                 lru_size: int = 4096) -> None:
        import tensorflow as tf

        from core.forecast.model import load

        self.version, self.jit, self.precision = version, jit, precision
        self.model, self.card = load(directory, version, dtype_policy=precision)
        self.norm = F.Normalisation.from_dict(self.card["normalisation"])
        self.calibration = {mode: F.Calibration.from_dict(c) for mode, c in self.card["calibration"].items()}
        spec = [tf.TensorSpec((None, F.LOOKBACK, F.N_FEATURES), tf.float32),
                tf.TensorSpec((None, F.HORIZON, F.N_FUTURE), tf.float32), tf.TensorSpec((None,), tf.int32)]
        # The concrete function: calling a tf.function re-binds and re-checks its arguments on every call,
        # which cost more than the model itself for one station.
        self._forecast = tf.function(self._graph(), input_signature=spec, jit_compile=jit).get_concrete_function()
        self._lru: OrderedDict = OrderedDict()
        self._lru_size = lru_size
        self._lru_lock = threading.Lock()

    def _graph(self):
        """Model, calibration of the band by mode (weather forecast shown or not) and the way back to
        concentrations, as one function: what F.Calibration.apply and F.to_concentration do, in the graph."""
        import tensorflow as tf

        model = self.model
        modes = ("past_only", "with_weather")  # index 0 / 1 = the weather flag
        low = tf.constant(np.stack([self.calibration[m].low for m in modes]))  # (2, P, H)
        high = tf.constant(np.stack([self.calibration[m].high for m in modes]))
        mean, std = (tf.constant(v.reshape(1, len(F.TARGETS), 1, 1)) for v in self.norm.target_scale())

        def forecast(x, w, s):
            raw = tf.cast(model([x, w, s], training=False), tf.float32)
            shown = tf.cast(w[:, 0, -1] > 0, tf.int32)
            median = raw[..., 1]
            q = tf.stack([median - tf.gather(low, shown) * (median - raw[..., 0]), median,
                          median + tf.gather(high, shown) * (raw[..., 2] - median)], axis=-1)
            return tf.math.expm1(tf.maximum(q * std + mean, 0.0))
        return forecast

    def warm(self, stations: int = 1) -> None:
        """Compile every padded batch shape up to `stations` now, so no request or batch pays for it."""
        for n in batch_sizes(stations):
            self._run(*_zeros(n))

    def _run(self, x: np.ndarray, future: np.ndarray, stations: np.ndarray) -> np.ndarray:
        n = len(x)
        size = _bucket(n)
        if size != n:
            x = np.concatenate([x, np.zeros((size - n, *x.shape[1:]), np.float32)])
            future = np.concatenate([future, np.zeros((size - n, *future.shape[1:]), np.float32)])
            stations = np.concatenate([stations, np.zeros(size - n, np.int32)])
        import tensorflow as tf  # loaded by __init__: a lookup in sys.modules

        out = self._forecast(tf.constant(x, tf.float32), tf.constant(future, tf.float32),
                             tf.constant(stations, tf.int32)).numpy()
        return out if size == n else out[:n]

    def predict(self, x: np.ndarray, future: np.ndarray, stations: np.ndarray) -> np.ndarray:
        """Calibrated quantiles in storage units (N, P, H, 3): PM2.5 µg/m³, O3 ppb; p10 ≤ p50 ≤ p90, for windows
        x (N, LOOKBACK, F), weather forecasts (N, HORIZON, N_FUTURE) and station buckets (N,).

        Timed apart: one station (a page or API request) as inference, several (the hourly batch) as
        inference_batch, each against its own threshold.
        """
        kind, name = ("inference", "forecast.station") if len(x) == 1 else ("inference_batch", "forecast.batch")
        with timed(kind, name):
            return self._run(x, future, stations)

    # -- per-station LRU of outputs ------------------------------------------------------------------------
    def cache_key(self, station_id: int, last_hour) -> tuple:
        """Outputs depend on the station, the last observed hour and the model: all three are in the key."""
        return (int(station_id), last_hour.isoformat() if hasattr(last_hour, "isoformat") else last_hour,
                self.version)

    def cached(self, key: tuple) -> np.ndarray | None:
        with self._lru_lock:
            value = self._lru.get(key)
            if value is not None:
                self._lru.move_to_end(key)
            return value

    def remember(self, key: tuple, value: np.ndarray) -> None:
        with self._lru_lock:
            self._lru[key] = value
            self._lru.move_to_end(key)
            while len(self._lru) > self._lru_size:
                self._lru.popitem(last=False)

    def predict_stations(self, station_ids: list[int], last_hour, x: np.ndarray, future: np.ndarray) -> np.ndarray:
        """predict() through the LRU: only stations not cached for (last hour, version) run the model."""
        keys = [self.cache_key(s, last_hour) for s in station_ids]
        out: list[np.ndarray | None] = [self.cached(k) for k in keys]
        todo = [i for i, v in enumerate(out) if v is None]
        if todo:
            if len(todo) == len(keys):  # nothing cached (a request's one station): no copies of the inputs
                fresh = self.predict(x, future, F.station_buckets(np.asarray(station_ids)))
            else:
                fresh = self.predict(x[todo], future[todo], F.station_buckets(np.asarray(station_ids)[todo]))
            for j, i in enumerate(todo):
                out[i] = fresh[j]
                self.remember(keys[i], fresh[j])
        return np.stack(out)


def batch_sizes(stations: int) -> list[int]:
    """The padded batch sizes a predictor serves for up to `stations` stations: 1, 2, 4, … ≥ stations."""
    return [1 << k for k in range(_bucket(max(1, stations)).bit_length())]


def _zeros(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.zeros((n, F.LOOKBACK, F.N_FEATURES), np.float32), np.zeros((n, F.HORIZON, F.N_FUTURE), np.float32),
            np.zeros((n,), np.int32))


# -- the loaded model of an app context ---------------------------------------------------------------------
_threads_set = False


def configure_threads(settings: Settings) -> None:
    """TensorFlow's thread pools can be sized only before its runtime starts: done once, before any load."""
    global _threads_set
    if _threads_set:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(settings.forecast_threads_inter)
        tf.config.threading.set_intra_op_parallelism_threads(settings.forecast_threads_intra)
    except RuntimeError:  # the runtime already started (e.g. training ran first in this process)
        log.info("TensorFlow threads were already configured")
    _threads_set = True


def _stamp(directory: Path) -> tuple:
    """Identifies what should serve, cheaply enough for every use: one stat of the promoted pointer (replaced
    atomically, so a promotion is a new inode). A directory without a pointer (written before promotions)
    serves its newest version, and a new or replaced file of it is picked up."""
    try:
        st = os.stat(versions.pointer_path(directory))
        return ("promoted", st.st_ino, st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        pass
    found = versions.all_versions(directory)
    if not found:
        return ("missing",)
    files = [versions.card_path(directory, found[-1]), versions.weights_path(directory, found[-1])]
    return ("newest", found[-1], *[(p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None for p in files])


def _load(settings: Settings, directory: Path, version: str | None,
          stations: int) -> tuple[Predictor | None, dict | None]:
    if version is None:
        return None, {"status": "missing", "message": f"No forecast model in {directory}: {FIX}.", "version": None}
    if not versions.weights_path(directory, version).exists():
        return None, {"status": "missing", "version": version,
                      "message": f"The weights of forecast model {version} are missing "
                                 f"({versions.weights_path(directory, version).name}): {FIX}."}
    try:
        configure_threads(settings)
        predictor = Predictor(directory, version, jit=settings.forecast_jit, precision=settings.forecast_precision,
                              lru_size=settings.forecast_lru_size)
        predictor.warm(stations)
        log.info("forecast model %s loaded", version)
        return predictor, None
    except versions.IncompatibleModel as exc:
        log.warning("forecast model %s refused: %s", version, exc)
        return None, {"status": "incompatible", "version": version,
                      "message": f"Forecast model {version} in {directory} was refused: {exc} ({FIX})."}
    except Exception as exc:  # any failure to read a model file means the file is unusable
        log.warning("forecast model %s is corrupt: %s", version, exc)
        return None, {"status": "corrupt", "version": version,
                      "message": f"Forecast model {version} in {directory} cannot be loaded "
                                 f"({type(exc).__name__}: {str(exc)[:160]}): delete it and {FIX}."}


class ModelSlot:
    """The promoted model of the configured directory, loaded on first use and swapped when the promotion
    changes (checked on every use with one stat; no restart, no query).

    A promoted version that cannot be loaded (corrupt, or from an incompatible version of this code) is
    refused, and the model already in service stays there.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = model_dir(settings)
        self._lock = threading.Lock()
        self._predictor: Predictor | None = None
        self._error: dict | None = None
        self._stamp: tuple | None = None
        self._stations = 1  # the largest batch asked for so far: a reloaded model is compiled up to it

    def get(self, stations: int = 1) -> Predictor:
        """The loaded promoted model, compiled for batches of up to `stations`; ModelUnavailable (saying what
        to do) when there is none."""
        stamp = _stamp(self.directory)
        with self._lock:
            if self._stamp != stamp:
                self._stations = max(self._stations, stations)
                self._swap(stamp)
            elif stations > self._stations and self._predictor is not None:
                self._predictor.warm(stations)
                self._stations = stations
            if self._predictor is None:
                raise ModelUnavailable(self._error["message"])
            return self._predictor

    def _swap(self, stamp: tuple) -> None:
        version = versions.serving_version(self.directory)
        # Re-promoting the version in service changes nothing; a rewritten newest file (no pointer) reloads.
        if stamp[0] != "promoted" or self._predictor is None or self._predictor.version != version:
            predictor, self._error = _load(self.settings, self.directory, version, self._stations)
            self._predictor = predictor or self._predictor
        elif self._error is not None and self._error["version"] != version:
            self._error = None  # promoted back to the version in service: the refusal is over
        self._stamp = stamp

    def status(self) -> dict:
        """{"status": "ok"|"missing"|"corrupt"|"incompatible", "message", "version", "refused"} of the model
        in service (loads it if needed); "refused" is the refusal of a promoted version that did not load."""
        try:
            predictor = self.get()
        except ModelUnavailable:
            return {**self._error, "refused": None}
        message = f"Forecast model {predictor.version} loaded"
        if self._error:
            message += (f"; version {self._error['version']} was promoted but refused, so {predictor.version} "
                        f"stays in service: {self._error['message']}")
        return {"status": "ok", "message": message, "version": predictor.version, "refused": self._error}

    def reset(self) -> None:
        """Forget the loaded model (after training in the same process)."""
        with self._lock:
            self._predictor, self._error, self._stamp = None, None, None

"""The forecaster's inputs and targets: one module for training and inference, so both see the same features.

History is a dense hourly block (hour, station, …); features are standardised with statistics computed on
the training span only and saved with the model.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from core.parameters import POLLUTANTS

LOOKBACK = 48  # hours of history per sample, ending at the issue hour (the last observed hour)
HORIZON = 72  # hours forecast after the issue hour
CLIMATOLOGY_DAYS = 28  # the same-hour-of-day climatology looks this many days back
TARGETS = ("pm25", "o3")
# Per target, the median of the same hour of day over the last CLIMATOLOGY_DAYS days (up to that hour):
# the anchor that long horizons need, far beyond the lookback window.
CLIMATOLOGY = tuple(f"{t}_clim" for t in TARGETS)
WEATHER = ("temperature_c", "humidity_pct", "wind_speed_ms", "pressure_hpa", "precipitation_mm")
STATION_BUCKETS = 4096  # station ids hash into this many embedding rows (the per-station signal)
# Per hour: the six pollutants, the targets' climatology, weather (wind as u/v), local hour-of-day and
# day-of-week on the circle.
FEATURES: tuple[str, ...] = (*POLLUTANTS, *CLIMATOLOGY, *WEATHER, "wind_u", "wind_v",
                             "hour_sin", "hour_cos", "dow_sin", "dow_cos")
N_FEATURES = len(FEATURES)
TARGET_INDEX = tuple(FEATURES.index(t) for t in TARGETS)
CLIMATOLOGY_INDEX = tuple(FEATURES.index(c) for c in CLIMATOLOGY)
# The weather channels the model also takes for the forecast hours (a weather forecast), plus a flag per hour.
FUTURE_WEATHER: tuple[str, ...] = (*WEATHER, "wind_u", "wind_v")
FUTURE_INDEX = tuple(FEATURES.index(w) for w in FUTURE_WEATHER)
N_FUTURE = len(FUTURE_WEATHER) + 1  # the last channel says whether that hour's forecast is there
_CYCLIC = 4  # the time encodings are already in [-1, 1]: not standardised
_LOG_SCALED = len(POLLUTANTS) + len(CLIMATOLOGY)  # concentrations: log1p before standardising
# Features grouped for explanations (attributions are summed over the hours and over each group).
GROUPS: dict[str, tuple[str, ...]] = {
    "PM2.5 history": ("pm25", "pm25_clim"), "PM10 history": ("pm10",), "O₃ history": ("o3", "o3_clim"),
    "NO₂ history": ("no2",),
    "SO₂ history": ("so2",), "CO history": ("co",), "Temperature": ("temperature_c",),
    "Humidity": ("humidity_pct",), "Wind": ("wind_speed_ms", "wind_u", "wind_v"), "Pressure": ("pressure_hpa",),
    "Precipitation": ("precipitation_mm",), "Time of day / week": ("hour_sin", "hour_cos", "dow_sin", "dow_cos"),
}


@dataclass
class History:
    """Hourly values on a dense grid: hours (T,), stations (S,), raw features (T, S, F) with NaN where missing."""

    hours: pd.DatetimeIndex  # UTC, consecutive
    station_ids: np.ndarray  # (S,) int
    values: np.ndarray  # (T, S, F) float32, raw units, time encodings filled in

    @property
    def end(self) -> datetime:
        return self.hours[-1].to_pydatetime()


def build_history(measurements: pd.DataFrame, weather: pd.DataFrame, stations: list[dict],
                  start: datetime, end: datetime) -> History:
    """Dense (hour, station, feature) block for hours in [start, end].

    measurements: station_id, parameter, ts (UTC), value (valid readings only); weather: city_id, ts and the
    WEATHER columns plus wind_dir_deg; stations: dicts with id, city_id and timezone.
    """
    hours = pd.date_range(pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC"), freq="h")
    ids = np.array([s["id"] for s in stations], dtype=np.int64)
    row_of = pd.Series(np.arange(len(ids)), index=ids)
    t_n, s_n = len(hours), len(ids)
    values = np.full((t_n, s_n, N_FEATURES), np.nan, dtype=np.float32)
    if not measurements.empty:
        m = measurements[measurements["station_id"].isin(row_of.index)]
        t_idx = hours.get_indexer(pd.DatetimeIndex(m["ts"]))
        keep = t_idx >= 0
        s_idx = row_of.reindex(m["station_id"]).to_numpy()
        f_idx = m["parameter"].map({p: i for i, p in enumerate(POLLUTANTS)}).to_numpy()
        ok = keep & ~pd.isna(f_idx)
        values[t_idx[ok], s_idx[ok], f_idx[ok].astype(int)] = m["value"].to_numpy()[ok]
    _fill_climatology(values)
    if not weather.empty:
        _fill_weather(values, hours, weather, stations)
    _fill_time(values, hours, stations)
    return History(hours, ids, values)


def same_hour_rolling(series: np.ndarray, days: int, statistic: str, min_days: int = 1) -> np.ndarray:
    """(T, S) → (T, S): the `statistic` ("mean"/"median") of the values at t, t−24, …, t−24·(days−1).

    NaN is skipped; fewer than min_days observed values give NaN. Only hours up to t are read.
    """
    out = np.full(series.shape, np.nan, dtype=np.float64)
    for r in range(min(24, len(series))):
        rolling = pd.DataFrame(series[r::24]).rolling(days, min_periods=min_days)
        out[r::24] = getattr(rolling, statistic)().to_numpy()
    return out


def _fill_climatology(values: np.ndarray) -> None:
    # At least a quarter of the days observed: one lonely value is not a climatology.
    for target, clim in zip(TARGET_INDEX, CLIMATOLOGY_INDEX):
        values[..., clim] = same_hour_rolling(values[..., target], CLIMATOLOGY_DAYS, "median",
                                              min_days=CLIMATOLOGY_DAYS // 4)


def _fill_weather(values: np.ndarray, hours: pd.DatetimeIndex, weather: pd.DataFrame, stations: list[dict]) -> None:
    w = weather.copy()
    rad = np.radians(w["wind_dir_deg"].astype(float))
    # Meteorological direction is where the wind comes from; u/v avoid the 359° → 0° jump.
    # Calm or variable wind (a speed without a direction) has no net vector: u = v = 0, not unknown.
    w["wind_u"] = (-w["wind_speed_ms"] * np.sin(rad)).where(rad.notna(), 0.0 * w["wind_speed_ms"])
    w["wind_v"] = (-w["wind_speed_ms"] * np.cos(rad)).where(rad.notna(), 0.0 * w["wind_speed_ms"])
    columns = [*WEATHER, "wind_u", "wind_v"]
    first = FEATURES.index(WEATHER[0])
    for city_id, frame in w.groupby("city_id"):
        block = frame.set_index(pd.DatetimeIndex(frame["ts"]))[columns].astype(float)
        block = block[~block.index.duplicated()].reindex(hours)
        cols = [i for i, s in enumerate(stations) if s["city_id"] == city_id]
        if cols:
            values[:, cols, first:first + len(columns)] = block.to_numpy(np.float32)[:, None, :]


def _fill_time(values: np.ndarray, hours: pd.DatetimeIndex, stations: list[dict]) -> None:
    first = FEATURES.index("hour_sin")
    for tz in {s["timezone"] for s in stations}:
        local = hours.tz_convert(tz)
        hour = (local.hour + local.minute / 60).to_numpy()
        dow = local.dayofweek.to_numpy() + hour / 24
        enc = np.stack([np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24),
                        np.sin(2 * np.pi * dow / 7), np.cos(2 * np.pi * dow / 7)], axis=1).astype(np.float32)
        cols = [i for i, s in enumerate(stations) if s["timezone"] == tz]
        values[:, cols, first:first + 4] = enc[:, None, :]


@dataclass
class Normalisation:
    """Per-feature mean and standard deviation from the training span (saved in the model card)."""

    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)

    def as_dict(self) -> dict:
        return {"features": list(FEATURES), "mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, data: dict) -> "Normalisation":
        if list(data["features"]) != list(FEATURES):
            raise ValueError("the model was trained on other input features than this code builds")
        return cls(np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32))

    def target_scale(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) of the targets, (len(TARGETS),)."""
        idx = list(TARGET_INDEX)
        return self.mean[idx], self.std[idx]


N_POLLUTANTS = len(POLLUTANTS)


def to_model_space(values: np.ndarray) -> np.ndarray:
    """Pollutants on a log1p scale: heavy-tailed episodes would otherwise dominate the standardisation.

    Quantiles survive any increasing transform, so quantiles learnt here map back exactly with from_model_space.
    """
    out = values.astype(np.float32, copy=True)
    out[..., :_LOG_SCALED] = np.log1p(np.maximum(out[..., :_LOG_SCALED], 0.0))
    return out


def from_model_space(values: np.ndarray) -> np.ndarray:
    """Inverse of to_model_space for target concentrations (never negative)."""
    return np.expm1(np.maximum(values, 0.0))


def fit_normalisation(values: np.ndarray) -> Normalisation:
    """Statistics over every station and hour of raw `values` (T, S, F), ignoring NaN."""
    flat = to_model_space(values).reshape(-1, values.shape[-1]).astype(np.float64)
    with warnings.catch_warnings():  # a pollutant a city does not measure is all NaN: mean 0, std 1
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nan_to_num(np.nanmean(flat, axis=0))
        std = np.nan_to_num(np.nanstd(flat, axis=0), nan=1.0)
    std[std < 1e-6] = 1.0
    mean[-_CYCLIC:], std[-_CYCLIC:] = 0.0, 1.0
    # A climatology is scaled like its target, so the anchors it feeds are in the target's standardised space.
    mean[list(CLIMATOLOGY_INDEX)], std[list(CLIMATOLOGY_INDEX)] = mean[list(TARGET_INDEX)], std[list(TARGET_INDEX)]
    return Normalisation(mean.astype(np.float32), std.astype(np.float32))


def normalised_inputs(values: np.ndarray, norm: Normalisation, max_fill_hours: int = 6) -> np.ndarray:
    """Standardise (T, S, F); carry a value forward over short gaps, then use the mean (0) for what is left."""
    frame = (to_model_space(values) - norm.mean) / norm.std
    t_n = frame.shape[0]
    flat = pd.DataFrame(frame.reshape(t_n, -1)).ffill(limit=max_fill_hours).to_numpy(np.float32)
    return np.nan_to_num(flat.reshape(frame.shape), nan=0.0)


def windows(inputs: np.ndarray, t_end: np.ndarray, s_idx: np.ndarray) -> np.ndarray:
    """Input windows (N, LOOKBACK, F) ending at hour indexes t_end (inclusive) for station indexes s_idx."""
    steps = t_end[:, None] + np.arange(-LOOKBACK + 1, 1)[None, :]
    return inputs[steps, s_idx[:, None]]


def future_weather(inputs: np.ndarray, t_end: np.ndarray, s_idx: np.ndarray, available: np.ndarray) -> np.ndarray:
    """The weather of the HORIZON hours after t_end (N, HORIZON, N_FUTURE) from standardised inputs (T, S, F).

    available (N,) bool: rows without a weather forecast are all zero (flag 0), so the model knows.
    """
    steps = np.minimum(t_end[:, None] + np.arange(1, HORIZON + 1)[None, :], len(inputs) - 1)
    out = np.zeros((len(t_end), HORIZON, N_FUTURE), np.float32)
    out[..., :-1] = inputs[steps, s_idx[:, None]][..., list(FUTURE_INDEX)]
    out[..., -1] = 1.0
    out[~np.asarray(available, bool)] = 0.0
    return out


def weather_observed(values: np.ndarray, t: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(N,) bool: most of the HORIZON hours after t have weather (observed weather stands in for a forecast)."""
    steps = np.minimum(t[:, None] + np.arange(1, HORIZON + 1)[None, :], len(values) - 1)
    temperature = values[steps, s[:, None], FEATURES.index("temperature_c")]
    return np.isfinite(temperature).mean(axis=1) >= 0.5


def to_concentration(standardised: np.ndarray, norm: Normalisation, axis: int = 1) -> np.ndarray:
    """Model outputs (…, P on `axis`, …) back to concentrations in storage units."""
    mean, std = norm.target_scale()
    shape = [1] * standardised.ndim
    shape[axis] = len(TARGETS)
    return from_model_space(standardised * std.reshape(shape) + mean.reshape(shape))


def targets(values: np.ndarray, norm: Normalisation, t_end: np.ndarray, s_idx: np.ndarray) -> np.ndarray:
    """Standardised targets (N, len(TARGETS), HORIZON) for the hours after t_end; NaN where unobserved."""
    steps = t_end[:, None] + np.arange(1, HORIZON + 1)[None, :]
    raw = to_model_space(values[steps, s_idx[:, None]][..., list(TARGET_INDEX)])  # (N, H, P)
    mean, std = norm.target_scale()
    return np.transpose((raw - mean) / std, (0, 2, 1)).astype(np.float32)


def issue_indexes(n_hours: int, first_target_limit: int | None = None) -> np.ndarray:
    """Hour indexes usable as issue hours: a full lookback behind, and all HORIZON targets before the limit.

    With first_target_limit = the split hour index, no target (hence nothing the model learns from) lies at or
    after the split: training never sees the future.
    """
    limit = n_hours if first_target_limit is None else min(n_hours, first_target_limit)
    return np.arange(LOOKBACK - 1, limit - HORIZON)


def station_buckets(station_ids: np.ndarray) -> np.ndarray:
    return (np.asarray(station_ids, np.int64) % STATION_BUCKETS).astype(np.int32)


def utc_hour(ts: datetime) -> datetime:
    ts = ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
    return ts.replace(minute=0, second=0, microsecond=0)


def input_span(end: datetime) -> tuple[datetime, datetime]:
    """The hours an inference at issue hour `end` reads: the lookback, the climatology's days behind its first
    hour, and room to carry values over gaps."""
    end = utc_hour(end)
    return end - timedelta(hours=LOOKBACK + 24 * CLIMATOLOGY_DAYS + 6 - 1), end


@dataclass
class Calibration:
    """Conformal widening (or narrowing) of the band per target and horizon, fitted on the validation slice.

    p10 and p90 move away from the median by factors low/high (P, HORIZON) in model space; one pair for
    forecasts with a weather forecast and one without (their errors differ).
    """

    low: np.ndarray
    high: np.ndarray

    @classmethod
    def identity(cls) -> "Calibration":
        return cls(np.ones((len(TARGETS), HORIZON), np.float32), np.ones((len(TARGETS), HORIZON), np.float32))

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray, min_samples: int = 30) -> "Calibration":
        """Factors that put 10 % of the validation outcomes y (N, P, H) below p10 and 10 % above p90 of raw."""
        median = raw[..., 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            low_ratio = (median - y) / np.maximum(median - raw[..., 0], 1e-6)
            high_ratio = (y - median) / np.maximum(raw[..., 2] - median, 1e-6)
        out = cls.identity()
        for factors, ratio in ((out.low, low_ratio), (out.high, high_ratio)):
            ratio = np.where(np.isfinite(ratio), ratio, np.nan)
            enough = np.isfinite(ratio).sum(axis=0) >= min_samples
            # A horizon with too few outcomes keeps 1; the clip stops one odd slice from collapsing the band.
            for p, h in zip(*np.nonzero(enough)):
                factors[p, h] = np.clip(np.nanquantile(ratio[:, p, h], 0.9), 0.25, 4.0)
        return out

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Recalibrated copy of standardised quantiles (N, P, H, 3)."""
        out = raw.copy()
        median = raw[..., 1]
        out[..., 0] = median - self.low[None] * (median - raw[..., 0])
        out[..., 2] = median + self.high[None] * (raw[..., 2] - median)
        return out

    def as_dict(self) -> dict:
        return {"low": np.round(self.low, 4).tolist(), "high": np.round(self.high, 4).tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        return cls(np.asarray(data["low"], np.float32), np.asarray(data["high"], np.float32))

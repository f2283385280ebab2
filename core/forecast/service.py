"""What pages, the API and jobs call: stored forecasts (computed on demand when stale), daily categories,
explanations, and the hourly batch.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from core.aqi import standards, us_epa
from core.aqi import AQIError
from core.aqi.calculator import calculate, concentration_range
from core.aqi.engine import categories
from core.db import queries
from core.context import Context
from core.db.models import Forecast, Weather
from core.forecast import features as F
from core.forecast.predictor import ModelUnavailable
from core.metrics import timed
from core.parameters import UNITS
from core.periodic import Periodic

log = logging.getLogger(__name__)
AQI_CODES = {"pm25": "pm25_24h", "o3": "o3_8h"}
LABELS = {"pm25": "PM2.5", "o3": "O3"}


def _check(parameter: str, hours: int = 72) -> None:
    if parameter not in F.TARGETS:
        raise ValueError(f"parameter must be one of {', '.join(F.TARGETS)}, not {parameter!r}")
    if not 1 <= hours <= F.HORIZON:
        raise ValueError(f"hours must be between 1 and {F.HORIZON}")


# -- inputs and inference ----------------------------------------------------------------------------------
MIN_READINGS = F.LOOKBACK // 8  # readings of a target in the lookback window below which there is no forecast


class InsufficientHistory(LookupError):
    """Too few recent readings to forecast a station's parameter: the message names the station and the gap."""


@dataclass
class Inputs:
    """What the model reads for a set of stations at one issue hour."""

    x: np.ndarray  # (N, LOOKBACK, F) standardised windows
    future: np.ndarray  # (N, HORIZON, N_FUTURE) the weather forecast, zeros and flag 0 where there is none
    readings: np.ndarray  # (N, P) observed hours of each target in the lookback window

    @property
    def with_weather(self) -> np.ndarray:
        return self.future[:, 0, -1] > 0


def _inputs(session: Session, stations: list[dict], end: datetime, norm: F.Normalisation) -> Inputs:
    """Inputs ending at `end` for `stations`, built like the training inputs, with the weather table's hours
    after `end` (a weather forecast) where it has them."""
    start, end = F.input_span(end)
    hours = int((end - start).total_seconds() // 3600) + 1
    ids = [s["id"] for s in stations]
    measurements = queries.recent_window(session, end, hours, ids)
    weather = queries.city_weather(session, end + timedelta(hours=F.HORIZON), hours + F.HORIZON)
    history = F.build_history(measurements, weather, stations, start, end + timedelta(hours=F.HORIZON))
    inputs = F.normalised_inputs(history.values, norm)
    last = np.full(len(stations), hours - 1)
    rows = np.arange(len(stations))
    window = history.values[hours - F.LOOKBACK:hours][..., list(F.TARGET_INDEX)]
    return Inputs(F.windows(inputs, last, rows),
                  F.future_weather(inputs, last, rows, F.weather_observed(history.values, last, rows)),
                  np.isfinite(window).sum(axis=0))


def _forecast_rows(stations: list[dict], issued_at: datetime, quantiles: np.ndarray, version: str,
                   readings: np.ndarray) -> list[dict]:
    rows = []
    for i, s in enumerate(stations):
        for pi, parameter in enumerate(F.TARGETS):
            if readings[i, pi] < MIN_READINGS:
                continue
            q = quantiles[i, pi]
            for h in range(F.HORIZON):
                rows.append({"station_id": s["id"], "parameter": parameter, "issued_at": issued_at, "horizon": h + 1,
                             "target_ts": issued_at + timedelta(hours=h + 1), "p10": float(q[h, 0]),
                             "p50": float(q[h, 1]), "p90": float(q[h, 2]), "model_version": version})
    return rows


def forecast_stations(ctx: Context, stations: list[dict], issued_at: datetime) -> Inputs:
    """Forecast `stations` from data up to issued_at and store (replace) that issue; returns the inputs used.

    A parameter with fewer than MIN_READINGS readings in the lookback window is not forecast (nor stored).
    """
    predictor = ctx.models.get(len(stations))
    with ctx.session() as session:
        inputs = _inputs(session, stations, issued_at, predictor.norm)
    quantiles = predictor.predict_stations([s["id"] for s in stations], issued_at, inputs.x, inputs.future)
    rows = _forecast_rows(stations, issued_at, quantiles, predictor.version, inputs.readings)
    ids = [s["id"] for s in stations]
    with ctx.engine.begin() as conn:
        conn.execute(delete(Forecast).where(Forecast.issued_at == issued_at, Forecast.station_id.in_(ids)))
        if rows:
            conn.execute(insert(Forecast), rows)
    return inputs


def _too_little(station: dict, parameter: str, readings: int, issued_at: datetime) -> InsufficientHistory:
    return InsufficientHistory(
        f"station {station['id']} ({station['name']}) has {readings} {LABELS[parameter]} reading(s) in the "
        f"{F.LOOKBACK} hours up to {issued_at:%Y-%m-%d %H:00} UTC: a forecast needs at least {MIN_READINGS}")


@timed("job", "forecast_batch")
def run_batch(ctx: Context) -> dict:
    """Forecast every active station from the newest hour of data, store it, prune old issues."""
    started = time.perf_counter()
    with ctx.session() as session:
        issued_at = queries.latest_hour(session)
        stations = [s for s in queries.stations(session, active=True)]
    if issued_at is None or not stations:
        return {"stations": 0, "seconds": 0.0, "issued_at": None, "model_version": None}
    inputs = forecast_stations(ctx, stations, issued_at)
    done = int((inputs.readings >= MIN_READINGS).any(axis=1).sum())
    keep = ctx.settings.forecast_keep_days
    with ctx.engine.begin() as conn:
        conn.execute(delete(Forecast).where(Forecast.issued_at < issued_at - timedelta(days=keep)))
    return {"stations": done, "skipped": len(stations) - done, "seconds": round(time.perf_counter() - started, 3),
            "issued_at": issued_at, "with_weather_forecast": int(inputs.with_weather.sum()),
            "model_version": ctx.models.get().version}


class ForecastBatch(Periodic):
    """Runs run_batch whenever a new hour of data has arrived (checked every forecast_batch_check_s)."""

    def __init__(self, ctx: Context, check_every_s: float | None = None) -> None:
        super().__init__("forecast-batch", check_every_s or ctx.settings.forecast_batch_check_s)
        self.ctx = ctx
        self.last_issue: datetime | None = None

    def tick(self) -> None:
        with self.ctx.session() as session:
            newest = queries.latest_hour(session)
        if newest is None or newest == self.last_issue:
            return
        try:
            result = run_batch(self.ctx)
        except ModelUnavailable as exc:
            log.warning("forecast batch skipped: %s", exc)
            return
        self.last_issue = result["issued_at"]
        log.info("forecast batch: %s stations in %.1f s", result["stations"], result["seconds"])


# -- reading forecasts -------------------------------------------------------------------------------------
def _latest_issue(session: Session, station_id: int, parameter: str) -> tuple[datetime | None, str | None]:
    """The newest stored issue of a station's parameter and the model version that made it."""
    row = session.execute(select(Forecast.issued_at, Forecast.model_version).where(
        Forecast.station_id == station_id, Forecast.parameter == parameter)
        .order_by(Forecast.issued_at.desc()).limit(1)).first()
    return (queries.utc(row[0]), row[1]) if row else (None, None)


def _aqi(parameter: str, value: float) -> tuple[int | None, str | None]:
    # calculate truncates to the table's step before it interpolates and rounds, as EPA does: rounding the
    # value first would lift 35.4996 µg/m³ into 35.5 (USG).
    result = calculate("us_epa", AQI_CODES[parameter], max(value, 0.0), UNITS[parameter])
    return result["aqi"], (result["category"] if result["aqi"] is not None else None)


def compute_forecast(ctx: Context, station_id: int, parameter: str, hours: int = 72) -> dict:
    """The stored forecast of the newest issue; forecast now (and store) when it is older than the data or
    was made by another model version than the one in service (after a promotion or a rollback)."""
    version = ctx.models.get().version
    with ctx.session() as session:
        station = queries.station(session, station_id)
        if station is None:
            raise LookupError(f"station {station_id} does not exist")
        newest = queries.latest_hour(session)
        issued, made_by = _latest_issue(session, station_id, parameter)
    if newest is not None and (issued is None or issued < newest or made_by != version):
        inputs = forecast_stations(ctx, [station], newest)
        readings = int(inputs.readings[0, F.TARGETS.index(parameter)])
        if readings < MIN_READINGS:
            raise _too_little(station, parameter, readings, newest)
        issued = newest
    if issued is None:
        raise InsufficientHistory(f"station {station_id} ({station['name']}) has no data to forecast from")
    with ctx.session() as session:
        rows = session.execute(select(Forecast.target_ts, Forecast.p10, Forecast.p50, Forecast.p90,
                                      Forecast.model_version)
                               .where(Forecast.station_id == station_id, Forecast.parameter == parameter,
                                      Forecast.issued_at == issued, Forecast.horizon <= hours)
                               .order_by(Forecast.horizon)).all()
        forecast_hours = session.execute(select(func.count()).select_from(Weather).where(
            Weather.city_id == station["city_id"], Weather.ts > issued,
            Weather.ts <= issued + timedelta(hours=F.HORIZON))).scalar_one()
    data = []
    for ts, p10, p50, p90, _version in rows:
        aqi, category = _aqi(parameter, p50)
        data.append({"time": queries.utc(ts), "p10": round(p10, 2), "p50": round(p50, 2), "p90": round(p90, 2),
                     "aqi": aqi, "category": category})
    return {"station_id": station_id, "parameter": parameter, "unit": UNITS[parameter],
            "model_version": rows[0][4] if rows else None, "issued_at": issued, "timezone": station["timezone"],
            # The model saw a weather forecast when the weather table covers most of the horizon.
            "weather_forecast": forecast_hours >= F.HORIZON // 2, "data": data}


def forecast_for_station(ctx: Context, station_id: int, parameter: str, hours: int = 72) -> dict:
    """Quantile forecast of the next `hours` hours (UTC times; PM2.5 µg/m³, O3 ppb) with the US AQI of p50.

    ValueError for a bad parameter or hours, LookupError for an unknown station, ModelUnavailable without a model.
    """
    _check(parameter, hours)
    version = ctx.models.get().version
    with ctx.session() as session:
        newest = queries.latest_hour(session)
    key = (station_id, parameter, hours, newest.isoformat() if newest else None, version)
    return ctx.cache.get_or_compute("forecast", key, lambda: compute_forecast(ctx, station_id, parameter, hours))


def daily_categories(ctx: Context, station_id: int) -> list[dict]:
    """AirNow-style daily forecast for the next three local days: the worse of the day's PM2.5 AQI (24-h mean
    of p50) and O3 AQI (highest 8-h mean of p50); [{date, category, color, aqi, pollutant}].
    """
    series = {p: forecast_for_station(ctx, station_id, p) for p in F.TARGETS}
    tz = ZoneInfo(series["pm25"]["timezone"])
    colors = {c["name"]: c["color"] for c in categories("us_epa")}
    frames = {p: pd.Series([d["p50"] for d in s["data"]],
                           index=pd.DatetimeIndex([d["time"] for d in s["data"]]).tz_convert(tz)) for p, s in series.items()}
    days = sorted({ts.date() for ts in frames["pm25"].index})[:3]
    out = []
    for day in days:
        best = {"aqi": None, "pollutant": None}
        for parameter, values in frames.items():
            on_day = values[values.index.date == day]
            if on_day.empty:
                continue
            value = (float(on_day.mean()) if parameter == "pm25"
                     else us_epa.daily_max_8h_ozone(values, day, series["pm25"]["timezone"]))
            if value is None or np.isnan(value):
                value = float(on_day.mean())
            aqi, _ = _aqi(parameter, value)
            if aqi is not None and (best["aqi"] is None or aqi > best["aqi"]):
                best = {"aqi": aqi, "pollutant": parameter}
        position = standards.category_of("us_epa", best["aqi"])
        category = standards.category("us_epa", position).name if position >= 0 else None
        out.append({"date": day.isoformat(), "aqi": best["aqi"], "pollutant": best["pollutant"],
                    "category": category, "color": colors.get(category, "#9E9E9E")})
    return out


def category_bands(parameter: str) -> list[dict]:
    """US EPA categories as concentration bands of the parameter's table: [{name, color, low, high}]."""
    _check(parameter)
    bands = []
    for c in categories("us_epa"):
        try:
            low = concentration_range("us_epa", AQI_CODES[parameter], c["low"], UNITS[parameter])["low"]
        except AQIError:  # 8-hour ozone stops at 300: the categories above need a 1-hour value
            break
        try:
            high = None if c["high"] is None else concentration_range(
                "us_epa", AQI_CODES[parameter], c["high"], UNITS[parameter])["high"]
        except AQIError:
            high = None
        bands.append({"name": c["name"], "color": c["color"], "low": low, "high": high})
    bands[-1]["high"] = None  # the last band the table defines is open-ended
    return bands


# -- explanations ------------------------------------------------------------------------------------------
def compute_explanation(ctx: Context, station_id: int, parameter: str, steps: int | None = None) -> dict:
    """Integrated gradients of the mean p50 over the next 24 h, from a baseline of average conditions
    (all standardised inputs 0), summed per feature group; values in the parameter's unit (first-order).
    """
    import tensorflow as tf

    predictor = ctx.models.get()
    steps = steps or ctx.settings.forecast_ig_steps
    with ctx.session() as session:
        station = queries.station(session, station_id)
        if station is None:
            raise LookupError(f"station {station_id} does not exist")
        issued = queries.latest_hour(session)
        if issued is None:
            raise LookupError(f"station {station_id} has no data to forecast from")
        inputs = _inputs(session, [station], issued, predictor.norm)
    pi = F.TARGETS.index(parameter)
    bucket = tf.constant(F.station_buckets([station_id]))
    x = tf.constant(inputs.x)
    future = tf.repeat(tf.constant(inputs.future), steps + 1, axis=0)  # held fixed: the path is over the history
    baseline = tf.zeros_like(x)
    alphas = tf.linspace(0.0, 1.0, steps + 1)[:, None, None]
    path = baseline + alphas * (x - baseline)  # (steps+1, LOOKBACK, F)
    with timed("inference", "forecast.explain"):
        with tf.GradientTape() as tape:
            tape.watch(path)
            out = predictor.model([path, future, tf.repeat(bucket, steps + 1)], training=False)
            target = tf.reduce_mean(tf.cast(out[:, pi, :24, 1], tf.float32), axis=1)
        grads = tape.gradient(target, path).numpy()
    avg = (grads[:-1] + grads[1:]).mean(axis=0) / 2  # trapezoidal rule
    attributions = (x - baseline).numpy()[0] * avg  # (LOOKBACK, F), standardised model-space units
    outputs = target.numpy()
    mean, std = predictor.norm.target_scale()
    # Model space is log1p: the slope of expm1 at the forecast converts the sum into the parameter's unit.
    scale = float(std[pi] * np.exp(outputs[-1] * std[pi] + mean[pi]))
    per_feature = attributions.sum(axis=0)
    groups = [{"feature": name, "contribution": round(float(sum(per_feature[F.FEATURES.index(f)] for f in members)
                                                             * scale), 3)}
              for name, members in F.GROUPS.items()]
    groups.sort(key=lambda g: abs(g["contribution"]), reverse=True)
    to_conc = lambda v: float(F.from_model_space(np.array(v * std[pi] + mean[pi])))  # noqa: E731
    return {"station_id": station_id, "parameter": parameter, "unit": UNITS[parameter],
            "model_version": predictor.version, "issued_at": issued, "horizon_hours": 24,
            "baseline_value": round(to_conc(outputs[0]), 2), "forecast_value": round(to_conc(outputs[-1]), 2),
            "method": f"integrated gradients, {steps} steps, baseline = average conditions",
            "attributions": groups}


def explain(ctx: Context, station_id: int, parameter: str) -> dict:
    """Which inputs pushed the next-24-h median forecast up or down; cached in the attribution namespace."""
    _check(parameter)
    version = ctx.models.get().version
    with ctx.session() as session:
        newest = queries.latest_hour(session)
    key = (station_id, parameter, newest.isoformat() if newest else None, version)
    return ctx.cache.get_or_compute("attribution", key, lambda: compute_explanation(ctx, station_id, parameter))


def model_card(ctx: Context) -> dict:
    """The loaded model's card; ModelUnavailable when there is none."""
    return ctx.models.get().card


__all__ = ["ForecastBatch", "ModelUnavailable", "category_bands", "daily_categories", "explain",
           "forecast_for_station", "model_card", "run_batch"]

"""Stored CAMS and weather-feed state per city, read for the forecast page (cached in the `weather` namespace)
and the evaluation."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from core.context import Context
from core.db import queries
from core.db.models import CamsForecast, FeedCursor
from core.feeds.open_meteo import SOURCE
from core.metrics import timed
from core.parameters import POLLUTANTS
from core.times import hour_floor

MAX_SPAN = timedelta(days=31)  # one read never spans more: a cache entry stays small


def _check_span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must carry a time zone (UTC)")
    start, end = hour_floor(start), hour_floor(end)
    if not start <= end <= start + MAX_SPAN:
        raise ValueError(f"the range must run forwards and span at most {MAX_SPAN.days} days")
    return start, end


def cams_for_station(ctx: Context, station_id: int, parameter: str, start: datetime, end: datetime) -> list[dict]:
    """CAMS as published for the station's city over [start, end] (UTC hours, at most 31 days): [{time, value}]
    in storage units, oldest first; [] where CAMS was not fetched. ValueError for a bad parameter or range,
    LookupError for an unknown station."""
    if parameter not in POLLUTANTS:
        raise ValueError(f"unknown parameter {parameter[:20]!r}; use one of: {', '.join(POLLUTANTS)}")
    start, end = _check_span(start, end)
    with ctx.session() as session:
        station = queries.station(session, int(station_id))
    if station is None:
        raise LookupError(f"station {int(station_id)} does not exist")
    key = ("cams", station["city_id"], parameter, start.isoformat(), end.isoformat())
    return ctx.cache.get_or_compute("weather", key, lambda: _cams(ctx, station["city_id"], parameter, start, end))


@timed("db", "cams_for_city")
def _cams(ctx: Context, city_id: int, parameter: str, start: datetime, end: datetime) -> list[dict]:
    with ctx.session() as session:
        rows = session.execute(select(CamsForecast.ts, CamsForecast.value).where(
            CamsForecast.city_id == city_id, CamsForecast.parameter == parameter,
            CamsForecast.ts >= start, CamsForecast.ts <= end).order_by(CamsForecast.ts)).all()
    return [{"time": queries.utc(ts), "value": value} for ts, value in rows]


def cams_series(engine: Engine, stations: list[dict], hours: pd.DatetimeIndex, parameters: tuple[str, ...]
                ) -> dict[str, np.ndarray]:
    """CAMS values (T, S) per parameter on the evaluation's hour × station grid (each station gets its city's),
    NaN where none; only the parameters with any value. For evaluation.score(cams=…)."""
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(select(
            CamsForecast.city_id, CamsForecast.parameter, CamsForecast.ts, CamsForecast.value).where(
            CamsForecast.parameter.in_(parameters), CamsForecast.ts >= hours[0].to_pydatetime(),
            CamsForecast.ts <= hours[-1].to_pydatetime())).all(), columns=["city_id", "parameter", "ts", "value"])
    out: dict[str, np.ndarray] = {}
    if frame.empty:
        return out
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    for parameter, rows in frame.groupby("parameter"):
        wide = rows.pivot_table(index="ts", columns="city_id", values="value").reindex(hours)
        grid = np.full((len(hours), len(stations)), np.nan)
        for i, station in enumerate(stations):
            if station["city_id"] in wide:
                grid[:, i] = wide[station["city_id"]].to_numpy(dtype=float)
        out[str(parameter)] = grid
    return out


def weather_source(engine: Engine) -> dict | None:
    """The Open-Meteo forecast source's last run (last_run_at, newest_hour in UTC, or None; last_error); None
    before any."""
    with engine.connect() as conn:
        row = conn.execute(select(FeedCursor.__table__).where(FeedCursor.source == SOURCE)).mappings().first()
    if row is None:
        return None
    times = {name: row[name] and queries.utc(row[name]) for name in ("last_run_at", "newest_hour")}
    return {**row, **times}

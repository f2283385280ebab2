"""Station snapshots: every active station's index at the newest hour (cached) or at a past hour, through the
AQI engine from the database's recent hours; and a station's recent series."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from core import catalog
from core.aqi.engine import category_info, compute_indexes
from core.aqi.sensors import epa_pm25_correction
from core.aqi.standards import STANDARD_CODES
from core.context import Context
from core.db import queries
from core.metrics import timed
from core.parameters import POLLUTANTS, QUALITY_INVALID, UNITS
from core.times import hour_floor

HISTORY_HOURS = 24  # India's 24-h means need the longest window of any standard


@timed("aqi", "station_snapshot")
def station_snapshot(session: Session, standard: str, as_of: datetime | None = None,
                     city: str | None = None) -> dict:
    """{"as_of": hour, "stations": [...]} with each active station's current index under `standard`."""
    as_of = as_of or queries.latest_hour(session)
    stations = [s for s in queries.stations(session, city=city, active=True) if s["lat"] is not None]
    if as_of is None or not stations:
        return {"as_of": as_of, "standard": standard, "stations": []}
    window = queries.recent_window(session, as_of, HISTORY_HOURS, [s["id"] for s in stations] if city else None)
    weather = queries.city_weather(session, as_of, HISTORY_HOURS)
    history = hourly_arrays(window, weather, stations, as_of)
    # The breakpoints in force on that date (US PM2.5 changed on 2024-05-06): history is judged by its own rules.
    result = compute_indexes(standard, history, on=as_of.date())
    ages = reading_ages(history)
    return {"as_of": as_of, "standard": standard, "stations": [
        {**_station_row(s, i, result, standard, history), "age_hours": ages[i]} for i, s in enumerate(stations)]}


def reading_ages(history: dict[str, np.ndarray]) -> list[int | None]:
    """Per station, hours between its newest reading of any pollutant and the snapshot's hour (None: none in
    the window); the map greys stations whose newest reading is older than settings.stale_after_h."""
    seen = np.any([~np.isnan(values) for values in history.values()], axis=0)  # (station, hours back)
    first = np.argmax(seen, axis=1)
    return [int(back) if row.any() else None for back, row in zip(first, seen)]


def hourly_arrays(window: pd.DataFrame, weather: pd.DataFrame, stations: list[dict],
                  as_of: datetime) -> dict[str, np.ndarray]:
    """Per pollutant an array (station, hours back) in storage units, NaN where missing.

    Low-cost PM2.5 is corrected with EPA's US-wide formula and the city's humidity of that hour.
    """
    row_of = {s["id"]: i for i, s in enumerate(stations)}
    frame = window[window["station_id"].isin(row_of.keys())]
    frame = _correct_low_cost_pm25(frame, weather, stations)
    rows = frame["station_id"].map(row_of).to_numpy()
    back = ((pd.Timestamp(as_of) - frame["ts"]) // pd.Timedelta(hours=1)).to_numpy()
    history = {}
    for parameter in POLLUTANTS:
        mask = (frame["parameter"] == parameter).to_numpy()
        array = np.full((len(stations), HISTORY_HOURS), np.nan)
        array[rows[mask], back[mask]] = frame["value"].to_numpy()[mask]
        history[parameter] = array
    return history


def _correct_low_cost_pm25(frame: pd.DataFrame, weather: pd.DataFrame, stations: list[dict]) -> pd.DataFrame:
    low_cost = {s["id"]: s["city_id"] for s in stations if s["kind"] == "low_cost"}
    mask = frame["station_id"].isin(low_cost.keys()) & (frame["parameter"] == "pm25")
    if not mask.any():
        return frame
    rh = weather.set_index(["city_id", "ts"])["humidity_pct"] if not weather.empty else pd.Series(dtype=float)
    keys = pd.MultiIndex.from_arrays([frame.loc[mask, "station_id"].map(low_cost), frame.loc[mask, "ts"]])
    humidity = rh.reindex(keys).to_numpy() if not rh.empty else np.full(mask.sum(), np.nan)
    frame = frame.copy()
    # Without the hour's humidity the correction cannot be made: leave the hour out rather than guess.
    frame.loc[mask, "value"] = epa_pm25_correction(frame.loc[mask, "value"].to_numpy(), humidity)
    return frame


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _station_row(station: dict, i: int, result, standard: str, history: dict[str, np.ndarray]) -> dict:
    category = int(result.category[i])
    info = category_info(standard, category) if category >= 0 else None
    pollutants = {}
    for p in POLLUTANTS:
        if p in result.sub_index and not np.isnan(result.concentration[p][i]):
            pollutants[p] = {"sub_index": _number(result.sub_index[p][i]),
                             "concentration": round(float(result.concentration[p][i]), 3), "unit": UNITS[p]}
    return {
        "id": station["id"], "code": station["code"], "name": station["name"], "city": station["city"],
        "timezone": station["timezone"], "lat": station["lat"], "lon": station["lon"], "kind": station["kind"],
        "aqi": _number(result.aqi[i]), "category": info["name"] if info else None,
        "color": info["color"] if info else "#9E9E9E",
        "health_message": info["health_message"] if info else None,
        "main_pollutant": result.main_pollutant[i], "reason": result.reason[i],
        "pollutants": pollutants,
        "reported_hours": int(sum(~np.isnan(history[p][i, 0]) for p in POLLUTANTS)),
    }


def station_history(ctx: Context, station_id: int, end: datetime, hours: int = 72) -> pd.DataFrame:
    """The last `hours` hours of a station's valid values (parameter, ts, value, unit)."""
    with ctx.read_session() as session:
        frame = queries.station_series(session, station_id, end - timedelta(hours=hours - 1),
                                       end + timedelta(hours=1))
    return frame[frame["quality"] < QUALITY_INVALID]


def compute_current(ctx: Context, standard: str, city: str | None = None) -> dict:
    """station_snapshot for the newest hour, on its own session (the read replica when there is one)."""
    with ctx.read_session() as session:
        return station_snapshot(session, standard, city=city)


def check_standard(standard: str) -> str:
    """The standard itself; ValueError naming the known ones otherwise."""
    if standard not in STANDARD_CODES:
        raise ValueError(f"unknown standard {standard!r}; known: {', '.join(STANDARD_CODES)}")
    return standard


def current(ctx: Context, standard: str, city: str | None = None) -> dict:
    """compute_current, cached in the current_aqi namespace (what pages and the API read).

    catalog.UnknownCity for a city the catalogue lacks, ValueError for an unknown standard: nothing is
    computed or cached for names from outside that name nothing.
    """
    check_standard(standard)
    catalog.check_city(ctx, city)
    return ctx.cache.get_or_compute("current_aqi", (standard, city), lambda: compute_current(ctx, standard, city))


def invalidate_current(ctx: Context, cities: list[str]) -> None:
    """New readings arrived for these cities: drop their current-AQI entries and the all-cities ones."""
    ctx.cache.delete("current_aqi", *[(standard, city) for standard in STANDARD_CODES
                                        for city in [*cities, None]])


def snapshot_at(ctx: Context, standard: str, city: str | None, as_of: datetime | None) -> dict:
    """station_snapshot at a past hour (None or the newest hour: the cached current snapshot).

    Hours before the oldest data are that oldest hour, so only hours that have data are ever computed and
    cached; raises as current does.
    """
    latest = current(ctx, standard, city)
    if as_of is None or latest["as_of"] is None or hour_floor(as_of) >= latest["as_of"]:
        return latest
    hour = max(hour_floor(as_of), catalog.first_hour(ctx) or latest["as_of"])

    def compute() -> dict:
        with ctx.read_session() as session:
            return station_snapshot(session, standard, as_of=hour, city=city)
    # Past hours rarely change (late data only), so the current_aqi TTL is plenty.
    return ctx.cache.get_or_compute("current_aqi", (standard, city, hour.isoformat()), compute)


def marker_value(station: dict, pollutant: str) -> float | None:
    """The overall index or one pollutant's sub-index of a snapshot row."""
    if pollutant == "aqi":
        return station["aqi"]
    entry = station["pollutants"].get(pollutant)
    return entry["sub_index"] if entry else None

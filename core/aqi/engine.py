"""Every station's current index at once, vectorised over stations: the live map under each standard."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from core.aqi import AQIError, eea, india, standards, us_epa
from core.aqi.nowcast import nowcast_array
from core.aqi.pollutants import UNITS
from core.aqi.scale import Scale
from core.aqi.units import convert_array, parse_unit, truncate_steps_array

HOURS = 24
# NH3 is not stored yet; if given (for India), it is in ppb like the other gases.
STORAGE_UNITS: dict[str, str] = {p: parse_unit(u) for p, u in UNITS.items()} | {"nh3": "ppb"}
US_MIN_HOURS_8H = 6    # CO 8-h mean: at least 6 of the last 8 hours
US_MIN_HOURS_24H = 18  # SO2 24-h mean: EPA's usual 75 % completeness (our convention)

Blocked = list[tuple[str, np.ndarray]]  # (reason, stations it applies to)


@dataclass(frozen=True)
class StationIndexes:
    """Per-station arrays: index (EEA: level), category position, main pollutant, sub-indices, values used."""

    standard: str
    aqi: np.ndarray  # float, NaN = no index; EEA: the level 1..6
    category: np.ndarray  # int position in categories(standard), -1 for none
    main_pollutant: np.ndarray  # object: pollutant code (pm25, o3…) or None
    sub_index: dict[str, np.ndarray]  # pollutant -> float array (EEA: levels)
    concentration: dict[str, np.ndarray]  # pollutant -> the value (or mean) used, in storage units
    reason: np.ndarray  # object: None, or why a station has no index


def _mean(values: np.ndarray, hours: int, min_hours: int) -> np.ndarray:
    """Mean of the newest `hours` columns where at least `min_hours` are present, else NaN."""
    window = values[:, :hours]
    present = ~np.isnan(window)
    count = present.sum(axis=1)
    total = np.where(present, window, 0.0).sum(axis=1)
    return np.where(count >= min_hours, total / np.maximum(count, 1), np.nan)


def _steps(scale: Scale, values: np.ndarray, pollutant: str) -> np.ndarray:
    """Storage-unit values converted to the scale's unit and truncated to its reporting step; below zero
    (instrument noise, kept in NowCasts as AirNow does) reads as 0."""
    converted = convert_array(np.maximum(values, 0.0), STORAGE_UNITS[pollutant], scale.unit, pollutant)
    return truncate_steps_array(converted, scale.decimals)


def _us_epa(history: dict[str, np.ndarray], on: date | None = None) -> tuple[dict, dict, Blocked]:
    sub, used, blocked = {}, {}, []
    scales = {**us_epa.SCALES, "pm25_1h": us_epa.pm25_scale(on, "pm25_1h")}
    for pm, code in (("pm25", "pm25_1h"), ("pm10", "pm10_1h")):
        if pm in history:
            used[pm] = nowcast_array(pm, history[pm])[0]
            sub[pm] = scales[code].index_array(_steps(scales[code], used[pm], pm))
    if "o3" in history:
        used["o3"] = nowcast_array("o3", history["o3"])[0]
        sub["o3"], undefined = us_epa.ozone_index_array(_steps(scales["o3_8h"], used["o3"], "o3"),
                                                        _steps(scales["o3_1h"], history["o3"][:, 0], "o3"))
        # Leaving ozone out would understate the air: an 8-h value this high means an index above 300.
        blocked.append(("8-hour ozone NowCast of 0.201 ppm or more needs a 1-hour value of 0.125 ppm or more",
                        undefined))
    if "no2" in history:
        used["no2"] = history["no2"][:, 0]
        sub["no2"] = scales["no2_1h"].index_array(_steps(scales["no2_1h"], used["no2"], "no2"))
    if "so2" in history:
        used["so2"] = history["so2"][:, 0]  # this hour; its 24-h mean decides only from 305 ppb
        mean_24h = _mean(history["so2"], 24, US_MIN_HOURS_24H)
        sub["so2"] = us_epa.so2_index_array(_steps(scales["so2_1h"], used["so2"], "so2"),
                                            _steps(scales["so2_24h"], mean_24h, "so2"))
    if "co" in history:
        used["co"] = _mean(history["co"], 8, US_MIN_HOURS_8H)
        sub["co"] = scales["co_8h"].index_array(_steps(scales["co_8h"], used["co"], "co"))
    return sub, used, blocked


def _india(history: dict[str, np.ndarray], on: date | None = None) -> tuple[dict, dict, Blocked]:
    sub, used = {}, {}
    for p in (p for p in STORAGE_UNITS if p in history):
        code, hours, min_hours = ((f"{p}_8h", 8, india.MIN_HOURS_8H) if p in ("co", "o3")
                                  else (f"{p}_24h", 24, india.MIN_HOURS_24H))
        used[p] = _mean(history[p], hours, min_hours)
        sub[p] = india.SCALES[code].index_array(_steps(india.SCALES[code], used[p], p))
    present = [~np.isnan(index) for index in sub.values()]
    count = np.sum(present, axis=0) if present else np.zeros(0)
    has_pm = np.zeros_like(count, dtype=bool)
    for pm in ("pm25", "pm10"):
        if pm in sub:
            has_pm |= ~np.isnan(sub[pm])
    return sub, used, [("needs a PM2.5 or PM10 sub-index", (count > 0) & ~has_pm),
                       (f"needs at least {india.MIN_SUB_INDICES} sub-indices",
                        (count > 0) & has_pm & (count < india.MIN_SUB_INDICES))]


def _eea(history: dict[str, np.ndarray], on: date | None = None) -> tuple[dict, dict, Blocked]:
    sub, used = {}, {}
    for p in ("pm25", "pm10", "no2", "o3", "so2"):
        if p in history:
            used[p] = history[p][:, 0]
            sub[p] = eea.level_array(f"{p}_1h", convert_array(used[p], STORAGE_UNITS[p], eea.UNIT, p))
    return sub, used, []


# How each standard forms the concentration it reads on its table, as the API and the pages describe it.
AVERAGING: dict[str, dict[str, str]] = {
    "us_epa": {"pm25": "NowCast (12 h)", "pm10": "NowCast (12 h)", "o3": "legacy AirNow NowCast (8 h)",
               "no2": "1-hour value", "so2": "1-hour value (24-hour mean from 305 ppb)", "co": "8-hour mean"},
    "india_naqi": {"pm25": "24-hour mean", "pm10": "24-hour mean", "no2": "24-hour mean", "so2": "24-hour mean",
                   "co": "8-hour mean", "o3": "8-hour mean"},
    "eea": {p: "1-hour value" for p in ("pm25", "pm10", "no2", "o3", "so2")},
}

_ENGINES: dict[str, tuple[Callable, str]] = {
    "us_epa": (_us_epa, "no pollutant has a current value"),
    "india_naqi": (_india, "no pollutant has enough valid hours"),
    "eea": (_eea, "no pollutant has a value this hour"),
}


def _prepared(history: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
    unknown = sorted(set(history) - set(STORAGE_UNITS))
    if unknown:
        raise AQIError(f"unknown pollutant(s) {', '.join(unknown)}; use: {', '.join(STORAGE_UNITS)}")
    arrays = {p: np.asarray(v, dtype=float) for p, v in history.items()}
    if any(a.ndim != 2 for a in arrays.values()) or len({a.shape[0] for a in arrays.values()}) > 1:
        raise AQIError("history arrays must all be (n_stations, hours)")
    if any(np.isinf(a).any() for a in arrays.values()):
        raise AQIError("hourly values must be finite numbers (NaN for missing)")
    n = next(iter(arrays.values())).shape[0] if arrays else 0
    prepared = {}
    for p, a in arrays.items():
        a = a[:, :HOURS]
        if a.shape[1] < HOURS:  # older hours not given are missing
            a = np.pad(a, ((0, 0), (0, HOURS - a.shape[1])), constant_values=np.nan)
        # Instruments report small negatives for "about zero"; count them as 0, as NowCast does.
        prepared[p] = np.maximum(a, 0.0)
    return prepared, n


def compute_indexes(standard: str, history: dict[str, np.ndarray], on: date | None = None) -> StationIndexes:
    """Current index of every station from `history[p]`: (n_stations, 24) hourly values in storage units.

    Column 0 is this hour, NaN missing; pollutants pm25, pm10, o3, no2, so2, co (any subset; nh3 in ppb for
    India). US: NowCast PM and ozone, 1-h NO2/SO2, 8-h CO; India: 24-h means (8-h CO, O3); EEA: this hour.
    `on`: the date whose US PM2.5 table applies (us_epa.pm25_scale; None: the 2024 table).
    """
    standards.standard(standard)
    arrays, n = _prepared(history)
    engine, no_data = _ENGINES[standard]
    sub, used, blocked = engine(arrays, on)
    names = list(sub)
    stack = np.vstack([sub[p] for p in names]) if names else np.full((1, n), np.nan)
    filled = np.where(np.isnan(stack), -np.inf, stack)
    best = np.argmax(filled, axis=0)  # ties go to the first pollutant in storage order
    aqi = filled[best, np.arange(n)]
    aqi[np.isinf(aqi)] = np.nan
    reason = np.full(n, None, dtype=object)
    reason[np.isnan(aqi)] = no_data
    for message, mask in blocked:
        aqi[mask] = np.nan
        reason[mask] = message
    main = np.array(names + [None], dtype=object)[np.where(np.isnan(aqi), len(names), best)]
    return StationIndexes(standard, aqi, standards.category_array(standard, aqi), main, sub, used, reason)


def categories(standard: str, palette: str = "standard") -> list[dict]:
    """Legend entries {name, color, text_color, low, high} (index bounds, high None when open; EEA: the level)."""
    colors = standards.palette(standard, palette)
    return [{"name": c.name, "color": color, "text_color": standards.text_color(color), "low": c.low, "high": c.high}
            for c, color in zip(standards.standard(standard).categories, colors)]


def category_info(standard: str, index: int, palette: str = "standard") -> dict:
    """{name, color, text_color, health_message} of a category position (-1: no index)."""
    colors = standards.palette(standard, palette)
    category = standards.category(standard, index)
    color = category.color if index == -1 else colors[index]
    return {"name": category.name, "color": color, "text_color": standards.text_color(color),
            "health_message": category.health_message}

"""Deterministic, stateless demo data: an air-quality network over six cities, with weather."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

import numpy as np
import pandas as pd

from core.parameters import PHYSICAL_MAX, POLLUTANTS, QUALITY_INVALID, QUALITY_VALID, UNITS

# Every random number is a hash of (seed, stream, who, what, absolute hour), never a draw
# from a stateful generator: a value must not depend on which range was asked for, so the
# app can append each new hour live and get exactly what a full rerun would give.

_YEAR_H = 365.2422 * 24.0
_P = {p: i for i, p in enumerate(POLLUTANTS)}
_DECIMALS = np.array([2 if p == "co" else 1 for p in POLLUTANTS])
_MAX = np.array([PHYSICAL_MAX[p] for p in POLLUTANTS])
_UNIT_NAMES = list(dict.fromkeys(UNITS.values()))
_UNIT_OF_PARAM = np.array([_UNIT_NAMES.index(UNITS[p]) for p in POLLUTANTS], dtype=np.int8)

GAP_RATE = 0.01  # one analyser hour in a hundred is lost (calibration, comms)
OUTAGE_RATE = 0.08  # chance per station-week of a whole-station outage of 4-30 h
INVALID_RATE = 0.0002  # impossible readings (negative or beyond PHYSICAL_MAX)


@dataclass(frozen=True)
class CitySpec:
    """A city of the demo network."""

    name: str
    country: str
    timezone: str
    lat: float
    lon: float


@dataclass(frozen=True)
class StationSpec:
    """A monitoring site: a 'reference' monitor or a 'low_cost' sensor."""

    code: str
    name: str
    city: str
    lat: float
    lon: float
    kind: str


@dataclass
class SimulatedData:
    """Network, hourly measurements (long format) and hourly city weather."""

    cities: list[CitySpec]
    stations: list[StationSpec]
    measurements: pd.DataFrame
    weather: pd.DataFrame


@dataclass(frozen=True)
class _City:
    """Climate and pollution levels of one city (pollutant levels are typical background means)."""

    spec: CitySpec
    code: str
    districts: tuple[str, ...]
    temp_mean: float  # °C
    temp_season: float  # °C half-range of the annual cycle
    coldest_doy: int
    temp_diurnal: float  # °C half-range of the daily cycle
    dew_spread: float  # mean dew-point depression, °C
    dew_wet: float  # how much the rainy season narrows it
    wet_doy: int  # centre of the rainy season
    rain_bias: float  # rain propensity; with rain_season sets how often it rains
    rain_season: float
    wind_mean: float  # m/s
    wind_dir: float  # prevailing direction, degrees
    pressure_season: float  # hPa higher in the cold season (continental highs)
    pm25: float  # µg/m³
    coarse: float  # PM10 minus PM2.5, µg/m³
    no2: float  # ppb
    so2: float  # ppb
    co: float  # ppm
    o3_bg: float  # ppb regional background
    o3_photo: float  # ppb photochemical build-up on a hot clear afternoon
    pm_peak_doy: int  # centre of the pollution season (heating, stubble burning, dry season)
    pm_season: float  # log amplitude of that season
    dust_doy: int
    dust_season: float  # log amplitude of seasonal coarse dust
    smoke: float  # peak extra PM2.5 (µg/m³) of recurring smoke episodes, 0 = none
    inversion: float  # log amplitude of recurring stagnation episodes, 0 = none
    spread_km: float = 22.0
    south_scale: float = 1.0  # squeezes sites north where the city ends at the sea


def _city(name: str, country: str, tz: str, lat: float, lon: float, **kw: object) -> _City:
    """Build a city model."""
    return _City(spec=CitySpec(name, country, tz, lat, lon), **kw)  # type: ignore[arg-type]


_CITIES: tuple[_City, ...] = (
    _city("Delhi", "IN", "Asia/Kolkata", 28.6139, 77.2090, code="DEL",
          districts=("Anand Vihar", "ITO", "Punjabi Bagh", "R.K. Puram", "Dwarka", "Rohini",
                     "Okhla", "Mandir Marg", "Jahangirpuri", "Wazirpur", "Narela", "Bawana",
                     "Lodhi Road", "Shadipur", "Najafgarh", "Sonia Vihar"),
          temp_mean=25.0, temp_season=8.5, coldest_doy=15, temp_diurnal=6.0, dew_spread=8.0,
          dew_wet=5.0, wet_doy=215, rain_bias=-1.2, rain_season=1.8, wind_mean=2.4, wind_dir=300,
          pressure_season=9.0, pm25=72.0, coarse=85.0, no2=26.0, so2=3.5, co=1.4, o3_bg=20.0,
          o3_photo=32.0, pm_peak_doy=330, pm_season=0.65, dust_doy=140, dust_season=0.45,
          smoke=0.0, inversion=0.65),
    _city("Beijing", "CN", "Asia/Shanghai", 39.9042, 116.4074, code="BJS",
          districts=("Dongsi", "Tiantan", "Guanyuan", "Wanshouxigong", "Aotizhongxin",
                     "Nongzhanguan", "Wanliu", "Gucheng", "Shunyi", "Changping", "Dingling",
                     "Huairou", "Haidian", "Chaoyang", "Fengtai", "Yizhuang"),
          temp_mean=12.5, temp_season=15.0, coldest_doy=20, temp_diurnal=5.5, dew_spread=8.0,
          dew_wet=6.5, wet_doy=205, rain_bias=-0.9, rain_season=1.5, wind_mean=2.6, wind_dir=340,
          pressure_season=11.0, pm25=24.0, coarse=28.0, no2=17.0, so2=2.5, co=0.45, o3_bg=22.0,
          o3_photo=50.0, pm_peak_doy=10, pm_season=0.35, dust_doy=100, dust_season=0.5,
          smoke=0.0, inversion=1.6),
    _city("Los Angeles", "US", "America/Los_Angeles", 34.0522, -118.2437, code="LAX",
          districts=("Downtown", "Pasadena", "Glendale", "Burbank", "Long Beach", "Compton",
                     "Pico Rivera", "Reseda", "Santa Monica", "Inglewood", "West LA",
                     "Hollywood", "Boyle Heights", "Torrance", "Whittier", "Van Nuys"),
          temp_mean=18.5, temp_season=4.5, coldest_doy=15, temp_diurnal=5.0, dew_spread=7.0,
          dew_wet=2.0, wet_doy=30, rain_bias=-1.15, rain_season=1.2, wind_mean=3.0, wind_dir=250,
          pressure_season=3.0, pm25=11.0, coarse=14.0, no2=16.0, so2=0.8, co=0.35, o3_bg=28.0,
          o3_photo=48.0, pm_peak_doy=350, pm_season=0.15, dust_doy=280, dust_season=0.2,
          smoke=160.0, inversion=0.0),
    _city("London", "GB", "Europe/London", 51.5074, -0.1278, code="LON",
          districts=("Marylebone Road", "Bloomsbury", "North Kensington", "Westminster", "Camden",
                     "Greenwich", "Hackney", "Lewisham", "Brixton", "Southwark", "Islington",
                     "Wandsworth", "Ealing", "Tower Hamlets", "Haringey", "Croydon"),
          temp_mean=11.5, temp_season=7.0, coldest_doy=20, temp_diurnal=4.0, dew_spread=3.5,
          dew_wet=0.5, wet_doy=310, rain_bias=-0.4, rain_season=0.15, wind_mean=4.5,
          wind_dir=230, pressure_season=1.0, pm25=8.5, coarse=7.0, no2=17.0, so2=0.8, co=0.25,
          o3_bg=36.0, o3_photo=12.0, pm_peak_doy=60, pm_season=0.2, dust_doy=100,
          dust_season=0.1, smoke=0.0, inversion=0.0),
    _city("São Paulo", "BR", "America/Sao_Paulo", -23.5505, -46.6333, code="SAO",
          districts=("Pinheiros", "Ibirapuera", "Cerqueira César", "Santana", "Mooca",
                     "Parque Dom Pedro II", "Congonhas", "Osasco", "Santo Amaro", "Itaquera",
                     "Butantã", "Lapa", "Vila Mariana", "Tatuapé", "Penha", "Perdizes"),
          temp_mean=20.0, temp_season=3.5, coldest_doy=196, temp_diurnal=5.0, dew_spread=5.0,
          dew_wet=2.0, wet_doy=20, rain_bias=-0.1, rain_season=0.8, wind_mean=2.5,
          wind_dir=150, pressure_season=3.0, pm25=15.0, coarse=15.0, no2=14.0, so2=1.0, co=0.5,
          o3_bg=22.0, o3_photo=35.0, pm_peak_doy=213, pm_season=0.3, dust_doy=230,
          dust_season=0.2, smoke=140.0, inversion=0.0),
    _city("Lagos", "NG", "Africa/Lagos", 6.5244, 3.3792, code="LAG",
          districts=("Ikeja", "Lekki", "Victoria Island", "Yaba", "Surulere", "Apapa", "Ikorodu",
                     "Oshodi", "Agege", "Ajah", "Mushin", "Ikoyi", "Festac", "Alimosho", "Isolo",
                     "Ojota"),
          temp_mean=27.5, temp_season=1.5, coldest_doy=220, temp_diurnal=3.5, dew_spread=3.0,
          dew_wet=2.0, wet_doy=170, rain_bias=-0.2, rain_season=1.0, wind_mean=3.2,
          wind_dir=220, pressure_season=2.0, pm25=35.0, coarse=50.0, no2=15.0, so2=4.0, co=1.1,
          o3_bg=18.0, o3_photo=18.0, pm_peak_doy=10, pm_season=0.35, dust_doy=15,
          dust_season=0.75, smoke=0.0, inversion=0.0, south_scale=0.45),
)


class _S(IntEnum):
    """Hash streams, so that no two uses of randomness share numbers."""

    SITE = 1
    ATTR = 2
    WAVES = 3
    KNOTS = 4
    EPISODE = 5
    SPACE = 6
    SMOOTH = 7
    WHITE = 8
    ADDITIVE = 9
    GAP = 10
    OUTAGE = 11
    BOGUS = 12
    RAIN = 13


class _V(IntEnum):
    """City-level signals, each with its own random stream."""

    PRESSURE = 0
    WIND = 1
    WIND_DIR = 2
    TEMP = 3
    DEW = 4
    RAIN = 5
    PM = 6
    DUST = 7
    NO2 = 8
    CO = 9
    SO2 = 10
    O3 = 11
    SMOKE = 12
    INVERSION = 13
    SMOKE_VAR = 14


# --- counter-based random numbers -------------------------------------------------------


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a cheap, well-scrambled 64-bit hash."""
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    return z ^ (z >> 31)


def _hash(*parts: int | np.ndarray) -> np.ndarray:
    """Hash integer parts (broadcast together) into uint64; put the largest part last."""
    h = np.zeros(1, np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            h = _mix(h ^ (np.asarray(part, dtype=np.int64).astype(np.uint64) + 0x9E3779B97F4A7C15))
    return h


def _uniform(h: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) from the top 53 bits."""
    return (h >> 11).astype(np.float64) * 2.0**-53


def _normal(h: np.ndarray) -> np.ndarray:
    """Approximately standard normal: Irwin-Hall sum of the four 16-bit quarters of the hash."""
    # Bounded tails (±3.5σ) on purpose: the only spikes in the data should be deliberate ones.
    s = (h & 0xFFFF) + ((h >> 16) & 0xFFFF) + ((h >> 32) & 0xFFFF) + (h >> 48)
    return (s.astype(np.float64) - 131070.0) * (math.sqrt(3.0) / 65536.0)


def _knots(prefix: tuple[int, ...], rows: np.ndarray, hours: np.ndarray, step: int) -> np.ndarray:
    """Smooth unit-variance noise (hours × rows), interpolating random knots every `step` hours."""
    k0 = hours // step
    w = (hours - k0 * step) / step
    w = w * w * (3.0 - 2.0 * w)  # smoothstep: no kinks at the knots
    first = int(k0.min())
    knots = np.arange(first, int(k0.max()) + 2)
    z = _normal(_hash(*prefix, rows[None, :], knots[:, None]))
    i = k0 - first
    norm = 1.0 / np.sqrt((1.0 - w) ** 2 + w**2)  # keep the variance at 1 between knots
    return (z[i] * ((1.0 - w) * norm)[:, None]) + (z[i + 1] * (w * norm)[:, None])


def _synoptic(seed: int, ci: int, var: int, hours: np.ndarray) -> np.ndarray:
    """Unit-variance weather-like signal: 2–7 day waves plus irregular day-to-day wander."""
    u = _uniform(_hash(seed, _S.WAVES, ci, var, np.arange(8)))
    t = hours.astype(np.float64)
    waves = sum(np.sin(2 * np.pi * t / (48.0 + 120.0 * u[k]) + 2 * np.pi * u[4 + k]) for k in range(4))
    daily = _knots((seed, _S.KNOTS, ci, var), np.zeros(1, np.int64), hours, 24)[:, 0]
    return 0.42 * waves + 0.8 * daily


def _city_noise(seed: int, ci: int, var: int, hours: np.ndarray, step: int = 6) -> np.ndarray:
    """City-level smooth noise on a `step`-hour knot grid."""
    return _knots((seed, _S.KNOTS, ci, 100 + var), np.zeros(1, np.int64), hours, step)[:, 0]


def _episodes(seed: int, ci: int, var: int, hours: np.ndarray, days: tuple[float, float]) -> np.ndarray:
    """Envelope (0..1) of multi-day episodes recurring every 30–45 days at seed-derived times."""
    # One episode per period, never crossing into the next: any 90-day window holds a whole one.
    u = _uniform(_hash(seed, _S.EPISODE, ci, var, np.arange(2)))
    period = 24.0 * (30.0 + 15.0 * u[0])
    offset = period * u[1]
    k = np.floor((hours - offset) / period)
    v = _uniform(_hash(seed, _S.EPISODE, ci, var, np.arange(3)[:, None], k.astype(np.int64)[None, :]))
    duration = 24.0 * (days[0] + (days[1] - days[0]) * v[0])
    start = offset + k * period + v[1] * (period - duration - 24.0)
    x = (hours + 0.5 - start) / duration
    ramp = np.clip(np.minimum(x, 1.0 - x) / 0.3, 0.0, 1.0)
    return ramp * ramp * (3.0 - 2.0 * ramp) * (0.7 + 0.3 * v[2])


# --- the network ------------------------------------------------------------------------


def _layout(n_stations: int, seed: int) -> tuple[list[StationSpec], np.ndarray]:
    """Stations grouped by city, with their stable hash keys (city, slot)."""
    if n_stations < 0:
        raise ValueError("n_stations must be >= 0")
    stations: list[StationSpec] = []
    keys: list[np.ndarray] = []
    n_cities = len(_CITIES)
    for ci, c in enumerate(_CITIES):
        count = n_stations // n_cities + (ci < n_stations % n_cities)
        slot = np.arange(count)
        # Slots R S R S R repeat: 60% reference, and slot j is the same station for any n.
        ref = (3 * slot) % 5 < 3
        number = np.where(ref, np.cumsum(ref), np.cumsum(~ref))
        key = (ci << 20) | slot
        u = _uniform(_hash(seed, _S.SITE, key[None, :], np.arange(2)[:, None]))
        r = c.spread_km * np.sqrt(u[0])  # uniform over the disc
        north = r * np.cos(2 * np.pi * u[1])
        north = np.where(north < 0, north * c.south_scale, north)
        east = r * np.sin(2 * np.pi * u[1])
        lat = c.spec.lat + north / 111.32
        lon = c.spec.lon + east / (111.32 * math.cos(math.radians(c.spec.lat)))
        for j in range(count):
            cycle, d = divmod(j, len(c.districts))
            name = f"{c.spec.name} – {c.districts[d]}" + (f" {cycle + 1}" if cycle else "")
            stations.append(StationSpec(
                code=f"{c.code}-{'R' if ref[j] else 'S'}{number[j]:02d}", name=name,
                city=c.spec.name, lat=round(float(lat[j]), 5), lon=round(float(lon[j]), 5),
                kind="reference" if ref[j] else "low_cost",
            ))
        keys.append(key)
    return stations, np.concatenate(keys) if keys else np.zeros(0, np.int64)


def network(n_stations: int = 84, seed: int = 42) -> tuple[list[CitySpec], list[StationSpec]]:
    """The cities and the stations spread over them (deterministic in n_stations and seed)."""
    return [c.spec for c in _CITIES], _layout(n_stations, seed)[0]


# --- weather ----------------------------------------------------------------------------


def _declination(t: np.ndarray) -> np.ndarray:
    """Solar declination (radians) at absolute hour t."""
    return -0.4091 * np.cos(2 * np.pi * ((t % _YEAR_H) / _YEAR_H + 10.0 / 365.2422))


def _sun(t: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """Sine of the solar elevation at absolute hour t (UTC, fractional)."""
    decl = _declination(t)
    hour_angle = 2 * np.pi * (((t + lon / 15.0) % 24.0) - 12.0) / 24.0
    la = math.radians(lat)
    return math.sin(la) * np.sin(decl) + math.cos(la) * np.cos(decl) * np.cos(hour_angle)


def _season(hours: np.ndarray, peak_doy: float) -> np.ndarray:
    """Annual cosine, +1 on day-of-year peak_doy and -1 half a year later."""
    return np.cos(2 * np.pi * ((hours % _YEAR_H) / _YEAR_H - peak_doy / 365.2422))


_RAIN_MEMORY = 12  # hours of past rain that still wash particles out


def _weather(seed: int, ci: int, c: _City, hours: np.ndarray) -> dict[str, np.ndarray]:
    """Hourly weather of one city plus the derived drivers of pollution (unrounded)."""
    lat, lon = c.spec.lat, c.spec.lon
    ext = np.arange(hours[0] - _RAIN_MEMORY, hours[-1] + 1)  # rain history, still stateless
    t = hours + 0.5  # an hourly value describes the middle of its hour
    cold = _season(hours, c.coldest_doy)
    wet = _season(ext, c.wet_doy)
    pressure_anom = _synoptic(seed, ci, _V.PRESSURE, ext)

    # Rain falls when a low passes in the wet season; memory lets it wash out PM for hours.
    drive = (-0.9 * pressure_anom + 0.6 * _city_noise(seed, ci, _V.RAIN, ext)
             + c.rain_bias + c.rain_season * wet)
    gust = _uniform(_hash(seed, _S.RAIN, ci, ext))
    rain_ext = np.maximum(drive - 1.3, 0.0) ** 1.5 * 2.5 * (0.3 + 1.4 * gust)
    n = len(hours)
    recent = sum(rain_ext[_RAIN_MEMORY - k:_RAIN_MEMORY - k + n] * 0.8**k for k in range(_RAIN_MEMORY + 1))
    washout = 1.0 - np.exp(-recent / 2.0)
    rain, drive, pressure_anom, wet = (a[_RAIN_MEMORY:] for a in (rain_ext, drive, pressure_anom, wet))
    cloud = 1.0 / (1.0 + np.exp(-2.0 * (drive - 0.3)))

    noon = np.cos(math.radians(lat) - _declination(t))  # sine of the noon sun height
    lagged = np.clip(_sun(t - 2.5, lat, lon), -0.2, 1.0)  # air warms for hours after noon
    shape = 2.0 * (lagged + 0.2) / (np.maximum(noon, 0.05) + 0.2) - 1.0
    swing = c.temp_diurnal * (0.5 + 0.5 * np.clip(noon, 0, 1)) * (1.0 - 0.5 * cloud)
    base_t = c.temp_mean - c.temp_season * cold + 2.5 * _synoptic(seed, ci, _V.TEMP, hours)
    temp = base_t + swing * shape - 2.0 * washout

    # Humidity from a slowly varying dew point: it peaks at dawn and dips in the afternoon.
    spread = np.maximum(c.dew_spread - c.dew_wet * wet + 1.5 * _synoptic(seed, ci, _V.DEW, hours), 0.5)
    dew = base_t - swing - spread * (1.0 - 0.7 * washout)
    rh = 100.0 * np.exp(17.62 * dew / (243.12 + dew) - 17.62 * temp / (243.12 + temp))

    mixing = np.clip(_sun(t - 1.0, lat, lon), 0.0, 1.0) ** 0.8 * (1.0 - 0.4 * cloud)
    wind = c.wind_mean * np.exp(0.35 * _synoptic(seed, ci, _V.WIND, hours) - 0.15 * pressure_anom - 0.1)
    wind = wind * (0.7 + 0.6 * mixing)  # daytime convection brings momentum down
    direction = c.wind_dir + 50.0 * _synoptic(seed, ci, _V.WIND_DIR, hours)
    solar_time = (t + lon / 15.0) % 24.0
    pressure = (1013.0 + c.pressure_season * cold + 7.0 * pressure_anom
                + 0.8 * np.cos(4 * np.pi * (solar_time - 10.0) / 24.0))  # semidiurnal tide
    return {
        "temperature_c": temp, "humidity_pct": np.clip(rh, 5.0, 100.0), "wind_speed_ms": wind,
        "wind_dir_deg": direction % 360.0, "pressure_hpa": pressure, "precipitation_mm": rain,
        "mixing": mixing, "cloud": cloud, "washout": washout,
    }


_WEATHER_DECIMALS = {"temperature_c": 1, "humidity_pct": 0, "wind_speed_ms": 1, "wind_dir_deg": 0,
                     "pressure_hpa": 1, "precipitation_mm": 1}


# --- pollution --------------------------------------------------------------------------


def _traffic_tables() -> np.ndarray:
    """Relative traffic by (weekday, Saturday, Sunday) × local hour, weekly mean 1."""
    h = np.arange(24) + 0.5

    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-0.5 * ((h - centre) / width) ** 2)

    weekday = 0.25 + 1.0 * bump(8.0, 1.3) + 0.85 * bump(18.0, 1.8) + 0.45 * bump(13.0, 3.0)
    saturday = 0.25 + 0.6 * bump(13.0, 3.5) + 0.2 * bump(20.0, 2.0)
    sunday = 0.22 + 0.45 * bump(14.0, 3.5)
    table = np.stack([weekday, saturday, sunday])
    return table / ((5 * weekday.mean() + saturday.mean() + sunday.mean()) / 7)


_TRAFFIC = _traffic_tables()


def _city_levels(seed: int, ci: int, c: _City, hours: np.ndarray,
                 wx: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """City-wide log levels of each pollutant (storage units) and smoke PM2.5 in µg/m³, per hour."""
    local = pd.DatetimeIndex(hours.astype("datetime64[h]")).tz_localize("UTC").tz_convert(c.spec.timezone)
    dow = local.day_of_week.to_numpy()
    traffic = _TRAFFIC[np.clip(dow - 4, 0, 2), local.hour.to_numpy()]
    log_traffic = np.log(traffic)
    weekend = dow >= 5

    # Little wind under a shallow (night-time, winter) mixed layer traps what is emitted.
    ventilation = wx["wind_speed_ms"] * (0.2 + wx["mixing"])
    stagnation = np.clip(np.log(0.5 * c.wind_mean / ventilation), -1.5, 2.0)
    season = _season(hours, c.pm_peak_doy)
    # Stagnation episodes all year (so the demo always has some), strongest in the cold season.
    episode = _episodes(seed, ci, _V.INVERSION, hours, (4.0, 8.0))
    inversion = c.inversion * (0.6 + 0.2 * (1 + season)) * episode
    wash = wx["washout"]
    dust_wind = np.log(np.maximum(wx["wind_speed_ms"], 0.3) / c.wind_mean)

    def syn(var: int) -> np.ndarray:
        return _synoptic(seed, ci, var, hours)

    levels = {
        "pm25": (math.log(c.pm25) + c.pm_season * season + 0.4 * stagnation + 0.15 * log_traffic
                 - 0.8 * wash + 0.3 * syn(_V.PM) + inversion),
        "coarse": (math.log(c.coarse) + 0.4 * c.pm_season * season
                   + c.dust_season * _season(hours, c.dust_doy) + 0.25 * stagnation
                   + 0.35 * log_traffic + 0.4 * dust_wind - 1.2 * wash
                   + 0.35 * syn(_V.DUST) + 0.5 * inversion),
        "no2": (math.log(c.no2) + 0.25 * season + 0.45 * stagnation + 0.6 * log_traffic
                + 0.2 * syn(_V.NO2) + 0.5 * inversion),
        "co": (math.log(c.co) + 0.3 * season + 0.45 * stagnation + 0.5 * log_traffic
               + 0.2 * syn(_V.CO) + 0.6 * inversion),
        "so2": (math.log(c.so2) + 0.3 * season + 0.3 * stagnation + 0.1 * log_traffic
                + 0.4 * syn(_V.SO2) + 0.4 * inversion),
    }
    # Ozone: regional background slowly eaten after dusk under the inversion, plus photochemistry
    # that needs sunshine and heat (lagged ~2 h) and is a little higher at weekends (less NO).
    photo = np.clip(_sun(hours + 0.5 - 2.0, c.spec.lat, c.spec.lon), 0.0, 1.0) ** 1.5
    heat = np.exp(0.06 * (wx["temperature_c"] - 25.0))
    evening = np.clip(_sun(hours + 0.5 - 3.0, c.spec.lat, c.spec.lon) + 0.35, 0.0, 1.0)
    o3 = (c.o3_bg * np.exp(-0.15 * _season(hours, c.coldest_doy) + 0.15 * syn(_V.O3)
                           - 0.1 * log_traffic)  # fresh NO titrates ozone at rush hour
          * (0.5 + 0.5 * evening)
          + c.o3_photo * photo * heat * (1.0 - 0.6 * wx["cloud"]) * np.where(weekend, 1.08, 1.0))
    levels["o3"] = np.log(o3)
    smoke = c.smoke * _episodes(seed, ci, _V.SMOKE, hours, (3.0, 6.0))
    levels["smoke"] = smoke * np.exp(0.3 * _city_noise(seed, ci, _V.SMOKE_VAR, hours) + 0.2 * stagnation)
    return levels


@dataclass(frozen=True)
class _Sites:
    """Per-station arrays of one city."""

    keys: np.ndarray
    x_km: np.ndarray
    y_km: np.ndarray
    low_cost: np.ndarray
    traffic: np.ndarray  # 0 quiet background .. 1 kerbside
    urban: np.ndarray  # 1 in the centre, decaying outwards
    industry: np.ndarray  # standard normal: nearby SO2 sources
    gain: np.ndarray  # low-cost sensor unit-to-unit gain
    static: np.ndarray  # (stations, 7) random site offsets per pollutant and coarse PM


def _sites(seed: int, c: _City, stations: list[StationSpec], keys: np.ndarray) -> _Sites:
    """Station attributes, derived from each station's key so they never depend on n_stations."""
    lat = np.array([s.lat for s in stations])
    lon = np.array([s.lon for s in stations])
    x = (lon - c.spec.lon) * 111.32 * math.cos(math.radians(c.spec.lat))
    y = (lat - c.spec.lat) * 111.32
    h = _hash(seed, _S.ATTR, keys[None, :], np.arange(11)[:, None])
    u, z = _uniform(h), _normal(h)
    return _Sites(
        keys=keys, x_km=x, y_km=y, low_cost=np.array([s.kind == "low_cost" for s in stations]),
        traffic=np.where(u[0] < 0.3, 0.7 + 0.3 * u[1], 0.4 * u[1]),  # ~30% kerbside sites
        urban=np.exp(-np.hypot(x, y) / 15.0), industry=z[2], gain=1.0 + 0.12 * z[3], static=z[4:].T,
    )


def _spatial(seed: int, ci: int, sites: _Sites, hours: np.ndarray) -> np.ndarray:
    """Unit-variance field smooth in space (20–60 km waves) drifting in time: neighbours agree."""
    field = np.zeros((len(hours), len(sites.keys)))
    amplitude = _knots((seed, _S.SPACE, ci), np.arange(3), hours, 6)
    for k in range(3):
        u = _uniform(_hash(seed, _S.SPACE, ci, 1000 + k, np.arange(3)))
        wavenumber = 2 * np.pi / (20.0 + 40.0 * u[0])
        angle = 2 * np.pi * u[1]
        phase = wavenumber * (sites.x_km * math.cos(angle) + sites.y_km * math.sin(angle)) + 2 * np.pi * u[2]
        field += amplitude[:, k : k + 1] * (math.sqrt(2.0 / 3.0) * np.cos(phase))[None, :]
    return field


# Log-scale site effects per pollutant: (traffic, urban, spatial σ, station smooth σ, static σ).
_SITE_EFFECT = {
    "pm25": (0.15, 0.15, 0.15, 0.10, 0.08),
    "coarse": (0.45, 0.10, 0.20, 0.15, 0.12),
    "no2": (0.75, 0.35, 0.20, 0.15, 0.15),
    "co": (0.50, 0.25, 0.15, 0.12, 0.12),
    "so2": (0.10, 0.10, 0.25, 0.20, 0.30),
    "o3": (-0.35, -0.15, 0.08, 0.08, 0.06),
}
_REF_NOISE, _LOW_COST_NOISE = 0.04, 0.10  # multiplicative instrument noise (log σ)


def _station_values(seed: int, name: str, sites: _Sites, cols: np.ndarray,
                    hours: np.ndarray, city: np.ndarray, spatial: np.ndarray) -> np.ndarray:
    """True concentrations at the given stations: city signal × local departures × instrument noise."""
    t_eff, u_eff, sp, sm, st = _SITE_EFFECT[name]
    slot = _P.get(name, 6)
    keys = sites.keys[cols]
    offset = (t_eff * (sites.traffic[cols] - 0.35) + u_eff * (sites.urban[cols] - 0.5)
              + st * sites.static[cols, slot])
    if name == "so2":
        offset = offset + 0.3 * sites.industry[cols]
    noise_sd = np.where(sites.low_cost[cols], _LOW_COST_NOISE, _REF_NOISE)
    smooth = _knots((seed, _S.SMOOTH, slot), keys, hours, 6)
    white = _normal(_hash(seed, _S.WHITE, slot, keys[None, :], hours[:, None]))
    return np.exp(city[:, None] + sp * spatial[:, cols] + sm * smooth + noise_sd * white + offset)


def _city_block(seed: int, ci: int, c: _City, sites: _Sites, hours: np.ndarray,
                wx: dict[str, np.ndarray], out: np.ndarray) -> None:
    """Fill out[hour, station, parameter] with true readings of one city (NaN where not measured)."""
    levels = _city_levels(seed, ci, c, hours, wx)
    spatial = _spatial(seed, ci, sites, hours)
    every = np.arange(len(sites.keys))
    ref = np.flatnonzero(~sites.low_cost)
    lc = np.flatnonzero(sites.low_cost)

    plume = np.exp(0.3 * spatial)  # smoke is patchy across the city
    pm25 = _station_values(seed, "pm25", sites, every, hours, levels["pm25"], spatial)
    pm25 += levels["smoke"][:, None] * plume
    coarse = _station_values(seed, "coarse", sites, every, hours, levels["coarse"], spatial)
    out[:, ref, _P["pm25"]] = pm25[:, ref]
    out[:, ref, _P["pm10"]] = pm25[:, ref] + coarse[:, ref]
    if len(lc):
        # Low-cost optical sensors: raw CF=1 reads high in humid air (inverse of the US EPA
        # correction), vary unit to unit, have a noise floor, and undercount coarse particles.
        rh = wx["humidity_pct"][:, None]
        extra = 1.5 * _normal(_hash(seed, _S.ADDITIVE, sites.keys[lc][None, :], hours[:, None]))
        raw = sites.gain[lc] * (pm25[:, lc] + 0.0862 * rh - 5.75) / 0.524 + extra
        raw = np.maximum(raw, 0.0)
        out[:, lc, _P["pm25"]] = raw
        out[:, lc, _P["pm10"]] = raw + 0.5 * coarse[:, lc]
    for name in ("no2", "co", "so2"):
        out[:, ref, _P[name]] = _station_values(seed, name, sites, ref, hours, levels[name], spatial)
    out[:, ref, _P["co"]] += 0.008 * levels["smoke"][:, None] * plume[:, ref]  # fires emit CO too
    out[:, ref, _P["o3"]] = _station_values(seed, "o3", sites, ref, hours, levels["o3"], spatial)


def _missing(seed: int, keys: np.ndarray, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hour, station, parameter) masks: lost readings, and impossible ones among the kept."""
    params = np.arange(len(POLLUTANTS))
    h = _hash(seed, _S.GAP, keys[None, :, None], params[None, None, :], hours[:, None, None])
    gap = (h >> 32) < int(GAP_RATE * 2**32)
    invalid = (h & 0xFFFFFFFF) < int(INVALID_RATE * 2**32)
    # Whole-station outages: at most one per station-week, kept inside its week so the
    # decision for an hour needs only that week's hash.
    week = hours // 168
    first = int(week.min())
    weeks = np.arange(first, int(week.max()) + 1)
    u = _uniform(_hash(seed, _S.OUTAGE, keys[None, :], np.arange(3)[:, None, None], weeks[None, :, None]))
    duration = np.floor(4.0 + 27.0 * u[1])
    start = np.floor(u[2] * (168.0 - duration))
    pos = (hours - week * 168)[:, None]
    i = week - first
    outage = (u[0][i] < OUTAGE_RATE) & (pos >= start[i]) & (pos < start[i] + duration[i])
    gap |= outage[:, :, None]
    return gap, invalid & ~gap


def _hour_index(when: datetime) -> int:
    """Whole hours since the Unix epoch, flooring; rejects naive datetimes."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("start and end must be timezone-aware (UTC)")
    return math.floor(when.timestamp() / 3600.0)


def simulate(start: datetime, end: datetime, *, n_stations: int = 84, seed: int = 42) -> SimulatedData:
    """Hourly readings and weather for the hours in [start, end), both floored to the hour."""
    stations, keys = _layout(n_stations, seed)
    h0, h1 = _hour_index(start), _hour_index(end)
    hours = np.arange(h0, max(h0, h1), dtype=np.int64)
    n_h, n_s, n_p = len(hours), len(stations), len(POLLUTANTS)
    values = np.full((n_h, n_s, n_p), np.nan)
    present = np.zeros((n_h, n_s, n_p), dtype=bool)
    invalid = np.zeros((n_h, n_s, n_p), dtype=bool)
    weather = {k: np.zeros((n_h, len(_CITIES))) for k in _WEATHER_DECIMALS}
    city_of = np.array([s.city for s in stations])
    for ci, c in enumerate(_CITIES):
        idx = np.flatnonzero(city_of == c.spec.name)
        if n_h == 0:
            continue
        wx = _weather(seed, ci, c, hours)
        for k, d in _WEATHER_DECIMALS.items():
            weather[k][:, ci] = np.round(wx[k], d)
        if len(idx):
            block = slice(idx[0], idx[-1] + 1)  # a city's stations are contiguous
            _city_block(seed, ci, c, _sites(seed, c, [stations[i] for i in idx], keys[idx]), hours, wx,
                        values[:, block])
            gap, invalid[:, block] = _missing(seed, keys[block], hours)
            present[:, block] = ~np.isnan(values[:, block]) & ~gap
    return _assemble(seed, stations, keys, hours, values, present, invalid, weather)


def _assemble(seed: int, stations: list[StationSpec], keys: np.ndarray, hours: np.ndarray, values: np.ndarray,
              present: np.ndarray, invalid: np.ndarray, weather: dict[str, np.ndarray]) -> SimulatedData:
    """Long-format frames ordered by (ts, station, parameter), so consecutive ranges concatenate."""
    n_h, n_s, n_p = values.shape
    # Clamp first: an extreme smoke hour on a humid low-cost sensor must not look like a fault.
    np.minimum(values, 0.95 * _MAX, out=values)
    for p in range(n_p):
        values[..., p] = np.round(values[..., p], _DECIMALS[p])
    flat = np.flatnonzero(present.reshape(-1))
    value = values.reshape(-1)[flat]
    bad = invalid.reshape(-1)[flat]
    param = (flat % n_p).astype(np.int8)
    flat //= n_p
    station = (flat % n_s).astype(np.int32)
    flat //= n_s
    hour = hours[flat]
    del flat

    # Faults: a negative reading or a spike far beyond what air can hold.
    b = np.flatnonzero(bad)
    u = _uniform(_hash(seed, _S.BOGUS, np.arange(2)[:, None], keys[station[b]][None, :],
                       param[b].astype(np.int64)[None, :], hour[b][None, :]))
    bogus = np.where(u[0] < 0.5, -(0.5 + 998.0 * u[1]), _MAX[param[b]] * (1.2 + 3.0 * u[1]))
    scale = 10.0 ** _DECIMALS[param[b]]
    value[b] = np.round(bogus * scale) / scale

    measurements = pd.DataFrame({
        "station_code": pd.Categorical.from_codes(station, categories=[s.code for s in stations]),
        "parameter": pd.Categorical.from_codes(param, categories=list(POLLUTANTS)),
        "ts": _timestamps(hour),
        "value": value,
        "unit": pd.Categorical.from_codes(_UNIT_OF_PARAM[param], categories=_UNIT_NAMES),
        "quality": np.where(bad, QUALITY_INVALID, QUALITY_VALID).astype(np.int8),
    }, copy=False)
    n_c = len(_CITIES)
    frame: dict[str, object] = {
        "city": pd.Categorical.from_codes(np.tile(np.arange(n_c, dtype=np.int8), n_h),
                                          categories=[c.spec.name for c in _CITIES]),
        "ts": _timestamps(np.repeat(hours, n_c)),
    }
    frame.update({k: v.reshape(-1) for k, v in weather.items()})
    return SimulatedData(cities=[c.spec for c in _CITIES], stations=stations,
                         measurements=measurements, weather=pd.DataFrame(frame))


def _timestamps(hours: np.ndarray) -> pd.DatetimeIndex:
    """UTC timestamps (microsecond unit, pandas' default for datetimes) from epoch hours."""
    return pd.DatetimeIndex((hours * 3_600_000_000).astype("datetime64[us]")).tz_localize("UTC")

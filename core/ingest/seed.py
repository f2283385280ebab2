"""Seed the configured database with simulated demo data, and keep appending live hours."""
from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, func, select

from core.snapshots import invalidate_current
from core.context import Context
from core.db.models import City, Measurement, Station
from core.ingest import simulator
from core.ingest.store import ensure_cities, ensure_stations, write_measurements, write_weather
from core.periodic import Periodic

log = logging.getLogger(__name__)


def current_hour() -> datetime:
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


def is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(City)).scalar_one() == 0


def seed(engine: Engine, days: int, n_stations: int, seed: int = 42, end: datetime | None = None,
         progress=None) -> dict:
    """Simulate `days` of hourly data up to `end` (the current hour) and load it, one day-chunk at a time."""
    end = (end or current_hour()) + timedelta(hours=1)
    start = end - timedelta(days=days)
    cities, stations = simulator.network(n_stations=n_stations, seed=seed)
    with engine.begin() as conn:
        city_ids = ensure_cities(conn, [asdict(c) for c in cities])
        station_ids = ensure_stations(conn, [_station_row(s, city_ids) for s in stations])
    totals = {"measurements": 0, "weather": 0, "stations": len(stations), "cities": len(cities)}
    chunk = timedelta(days=7)
    t = start
    while t < end:
        data = simulator.simulate(t, min(t + chunk, end), n_stations=n_stations, seed=seed)
        with engine.begin() as conn:  # a chunk lands whole or not at all
            totals["measurements"] += write_measurements(conn, data.measurements, station_ids)
            totals["weather"] += write_weather(conn, data.weather, city_ids)
        t += chunk
        if progress:
            progress(min(t, end) - start, end - start)
    return totals


def _station_row(spec: simulator.StationSpec, city_ids: dict[str, int]) -> dict:
    return {"code": spec.code, "name": spec.name, "city_id": city_ids[spec.city], "lat": spec.lat,
            "lon": spec.lon, "kind": spec.kind, "source": "simulator", "active": True}


def append_new_hours(ctx: Context, n_stations: int, seed: int = 42, now: datetime | None = None) -> int:
    """Simulate and load the hours after the newest simulated one, up to now; returns rows written."""
    now = now or current_hour()
    with ctx.engine.connect() as conn:
        last = conn.execute(select(func.max(Measurement.ts)).join(Station, Station.id == Measurement.station_id)
                            .where(Station.source == "simulator")).scalar_one_or_none()
    if last is None:
        return 0
    last = last.replace(tzinfo=timezone.utc) if last.tzinfo is None else last
    if last >= now:
        return 0
    start = max(last + timedelta(hours=1), now - timedelta(days=2))
    data = simulator.simulate(start, now + timedelta(hours=1), n_stations=n_stations, seed=seed)
    with ctx.engine.begin() as conn:
        city_ids = ensure_cities(conn, [])
        station_ids = ensure_stations(conn, [])
        written = write_measurements(conn, data.measurements, station_ids)
        write_weather(conn, data.weather, city_ids)
    invalidate_current(ctx, sorted(data.weather["city"].astype(str).unique()))
    return written


class LiveSimulation(Periodic):
    """Appends each new hour as real time passes (the embedded `make run`)."""

    def __init__(self, ctx: Context, n_stations: int, seed: int = 42, check_every_s: float = 60) -> None:
        super().__init__("live-simulation", check_every_s)
        self.ctx, self.n_stations, self.seed_value = ctx, n_stations, seed

    def tick(self) -> None:
        written = append_new_hours(self.ctx, self.n_stations, self.seed_value)
        if written:
            log.info("live simulation appended %d measurements", written)

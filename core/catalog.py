"""Cities and stations, cached in the stations namespace (they change only on import or seeding); names from
outside are checked against them before anything is computed or cached."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from core.context import Context
from core.db import queries
from core.db.models import Measurement


class UnknownCity(LookupError):
    """A city name the catalogue does not have; the message names it."""


class UnknownStation(LookupError):
    """A station id the catalogue does not have; the message names it."""


def load_cities(ctx: Context) -> list[dict]:
    with ctx.session() as session:
        return queries.cities(session)


def load_stations(ctx: Context, city: str | None = None) -> list[dict]:
    with ctx.session() as session:
        return queries.stations(session, city=city)


def cities(ctx: Context) -> list[dict]:
    return ctx.cache.get_or_compute("stations", ("cities",), lambda: load_cities(ctx))


def check_city(ctx: Context, city: str | None) -> str | None:
    """The city itself (None: all cities); UnknownCity when the catalogue has no city of that name."""
    if city is not None and all(c["name"] != city for c in cities(ctx)):
        raise UnknownCity(f"no city named {city!r}")
    return city


def stations(ctx: Context, city: str | None = None) -> list[dict]:
    """Active and inactive stations of a city (None: all); UnknownCity for a name the catalogue lacks."""
    check_city(ctx, city)
    return ctx.cache.get_or_compute("stations", ("stations", city), lambda: load_stations(ctx, city))


def station(ctx: Context, station_id: int) -> dict:
    """One station of the catalogue; UnknownStation when there is none with that id."""
    found = next((s for s in stations(ctx) if s["id"] == station_id), None)
    if found is None:
        raise UnknownStation(f"no station with id {station_id}")
    return found


def first_hour(ctx: Context) -> datetime | None:
    """The oldest hour with any measurement: past hours before it have nothing to show or cache."""
    def load() -> datetime | None:
        with ctx.session() as session:
            ts = session.execute(select(func.min(Measurement.ts))).scalar_one_or_none()
        return queries.utc(ts) if ts else None
    return ctx.cache.get_or_compute("stations", ("first_hour",), load)


def invalidate(ctx: Context) -> None:
    """Stations, cities or older hours were added: drop every cached list."""
    names = [c["name"] for c in load_cities(ctx)]
    ctx.cache.delete("stations", ("cities",), ("first_hour",), ("stations", None),
                     *[("stations", n) for n in names])

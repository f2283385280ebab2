"""Cities and stations, cached in the stations namespace (they change only on import or seeding)."""
from __future__ import annotations

from core.context import Context
from core.db import queries


def load_cities(ctx: Context) -> list[dict]:
    with ctx.session() as session:
        return queries.cities(session)


def load_stations(ctx: Context, city: str | None = None) -> list[dict]:
    with ctx.session() as session:
        return queries.stations(session, city=city)


def cities(ctx: Context) -> list[dict]:
    return ctx.cache.get_or_compute("stations", ("cities",), lambda: load_cities(ctx))


def stations(ctx: Context, city: str | None = None) -> list[dict]:
    """Active and inactive stations of a city (None: all)."""
    return ctx.cache.get_or_compute("stations", ("stations", city), lambda: load_stations(ctx, city))


def invalidate(ctx: Context) -> None:
    """Stations or cities were added: drop every cached list."""
    names = [c["name"] for c in load_cities(ctx)]
    ctx.cache.delete("stations", ("cities",), ("stations", None), *[("stations", n) for n in names])

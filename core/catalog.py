"""Cities and stations, cached in the stations namespace (they change only on import or seeding)."""
from __future__ import annotations

from core.cache import get_cache
from core.db import queries
from core.db.engine import session as db_session


def load_cities() -> list[dict]:
    with db_session() as session:
        return queries.cities(session)


def load_stations(city: str | None = None) -> list[dict]:
    with db_session() as session:
        return queries.stations(session, city=city)


def cities() -> list[dict]:
    return get_cache().get_or_compute("stations", ("cities",), load_cities)


def stations(city: str | None = None) -> list[dict]:
    """Active and inactive stations of a city (None: all)."""
    return get_cache().get_or_compute("stations", ("stations", city), lambda: load_stations(city))


def invalidate() -> None:
    """Stations or cities were added: drop every cached list."""
    names = [c["name"] for c in load_cities()]
    get_cache().delete("stations", ("cities",), ("stations", None), *[("stations", n) for n in names])

"""Rankings by current index: a city's index (its worst reference monitor) and cities and stations, worst first."""
from __future__ import annotations

import math

from core.aqi import standards
from core.snapshots import marker_value


def city_index(stations: list[dict], pollutant: str = "aqi") -> dict | None:
    """A city's current index: the highest among its reference monitors (all stations if none report).

    Like an AirNow reporting area, the city reports its worst monitor; sensors count only without monitors.
    """
    def best(group):
        rows = [(marker_value(s, pollutant), s) for s in group]
        rows = [(v, s) for v, s in rows if v is not None and not math.isnan(v)]
        return max(rows, key=lambda r: r[0]) if rows else None
    top = best([s for s in stations if s["kind"] == "reference"]) or best(stations)
    if top is None:
        return None
    return {"value": top[0], "station": top[1]}


def rankings(snapshot: dict, standard: str, pollutant: str = "aqi") -> dict:
    """Cities and stations ordered by current index, worst first (stations without an index left out)."""
    by_city: dict[str, list[dict]] = {}
    for s in snapshot["stations"]:
        by_city.setdefault(s["city"], []).append(s)
    cities = []
    for city, group in by_city.items():
        top = city_index(group, pollutant)
        values = [v for v in (marker_value(s, pollutant) for s in group) if v is not None]
        cities.append({"city": city, "value": top["value"] if top else None,
                       "category": _category(top["value"], standard) if top else None,
                       "worst_station": top["station"]["name"] if top else None,
                       "reporting": len(values), "stations": len(group)})
    stations = [{"id": s["id"], "name": s["name"], "city": s["city"], "kind": s["kind"],
                 "value": marker_value(s, pollutant), "category": _category(marker_value(s, pollutant), standard)}
                for s in snapshot["stations"]]
    stations = [s for s in stations if s["value"] is not None]
    key = lambda r: (-(r["value"] if r["value"] is not None else -1), r.get("city", ""), r.get("name", ""))  # noqa: E731
    return {"cities": sorted(cities, key=key), "stations": sorted(stations, key=key)}


def _category(value: float | None, standard: str) -> str | None:
    position = standards.category_of(standard, value)
    return standards.category(standard, position).name if position >= 0 else None

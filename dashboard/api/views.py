"""The endpoints under /api/v1: each validates its query, asks core, and shapes the answer."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from flask import Response

from core import catalog
from core.snapshots import current
from core.aqi.calculator import AQIError, calculate
from core.aqi.engine import AVERAGING
from core.aqi import standards
from core.aqi.nowcast import REPORTED, nowcast_aqi
from core.db import queries
from core.export import csv_chunks
from core.paging import Page, page_of
from core.parameters import QUALITY_NAMES
from core.times import iso, now_hour
from dashboard.api import docs, openapi
from dashboard.api.errors import APIError, error_response
from dashboard.api.responses import CSV, GEOJSON, HTML, JSON, csv_response, feature_collection, json_response
from dashboard.api.routes import blueprint, route
from dashboard.api.schemas import (
    CalculateQuery, Calculation, CityPage, CurrentFeatureCollection, CurrentPage, CurrentQuery, MeasurementPage,
    MeasurementsQuery, NowCast, NowcastQuery, OpenAPIDocument, PageQuery, StationFeatureCollection, StationOne,
    StationPage, StationPath, StationsQuery, bbox_tuple,
)
from dashboard import context

HOUR, DAY = 3600, 86400  # max-age of answers that change only with a deployment
MAX_JSON_RANGE = timedelta(days=31)
MAX_CSV_RANGE = timedelta(days=366)
CSV_CHUNK = timedelta(days=7)  # one query per week of data: about 1,000 rows in memory at a time
CSV_COLUMNS = ("station_id", "ts", "parameter", "value", "unit", "quality")


def _page(rows: list, q: PageQuery, **meta) -> dict:
    return page_of(rows, q.page, q.limit).as_dict(**meta)


def _geojson(page: dict) -> Response:
    body = feature_collection(page, lambda row: {k: v for k, v in row.items() if k not in ("lat", "lon")})
    return json_response(body, mimetype=GEOJSON)


@route("/cities", summary="Cities with their station counts", query=PageQuery, content={JSON: CityPage},
       cache="stations", access="access_map")
def list_cities(q: PageQuery) -> dict:
    """Every city, by name."""
    return _page(catalog.cities(context.current()), q)


@route("/stations", summary="Stations, filtered", query=StationsQuery,
       content={JSON: StationPage, GEOJSON: StationFeatureCollection}, cache="stations",
       access="access_map")
def list_stations(q: StationsQuery) -> dict | Response:
    """Stations in id order, filtered by city, kind, active flag and bounding box (filters combine)."""
    with context.current().session() as session:
        query = queries.stations_query(q.city, q.kind, q.active, bbox_tuple(q.bbox))
        page = queries.paginate(session, query, q.limit, q.page).as_dict()
    return _geojson(page) if q.format == "geojson" else page


@route("/stations/{station_id}", summary="One station", path_params=StationPath, content={JSON: StationOne},
       errors=(404,), cache="stations", access="access_map")
def get_station(station_id: int) -> dict:
    """The station with this id, as /stations lists it."""
    with context.current().session() as session:
        row = queries.station(session, station_id)
    if row is None:
        raise APIError(404, "not_found", f"no station with id {station_id}")
    return {"data": row}


@route("/stations/{station_id}/measurements", summary="A station's hourly measurements",
       query=MeasurementsQuery, path_params=StationPath, errors=(400, 404), cache="current_aqi",
       access="access_map", content={JSON: MeasurementPage, CSV: {"type": "string", "description": (
           "Header row station_id,ts,parameter,value,unit,quality, then one row per hour and parameter.")}})
def station_measurements(q: MeasurementsQuery, station_id: int) -> dict | Response:
    """Hourly values in [from, to), by hour then parameter, each with its unit and quality flag.

    JSON pages cover at most 31 days. `format=csv` streams the whole range (at most 366 days) without `limit`
    or `page`: the export reads the database a week at a time, so any range costs the same memory.
    """
    with context.current().read_session() as session:  # history tolerates replica lag; cached for minutes
        if queries.station(session, station_id) is None:
            raise APIError(404, "not_found", f"no station with id {station_id}")
        end = q.end or _after_newest_hour(session)
        start = q.start or end - timedelta(hours=24)
        _check_range(q, start, end)
        if q.format == "csv":
            return csv_response(_csv_chunks(station_id, start, end, q.parameter),
                                f"station-{station_id}-{start:%Y%m%dT%H%MZ}-{end:%Y%m%dT%H%MZ}.csv")
        page = queries.measurements_page(session, station_id, start, end, q.parameter, q.limit, q.page)
    rows = [{**row, "quality": QUALITY_NAMES[row["quality"]]} for row in page.data]
    return Page(rows, page.page, page.limit, page.found).as_dict(station_id=station_id, **{"from": start, "to": end})


def _after_newest_hour(session) -> datetime:
    newest = queries.latest_hour(session) or now_hour()
    return newest + timedelta(hours=1)


def _check_range(q: MeasurementsQuery, start: datetime, end: datetime) -> None:
    if end <= start:
        raise APIError(400, "invalid_parameter", f"to: must be later than from (from {iso(start)}, to {iso(end)}; "
                                                 "to defaults to an hour after the newest data)")
    if q.format == "csv":
        paging = sorted({"limit", "page"} & q.model_fields_set)
        if paging:
            raise APIError(400, "invalid_parameter", f"{paging[0]}: not used with format=csv, which streams the "
                                                     "whole range")
        if end - start > MAX_CSV_RANGE:
            raise APIError(400, "invalid_parameter", f"from/to: a CSV export covers at most {MAX_CSV_RANGE.days} "
                                                     "days")
    elif end - start > MAX_JSON_RANGE:
        raise APIError(400, "invalid_parameter", f"from/to: JSON covers at most {MAX_JSON_RANGE.days} days; use "
                                                 f"format=csv for up to {MAX_CSV_RANGE.days} days")


def _csv_chunks(station_id: int, start: datetime, end: datetime, parameter: str | None) -> Iterator[str]:
    app = context.current()  # read now: the chunks are produced after the view has returned

    def weeks() -> Iterator[list]:
        t = start
        while t < end:
            upto = min(t + CSV_CHUNK, end)
            # A short session per chunk: a slow reader never holds a database connection.
            with app.read_session() as session:
                rows = queries.measurements(session, station_id, t, upto, parameter)
            yield [(station_id, iso(ts), p, value, unit, QUALITY_NAMES[quality]) for ts, p, value, unit, quality in rows]
            t = upto
    return csv_chunks(CSV_COLUMNS, weeks())


@route("/aqi/current", summary="Current AQI of every station, overall and per pollutant", query=CurrentQuery,
       content={JSON: CurrentPage, GEOJSON: CurrentFeatureCollection}, errors=(400, 404), cache="current_aqi",
       access="access_map", reuse=True)
def aqi_current(q: CurrentQuery) -> dict | Response:
    """Each active station's index for the newest hour under `standard`, in a city and/or a bounding box.

    US EPA reads PM and ozone as NowCast, like AirNow; `meta.averaging` says how each pollutant's concentration
    is formed. EEA gives levels 1–6 (`level`), not an index.
    """
    if q.city is not None and all(c["name"] != q.city for c in catalog.cities(context.current())):
        raise APIError(404, "not_found", f"no city named '{q.city}'")
    snapshot = current(context.current(), q.standard, q.city)
    bbox = bbox_tuple(q.bbox)
    rows = [r for r in snapshot["stations"] if bbox is None or _inside(r, bbox)]
    page = _page(rows, q, as_of=snapshot["as_of"], standard=q.standard, averaging=AVERAGING[q.standard])
    page["data"] = [_current_row(row, q.standard) for row in page["data"]]
    return _geojson(page) if q.format == "geojson" else page


def _inside(row: dict, bbox: tuple[float, float, float, float]) -> bool:
    min_lon, min_lat, max_lon, max_lat = bbox
    return min_lon <= row["lon"] <= max_lon and min_lat <= row["lat"] <= max_lat


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def _current_row(row: dict, standard: str) -> dict:
    """Indices as integers; EEA has levels, not an index number: name them as /aqi/calculate does."""
    key = "level" if standard == "eea" else "sub_index"
    pollutants = {p: {"concentration": r["concentration"], "unit": r["unit"], key: _whole(r["sub_index"])}
                  for p, r in row["pollutants"].items()}
    overall = {"aqi": None, "level": _whole(row["aqi"])} if standard == "eea" else {"aqi": _whole(row["aqi"])}
    return {**row, **overall, "pollutants": pollutants}


@route("/aqi/calculate", summary="Index of one concentration", query=CalculateQuery, content={JSON: Calculation},
       cache=DAY, access="access_map")
def aqi_calculate(q: CalculateQuery) -> dict:
    """The index, category, colour and health message of one concentration under a standard."""
    try:
        return calculate(q.standard, q.pollutant, q.concentration, q.unit)
    except AQIError as exc:
        raise APIError(400, "invalid_parameter", str(exc)) from None


@route("/aqi/nowcast", summary="NowCast of hourly values and its US EPA index", query=NowcastQuery,
       content={JSON: NowCast}, cache=DAY, access="access_map")
def aqi_nowcast(q: NowcastQuery) -> dict:
    """EPA NowCast for PM2.5/PM10 (12 h) or the legacy AirNow ozone NowCast (8 h), and its AQI."""
    hourly = [float(x) if x.strip() else None for x in q.hourly.split(",")]
    if any(v is not None and v < 0 for v in hourly):
        raise APIError(400, "invalid_parameter", "hourly: values must not be negative")
    result = nowcast_aqi(q.pollutant, hourly)
    body = {"pollutant": q.pollutant, "nowcast": result.value, "weight": result.weight,
            "method": "EPA NowCast (12 h)" if q.pollutant != "o3" else "legacy AirNow ozone NowCast (8 h, 2016-2019)",
            "unit": REPORTED[q.pollutant][0], "aqi": result.aqi, "category": None, "reason": result.reason}
    if result.category >= 0:
        category = standards.category("us_epa", result.category)
        body.update(category=category.name, color=category.color)
    return body


@route("/openapi.json", summary="This API's OpenAPI 3.1 document", content={JSON: OpenAPIDocument}, errors=(),
       cache=HOUR, access="public")
def openapi_document() -> dict:
    """Generated from the same pydantic models that validate the requests."""
    return openapi.document(context.settings())


@route("/docs", summary="This API's reference as a web page", content={HTML: {"type": "string"}}, errors=(),
       cache=HOUR, access="public")
def api_docs() -> Response:
    """The OpenAPI document rendered on the server: no scripts, works offline."""
    return Response(docs.render(openapi.document(context.settings())), mimetype=HTML)


@blueprint.route("/", defaults={"rest": ""})
@blueprint.route("/<path:rest>")
def not_found(rest: str) -> Response:
    # Without this, Dash would answer unknown /api paths with its HTML page and status 200.
    return error_response(404, "not_found", f"no API endpoint at /api/{rest}; see /api/v1/docs")

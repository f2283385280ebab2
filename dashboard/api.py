"""The JSON API under /api/v1: one error shape, validated parameters, paginated lists."""
from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

import orjson
from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from werkzeug.exceptions import HTTPException

from core.airquality import station_snapshot
from core.aqi.calculator import AQIError, calculate
from core.aqi.nowcast import nowcast
from core.aqi.current import current_aqi  # noqa: F401  (imported so a broken engine fails at start, not per call)
from core.db import engine as db_engine
from core.db import queries
from core.metrics import timed

blueprint = Blueprint("api", __name__, url_prefix="/api")


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> Response:
    """The one error shape: {"error": {"code", "message"}}."""
    return json_response({"error": {"code": code, "message": message}}, status)


def json_response(payload, status: int = 200) -> Response:
    body = orjson.dumps(payload, default=_default, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z)
    return Response(body, status=status, mimetype="application/json")


def _default(value):
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError


def iso(ts: datetime) -> str:
    """UTC ISO 8601 with Z."""
    return queries.utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


@blueprint.errorhandler(APIError)
def _api_error(exc: APIError):
    return error_response(exc.status, exc.code, exc.message)


@blueprint.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_response(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)


def params(model: type[BaseModel]) -> BaseModel:
    """Validate the query string against `model`; a 400 naming the parameter otherwise."""
    repeated = [name for name in request.args if len(request.args.getlist(name)) > 1]
    if repeated:
        raise APIError(400, "invalid_parameter", f"{repeated[0]}: given more than once")
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "query"
        message = err["msg"].removeprefix("Value error, ")
        raise APIError(400, "invalid_parameter", f"{name}: {message}") from None


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageQuery(Query):
    limit: int = Field(100, ge=1, le=queries.MAX_LIMIT)
    page: int = Field(1, ge=1)


class CalculateQuery(Query):
    standard: Literal["us_epa", "india_naqi", "eea"]
    pollutant: str
    concentration: float
    unit: str | None = None


class NowcastQuery(Query):
    pollutant: Literal["pm25", "pm10", "o3"]
    hourly: str

    @field_validator("hourly")
    @classmethod
    def _hours(cls, raw: str) -> str:
        items = raw.split(",")
        if len(items) > 12:
            raise ValueError("at most 12 hourly values (newest first)")
        for item in items:
            if item.strip():
                try:
                    number = float(item)
                except ValueError:
                    number = math.nan
                if not math.isfinite(number):
                    raise ValueError(f"'{item}' is not a number (leave an item empty for a missing hour)")
        return raw


class StationsQuery(PageQuery):
    city: str | None = None
    kind: Literal["reference", "low_cost"] | None = None
    active: bool | None = None
    bbox: str | None = None

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, raw: str | None) -> str | None:
        if raw is None:
            return raw
        try:
            min_lon, min_lat, max_lon, max_lat = (float(x) for x in raw.split(","))
        except ValueError:
            raise ValueError("must be minLon,minLat,maxLon,maxLat (four numbers)") from None
        if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
            raise ValueError("must be minLon,minLat,maxLon,maxLat with min <= max within -180..180 / -90..90")
        return raw


class CurrentQuery(PageQuery):
    city: str | None = None
    standard: Literal["us_epa", "india_naqi", "eea"] = "us_epa"


@blueprint.get("/v1/aqi/calculate")
@timed("api", "aqi_calculate")
def aqi_calculate():
    q = params(CalculateQuery)
    try:
        return json_response(calculate(q.standard, q.pollutant, q.concentration, q.unit))
    except AQIError as exc:
        raise APIError(400, "invalid_parameter", str(exc)) from None


@blueprint.get("/v1/aqi/nowcast")
@timed("api", "aqi_nowcast")
def aqi_nowcast():
    q = params(NowcastQuery)
    hourly = [float(x) if x.strip() else None for x in q.hourly.split(",")]
    if any(v is not None and v < 0 for v in hourly):
        raise APIError(400, "invalid_parameter", "hourly: values must not be negative")
    result = nowcast(q.pollutant, hourly)
    body = {"pollutant": q.pollutant, "nowcast": result.value, "weight": result.weight,
            "method": "EPA NowCast (12 h)" if q.pollutant != "o3" else "legacy AirNow ozone NowCast (8 h, 2016-2019)",
            "unit": "ppb" if q.pollutant == "o3" else "µg/m³", "aqi": None, "category": None, "reason": result.reason}
    if result.value is not None:
        code, value, unit = {"pm25": ("pm25_24h", result.value, "ug/m3"), "pm10": ("pm10_24h", result.value, "ug/m3"),
                             "o3": ("o3_8h", result.value, "ppb")}[q.pollutant]
        try:
            aqi = calculate("us_epa", code, value, unit)
            body.update(aqi=aqi["aqi"], category=aqi["category"], color=aqi["color"])
            if aqi.get("note"):
                body["reason"] = aqi["note"]
        except AQIError as exc:
            body["reason"] = str(exc)
    return json_response(body)


@blueprint.get("/v1/cities")
@timed("api", "cities")
def list_cities():
    q = params(PageQuery)
    with db_engine.session() as session:
        rows = queries.cities(session)
    start = (q.page - 1) * q.limit
    return json_response({"data": rows[start:start + q.limit], "meta": {"page": q.page, "limit": q.limit,
                                                                       "found": len(rows)}})


@blueprint.get("/v1/stations")
@timed("api", "stations")
def list_stations():
    q = params(StationsQuery)
    bbox = tuple(float(x) for x in q.bbox.split(",")) if q.bbox else None
    with db_engine.session() as session:
        page = queries.paginate(session, queries.stations_query(q.city, q.kind, q.active, bbox), q.limit, q.page)
    return json_response(page.as_dict())


@blueprint.get("/v1/stations/<int:station_id>")
@timed("api", "station")
def get_station(station_id: int):
    with db_engine.session() as session:
        row = queries.station(session, station_id)
    if row is None:
        raise APIError(404, "not_found", f"no station with id {station_id}")
    return json_response({"data": row})


@blueprint.get("/v1/aqi/current")
@timed("api", "aqi_current")
def aqi_current():
    q = params(CurrentQuery)
    with db_engine.session() as session:
        if q.city is not None and not any(c["name"] == q.city for c in queries.cities(session)):
            raise APIError(404, "not_found", f"no city named '{q.city}'")
        snapshot = station_snapshot(session, q.standard, city=q.city)
    rows = [_eea_levels(r) for r in snapshot["stations"]] if q.standard == "eea" else snapshot["stations"]
    start = (q.page - 1) * q.limit
    return json_response({"data": rows[start:start + q.limit],
                          "meta": {"page": q.page, "limit": q.limit, "found": len(rows),
                                   "as_of": snapshot["as_of"], "standard": q.standard}})


def _eea_levels(row: dict) -> dict:
    """EEA has levels, not an index number: name them as /aqi/calculate does."""
    pollutants = {p: {"level": v.pop("sub_index"), **v} for p, v in row["pollutants"].items()}
    return {**row, "aqi": None, "level": row["aqi"], "pollutants": pollutants}


def init_app(server) -> None:
    """Mount the API on the Flask server."""
    server.register_blueprint(blueprint)

    @server.errorhandler(405)
    def _method_not_allowed(exc):
        # Route matching fails before the API blueprint is chosen, so its own handlers never see a 405.
        return _http_error(exc) if request.path.startswith("/api/") else exc


@blueprint.route("/", defaults={"rest": ""})
@blueprint.route("/<path:rest>")
def not_found(rest: str):
    # Without this, Dash would answer unknown /api paths with its HTML page and status 200.
    return error_response(404, "not_found", f"no API endpoint at /api/{rest}")

"""Pydantic models of every query string and response body: they validate requests and generate the OpenAPI document."""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from core.aqi.calculator import POLLUTANT_CODES
from core.aqi.standards import StandardCode
from core.db.queries import MAX_LIMIT
from core.times import utc

Standard = StandardCode
Pollutant = Literal["pm25", "pm10", "o3", "no2", "so2", "co"]
MAX_PAGE = 1_000_000  # keeps the offset (page - 1) × limit a sane database integer
MAX_STATION_ID = 2**31 - 1  # the id column is a 32-bit integer
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)
TIME = "UTC ISO 8601 with Z"
MAX_PARAMETER_LENGTH = 200  # longer than any valid value (a bbox, 12 hourly values); checked before any pattern
# The grammar of the list parameters, checked by the validators and stated in the document as the same pattern.
# Each digit can belong to one place only (no "[0-9]+[0-9]*"), so a failing match never backtracks.
NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
BBOX_PATTERN = rf"^ *{NUMBER} *(?:, *{NUMBER} *){{3}}$"
HOURLY_PATTERN = rf"^ *(?:{NUMBER})? *(?:, *(?:{NUMBER})? *){{0,11}}$"


# --------------------------------------------------------------------------- query strings


class Query(BaseModel):
    """Base of every query model: unknown parameters are a 400, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if len(value) > MAX_PARAMETER_LENGTH:
                raise ValueError(f"at most {MAX_PARAMETER_LENGTH} characters")
            # PostgreSQL refuses NUL in text: say so as a 400 rather than fail in the driver.
            if "\x00" in value:
                raise ValueError("must not contain NUL characters")
        return value


class PageQuery(Query):
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description=f"Rows per page, 1 to {MAX_LIMIT} (more is a 400).")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1.")


def _bbox(raw: str | None) -> str | None:
    if raw is None:
        return raw
    if not re.fullmatch(BBOX_PATTERN, raw):
        raise ValueError("must be minLon,minLat,maxLon,maxLat (four numbers)")
    min_lon, min_lat, max_lon, max_lat = (float(x) for x in raw.split(","))
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValueError("must be minLon,minLat,maxLon,maxLat with min <= max within -180..180 / -90..90")
    return raw


def bbox_tuple(raw: str | None) -> tuple[float, float, float, float] | None:
    """A validated bbox parameter as (min_lon, min_lat, max_lon, max_lat)."""
    return tuple(float(x) for x in raw.split(",")) if raw else None


BBOX = Field(None, description="minLon,minLat,maxLon,maxLat in degrees (WGS 84); edges included.",
             json_schema_extra={"pattern": BBOX_PATTERN, "examples": ["76.5,28.0,77.8,29.2"]})


class StationsQuery(PageQuery):
    city: str | None = Field(None, description="City name, exactly as /cities lists it.")
    kind: Literal["reference", "low_cost"] | None = Field(None, description="Reference monitor or low-cost sensor.")
    active: bool | None = Field(None, description="Only active (true) or inactive (false) stations.")
    bbox: str | None = BBOX
    format: Literal["json", "geojson"] = Field("json", description="geojson: a FeatureCollection of points.")

    _check_bbox = field_validator("bbox")(_bbox)


class CurrentQuery(PageQuery):
    city: str | None = Field(None, description="City name; unknown names are a 404.")
    bbox: str | None = BBOX
    standard: Standard = Field("us_epa", description="AQI standard.")
    format: Literal["json", "geojson"] = Field("json", description="geojson: a FeatureCollection of points.")

    _check_bbox = field_validator("bbox")(_bbox)


class StationPath(Query):
    station_id: int = Field(ge=1, le=MAX_STATION_ID, description="Station id, as /stations lists it.")

    @field_validator("station_id", mode="before")
    @classmethod
    def _digits(cls, raw: Any) -> Any:
        # Only the canonical form names a station: not 1.0, +1 or 1_0, which int() would also take.
        if isinstance(raw, str) and not re.fullmatch(r"[0-9]+", raw):
            raise ValueError("must be a whole number written with digits only")
        return raw


def _utc(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        # fromisoformat takes ISO 8601 with Z or an offset; upper() also admits RFC 3339's lower-case t and z.
        parsed = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        raise ValueError(f"'{value}' is not an ISO 8601 time such as 2026-11-20T12:00:00Z") from None
    try:
        parsed = utc(parsed)
    except OverflowError:  # an offset pushing year 1 or 9999 out of range
        parsed = None
    if parsed is None or not EARLIEST <= parsed < LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
    return parsed


class MeasurementsQuery(PageQuery):
    parameter: Pollutant | None = Field(None, description="One pollutant; all six when absent.")
    start: datetime | None = Field(None, alias="from", description=(
        "Start, inclusive: ISO 8601 with Z or an offset (no offset = UTC). Default: `to` minus 24 hours."))
    end: datetime | None = Field(None, alias="to", description=(
        "End, exclusive; after `from`. Default: one hour after the newest measurement in the database."))
    format: Literal["json", "csv"] = Field("json", description=(
        "json: pages of at most 31 days of data. csv: the whole range streamed (up to 366 days; "
        "`limit` and `page` do not apply)."))

    _check_times = field_validator("start", "end", mode="before")(_utc)


class CalculateQuery(Query):
    standard: Standard = Field(description="AQI standard.")
    # A plain string, so that core names a code the standard lacks; the document still lists every code.
    pollutant: str = Field(description="Pollutant and averaging period, e.g. pm25_24h, o3_8h, no2_1h; each standard "
                                       "defines its own set.",
                           json_schema_extra={"enum": list(dict.fromkeys(c for cs in POLLUTANT_CODES.values()
                                                                         for c in cs))})
    concentration: float = Field(description="Concentration, in `unit`.")
    unit: str | None = Field(None, description=(
        "µg/m³ (ug/m3), mg/m³, ppb or ppm; default the standard's own for the pollutant. Gases convert at 25 °C."))


class NowcastQuery(Query):
    pollutant: Literal["pm25", "pm10", "o3"] = Field(description="pm25/pm10 in µg/m³ (12 h), o3 in ppb (8 h).")
    hourly: str = Field(description="Up to 12 hourly values, newest first, comma-separated; an empty item is a "
                                    "missing hour.",
                        json_schema_extra={"examples": ["50,45,,40"], "pattern": HOURLY_PATTERN})

    @field_validator("hourly")
    @classmethod
    def _hours(cls, raw: str) -> str:
        items = raw.split(",")
        if len(items) > 12:
            raise ValueError("at most 12 hourly values (newest first)")
        for item in items:
            if item.strip() and not (re.fullmatch(NUMBER, item.strip()) and math.isfinite(float(item))):
                raise ValueError(f"'{item}' is not a number (leave an item empty for a missing hour)")
        return raw


# --------------------------------------------------------------------------- responses


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Body):
    code: str = Field(description="invalid_parameter, not_found, method_not_allowed, rate_limited…")
    message: str = Field(description="What was wrong, naming the parameter and what is allowed.")


class ErrorResponse(Body):
    error: ErrorDetail


class Meta(Body):
    page: int
    limit: int
    found: int = Field(description="All rows matching the query, over every page.")


class City(Body):
    id: int
    name: str
    country: str
    timezone: str = Field(description="IANA time zone name.")
    lat: float
    lon: float
    stations: int = Field(description="Number of stations in the city.")


class CityPage(Body):
    data: list[City]
    meta: Meta


class StationProperties(Body):
    id: int
    code: str
    name: str
    city_id: int
    city: str
    timezone: str
    kind: Literal["reference", "low_cost"]
    source: str = Field(description="simulator, openaq or airnow.")
    active: bool


class Station(StationProperties):
    lat: float | None = Field(description="Degrees north; null when the source gave no coordinates.")
    lon: float | None = Field(description="Degrees east; null when the source gave no coordinates.")


class StationPage(Body):
    data: list[Station]
    meta: Meta


class StationOne(Body):
    data: Station


class Point(Body):
    type: Literal["Point"]
    coordinates: tuple[float, float] = Field(description="[longitude, latitude] (GeoJSON order).")


class StationFeature(Body):
    type: Literal["Feature"]
    id: int
    geometry: Point | None = Field(description="null when the station has no coordinates.")
    properties: StationProperties


class StationFeatureCollection(Body):
    type: Literal["FeatureCollection"]
    features: list[StationFeature]
    meta: Meta


class Reading(Body):
    concentration: float = Field(description="The value the standard reads (NowCast, mean or hour), in `unit`.")
    unit: str
    sub_index: int | None = Field(None, description="US EPA and India: this pollutant's index.")
    level: int | None = Field(None, description="EEA: this pollutant's level, 1 (good) to 6.")


class CurrentProperties(Body):
    id: int
    code: str
    name: str
    city: str
    timezone: str
    kind: Literal["reference", "low_cost"]
    aqi: int | None = Field(description="Overall index (highest sub-index); null for EEA or without an index.")
    level: int | None = Field(None, description="EEA only: the overall level, 1 to 6.")
    category: str | None
    color: str = Field(description="#RRGGBB of the category (#9E9E9E without one).")
    health_message: str | None
    main_pollutant: str | None
    reason: str | None = Field(description="Why there is no index, when there is none.")
    pollutants: dict[str, Reading] = Field(description="Per pollutant: concentration, unit, sub-index or level.")
    reported_hours: int = Field(description="Pollutants reported in the current hour.")
    age_hours: int | None = Field(description="Hours between the station's newest reading and `as_of` (null: none "
                                              "in the last 24 h); the map greys stations older than 3 h.")


class CurrentStation(CurrentProperties):
    lat: float
    lon: float


class CurrentMeta(Meta):
    as_of: datetime | None = Field(description=f"The hour the index is for ({TIME}); null without data.")
    standard: Standard
    averaging: dict[str, str] = Field(description="Per pollutant: how the standard forms the concentration.")


class CurrentPage(Body):
    data: list[CurrentStation]
    meta: CurrentMeta


class CurrentFeature(Body):
    type: Literal["Feature"]
    id: int
    geometry: Point
    properties: CurrentProperties


class CurrentFeatureCollection(Body):
    type: Literal["FeatureCollection"]
    features: list[CurrentFeature]
    meta: CurrentMeta


class Measurement(Body):
    ts: datetime = Field(description=f"Start of the hour ({TIME}).")
    parameter: Pollutant
    value: float
    unit: str = Field(description="µg/m³ for PM, ppb for O3/NO2/SO2, ppm for CO.")
    quality: Literal["valid", "suspect", "invalid"]


class MeasurementMeta(Meta):
    station_id: int
    start: datetime = Field(alias="from", description=f"Start of the range, inclusive ({TIME}).")
    end: datetime = Field(alias="to", description=f"End of the range, exclusive ({TIME}).")


class MeasurementPage(Body):
    data: list[Measurement]
    meta: MeasurementMeta


class Calculation(Body):
    standard: Standard
    pollutant: str
    concentration: float
    unit: str
    aqi: int | None = Field(description="The index; null for EEA (see level) or beyond the table.")
    level: int | None = Field(None, description="EEA only: level 1 to 6.")
    category: str
    color: str
    health_message: str
    sensitive_groups: str | None
    cautionary_statement: str | None = Field(None, description="US EPA only.")
    note: str | None = Field(None, description="Why there is no index, when the rules give none.")


class NowCast(Body):
    pollutant: Literal["pm25", "pm10", "o3"]
    nowcast: float | None = Field(description="The NowCast, in `unit`; null without 2 of the 3 newest hours.")
    weight: float | None
    method: str
    unit: str
    aqi: int | None = Field(description="US EPA index of the NowCast.")
    category: str | None
    color: str | None = None
    reason: str | None


class OpenAPIDocument(RootModel[dict[str, Any]]):
    """This document."""

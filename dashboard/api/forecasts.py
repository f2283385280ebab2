"""GET /api/v1/stations/{id}/forecast: hourly quantiles from the in-process predictor."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.forecast import ModelUnavailable
from dashboard.api.errors import APIError, without_paths
from dashboard.api.responses import JSON
from dashboard.api.routes import route
from dashboard.api.schemas import Body, Query, StationPath
from dashboard import context


class ForecastQuery(Query):
    parameter: Literal["pm25", "o3"] = Field("pm25", description="PM2.5 (µg/m³) or ozone (ppb).")
    hours: int = Field(72, ge=1, le=72, description="How many hours ahead, 1 to 72.")


class ForecastHour(Body):
    time: str = Field(description="UTC hour the value is for (ISO 8601, Z).")
    p10: float
    p50: float
    p90: float
    aqi: int | None = Field(description="US EPA index of p50 (PM2.5: the 24-h table; O3: the 8-h table).")
    category: str | None


class ForecastMeta(Body):
    station_id: int
    parameter: str
    unit: str
    model_version: str | None
    issued_at: str = Field(description="The hour of the newest observation the forecast starts from (UTC).")


class ForecastResponse(Body):
    data: list[ForecastHour]
    meta: ForecastMeta


@route("/stations/{station_id}/forecast", summary="A station's hourly forecast: p10, p50, p90 and the AQI of p50",
       query=ForecastQuery, path_params=StationPath, content={JSON: ForecastResponse}, cache="forecast",
       errors=(400, 404, 503), access="access_forecast")
def station_forecast(q: ForecastQuery, station_id: int) -> dict:
    """Read from the stored hourly batch; forecast on demand when the stored issue is older than the data."""
    from core.forecast.service import forecast_for_station

    try:
        result = forecast_for_station(context.current(), station_id, q.parameter, q.hours)
    except ModelUnavailable as exc:
        raise APIError(503, "model_unavailable", without_paths(str(exc))) from None
    except LookupError as exc:
        raise APIError(404, "not_found", str(exc)) from None
    meta = {k: result[k] for k in ("station_id", "parameter", "unit", "model_version", "issued_at")}
    return {"data": result["data"], "meta": meta}

"""/export/…: the map's selection as a streamed CSV download, and a city's IDW surface as a PNG overlay."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Response, request, stream_with_context

from core import export
from core.aqi import standards
from core.aqi.engine import categories
from core.db import queries
from core.interpolation import surfaces
from core.times import now, parse_iso
from dashboard import context
from dashboard.figures import LABELS, STANDARDS
from dashboard.surface_image import surface_png

blueprint = Blueprint("export", __name__, url_prefix="/export")


def parse_time(raw: str | None, name: str) -> datetime | None:
    """ISO 8601; a value without a zone is UTC (what the map's URL carries)."""
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise export.ExportError(f"{name} is not an ISO 8601 time: {raw!r}") from None


@blueprint.get("/measurements.csv")
def measurements_csv() -> Response:
    """Query: station=<id> or city=<name>, pollutants=pm25,o3 (default all), start, end (default the last 72 h)."""
    try:
        station = request.args.get("station")
        if station is not None and not station.isdigit():
            raise export.ExportError(f"station must be a number, not {station!r}")
        end = parse_time(request.args.get("end"), "end")
        if end is None:
            with context.current().session() as session:
                latest = queries.latest_hour(session) or now()
            end = latest + timedelta(hours=1)
        start = parse_time(request.args.get("start"), "start") or end - timedelta(hours=72)
        pollutants = [p for p in request.args.get("pollutants", "").split(",") if p]
        sel = export.selection(context.current(), int(station) if station else None, request.args.get("city") or None,
                               pollutants, start, end)
    except export.ExportError as exc:
        return Response(f"Cannot export: {exc}\n", status=400, mimetype="text/plain")
    response = Response(stream_with_context(export.csv_lines(context.current(), sel)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{sel.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/surface.png")
def surface_image() -> Response:
    """One city's IDW surface as a PNG overlay (same origin, so the map's CSP lets MapLibre fetch it).

    Query: city, standard, pollutant, hour (ISO; absent: newest), palette (standard|cvd), scope (the map's city
    filter, so the map and the image share one cached snapshot).
    """
    city, standard = request.args.get("city", ""), request.args.get("standard", "")
    pollutant, palette = request.args.get("pollutant", "aqi"), request.args.get("palette", "standard")
    if standard not in STANDARDS or pollutant not in LABELS or palette not in ("standard", "cvd"):
        return Response("Cannot draw: unknown standard, pollutant or palette\n", status=400, mimetype="text/plain")
    try:
        hour = parse_time(request.args.get("hour"), "hour")
    except export.ExportError as exc:
        return Response(f"Cannot draw: {exc}\n", status=400, mimetype="text/plain")
    surface = surfaces(context.current(), standard, request.args.get("scope") or None, hour, pollutant).get(city)
    if surface is None:
        return Response("No surface for that city and hour\n", status=404, mimetype="text/plain")
    cats = categories(standard, palette if palette in standards.standard(standard).palettes else "standard")
    response = Response(surface_png(surface, cats), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response

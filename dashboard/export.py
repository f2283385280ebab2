"""/export/…: the map's selection as a streamed CSV download."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

from flask import Blueprint, Flask, Response, current_app, request, stream_with_context

from core import export
from core.db import queries
from core.times import now, parse_iso
from dashboard import context

blueprint = Blueprint("export", __name__, url_prefix="/export")
SLOTS = "export_slots"
BUSY_RETRY_AFTER_S = 10


def init_app(server: Flask) -> None:
    """Mount /export/… with the CSV's own rate limit and a cap on the exports streaming at once."""
    settings = server.extensions["aqi"].settings
    server.register_blueprint(blueprint)
    # Per process: each export streams for as long as its client reads, so a few slow readers are enough.
    server.extensions[SLOTS] = threading.BoundedSemaphore(settings.export_concurrency)
    endpoint = f"{blueprint.name}.{measurements_csv.__name__}"
    limiter = server.extensions["api_limiter"]
    server.view_functions[endpoint] = limiter.limit(settings.export_rate_limit)(server.view_functions[endpoint])


def _plain(message: str, status: int) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


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
            with context.current().read_session() as session:  # the export itself reads the replica
                latest = queries.latest_hour(session) or now()
            end = latest + timedelta(hours=1)
        start = parse_time(request.args.get("start"), "start") or end - timedelta(hours=72)
        pollutants = [p for p in request.args.get("pollutants", "").split(",") if p]
        sel = export.selection(context.current(), int(station) if station else None, request.args.get("city") or None,
                               pollutants, start, end)
    except export.ExportError as exc:
        return _plain(f"Cannot export: {exc}", 400)
    except LookupError as exc:  # catalog.UnknownCity, catalog.UnknownStation
        return _plain(f"Cannot export: {exc.args[0]}", 404)
    slots = current_app.extensions[SLOTS]
    if not slots.acquire(blocking=False):
        response = _plain("Too many exports are running; try again shortly.", 503)
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
        return response
    response = Response(stream_with_context(export.csv_lines(context.current(), sel)), mimetype="text/csv")
    response.call_on_close(slots.release)  # when the download ends, however it ends
    response.headers["Content-Disposition"] = f'attachment; filename="{sel.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response

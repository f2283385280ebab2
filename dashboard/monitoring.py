"""Every API request and Dash callback timed into the metrics store; /metrics for Prometheus."""
from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest, multiprocess

from core.db.engine import pool_status
from core.metrics import METRICS
from dashboard import context

blueprint = Blueprint("monitoring", __name__)
POOL_REPORT_EVERY_S = 2.0
PROM_POOL = Gauge("aqi_db_pool_connections", "Database pool connections by state", ["state"],
                  multiprocess_mode="livesum")
_last_pool_report = 0.0


def init_app(server: Flask) -> None:
    server.register_blueprint(blueprint)
    server.before_request(_start)
    server.after_request(_record)


def _start() -> None:
    g.started = time.perf_counter()


def callback_name(payload: dict | None) -> str:
    """The outputs a Dash callback request updates, e.g. 'map-graph.figure,map-legend.children'."""
    output = (payload or {}).get("output", "?")
    return ",".join(part for part in output.strip(".").split("...") if part)


def _record(response: Response) -> Response:
    started = g.pop("started", None)
    if started is None:
        return response
    ms = (time.perf_counter() - started) * 1000
    error = response.status_code >= 500
    if request.path.startswith("/api/"):
        rule = request.url_rule.rule if request.url_rule else "unmatched"
        METRICS.record("api", f"{request.method} {rule}", ms, error)
    elif request.path == "/_dash-update-component":
        METRICS.record("callback", callback_name(request.get_json(silent=True)), ms, error)
    _report_pool()
    return response


def _report_pool() -> None:
    global _last_pool_report
    now = time.monotonic()
    if now - _last_pool_report < POOL_REPORT_EVERY_S:
        return
    _last_pool_report = now
    status = pool_status(context.current().engine)
    METRICS.sink.put_gauge("db_pool", status)
    for state in ("checked_out", "size", "overflow"):
        PROM_POOL.labels(state).set(status[state])


@blueprint.get("/metrics")
def prometheus_metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # gunicorn: merge every worker's samples
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

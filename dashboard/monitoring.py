"""Every API request and Dash callback timed into the metrics store; /metrics for Prometheus (internal
addresses or a bearer token)."""
from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Container

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest, multiprocess

from core.db.engine import pool_status
from core.metrics import METRICS
from dashboard import context

blueprint = Blueprint("monitoring", __name__)
POOL_REPORT_EVERY_S = 2.0
PROM_POOL = Gauge("aqi_db_pool_connections", "Database pool connections by state", ["state"],
                  multiprocess_mode="livesum")
_last_pool_report = 0.0
CALLBACKS = "aqi_callbacks"  # server.extensions key: a function giving the app's callback map
UNKNOWN = "unknown"


def init_app(server: Flask) -> None:
    server.register_blueprint(blueprint)
    server.before_request(_start)
    server.after_request(_record)


def track_callbacks(server: Flask, callback_map: Callable[[], Container[str]]) -> None:
    """Time Dash callbacks under their own names only when `callback_map()` has them (the rest as UNKNOWN)."""
    server.extensions[CALLBACKS] = callback_map


def _start() -> None:
    g.started = time.perf_counter()


def callback_name(payload: dict | None, known: Container[str]) -> str:
    """The outputs a Dash callback request updates, e.g. 'map-graph.figure,map-legend.children'; UNKNOWN for an
    output no callback of the app has (the client chooses the string: it must not choose metric names)."""
    output = payload.get("output") if isinstance(payload, dict) else None
    if not isinstance(output, str) or output not in known:
        return UNKNOWN
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
        known = current_app.extensions.get(CALLBACKS, lambda: ())()
        # A body over MAX_CONTENT_LENGTH cannot be read again here (it was refused): name it unknown.
        payload = request.get_json(silent=True) if response.status_code != 413 else None
        METRICS.record("callback", callback_name(payload, known), ms, error)
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


def may_read_metrics() -> bool:
    """The bearer token (settings.metrics_token), or an address in settings.metrics_allow."""
    settings = context.settings()
    auth = request.headers.get("Authorization", "")
    if settings.metrics_token and auth.startswith("Bearer "):
        return hmac.compare_digest(auth.removeprefix("Bearer ").encode(), settings.metrics_token.encode())
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net.strip(), strict=False)
               for net in settings.metrics_allow.split(",") if net.strip())


@blueprint.get("/metrics")
def prometheus_metrics() -> Response:
    """Prometheus text, for internal addresses or the bearer token (timer names reveal the app's layout)."""
    if not may_read_metrics():
        response = Response("Forbidden: /metrics needs an internal address or the metrics bearer token\n",
                            status=403, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = "Bearer"
        response.headers["Cache-Control"] = "no-store"
        return response
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # gunicorn: merge every worker's samples
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

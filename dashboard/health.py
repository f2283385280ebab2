"""/healthz (process alive) and /readyz (each dependency reported)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from core import readiness
from core.feeds import freshness
from dashboard import context
from dashboard.api.errors import without_paths

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    ctx = context.current()
    model = readiness.model(ctx.models)
    # The cache's own client: a probe polled every few seconds must not open a Redis connection each time.
    checks = {"database": readiness.database(ctx.engine), "cache": ctx.cache.ping(),
              "model": {**model, "message": without_paths(model["message"])}}
    if checks["database"]["status"] == "ok":
        checks["feeds"] = readiness.feeds(freshness(ctx.engine), ctx.settings.feed_lag_warn_h)
    # Without a model or with a late feed the maps, API and panel still work: degraded, but stay in the pool.
    ready = checks["database"]["status"] == "ok" and checks["cache"]["status"] == "ok"
    healthy = all(checks[name]["status"] == "ok" for name in ("model", "feeds") if name in checks)
    status = "unavailable" if not ready else "ok" if healthy else "degraded"
    return jsonify(status=status, checks=checks), 200 if ready else 503

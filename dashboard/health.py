"""/healthz (process alive) and /readyz (each dependency reported)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from core import readiness
from core.db.engine import get_engine

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    settings = current_app.config["AQI_SETTINGS"]
    checks = {"database": readiness.database(get_engine()), "cache": readiness.cache(settings.redis_url),
              "model": readiness.model()}
    # Without a model the maps, API and panel still work: report it as degraded, but stay in the pool.
    ready = checks["database"]["status"] == "ok" and checks["cache"]["status"] == "ok"
    status = "unavailable" if not ready else "ok" if checks["model"]["status"] == "ok" else "degraded"
    return jsonify(status=status, checks=checks), 200 if ready else 503

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
    checks = {"database": readiness.database(get_engine()), "cache": readiness.cache(settings.redis_url)}
    ready = all(c["status"] == "ok" for c in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503

"""/healthz (process alive) and /readyz (each dependency reported)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from core.db.engine import get_engine
from core.db.migrate import current_revision

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    checks = {}
    try:
        engine = get_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"status": "ok", "dialect": engine.dialect.name, "revision": current_revision(engine)}
    except Exception as exc:  # report, never raise: this endpoint exists to say what is down
        checks["database"] = {"status": "down", "error": type(exc).__name__}
    ready = all(c["status"] == "ok" for c in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503

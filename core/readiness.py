"""Readiness checks of each dependency, reported without raising."""
from __future__ import annotations

from sqlalchemy import Engine, text

from core.db.migrate import current_revision
from core.forecast import ModelSlot


def database(engine: Engine) -> dict:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "dialect": engine.dialect.name, "revision": current_revision(engine)}
    except Exception as exc:  # this check exists to say what is down, not to fail
        return {"status": "down", "error": type(exc).__name__}


def model(models: ModelSlot) -> dict:
    """The forecast model: ok, missing or corrupt (the rest of the app works without it)."""
    status = models.status()
    return {"status": "ok" if status["status"] == "ok" else "down", "model": status["status"],
            "version": status["version"], "message": status["message"]}


def feeds(freshness: list[dict], stale_after_h: float) -> dict:
    """Live sources (core.feeds.freshness): "stale" names those whose newest hour is older than stale_after_h."""
    stale = [f["source"] for f in freshness if f["age_hours"] is None or f["age_hours"] > stale_after_h]
    return {"status": "down" if stale else "ok", "sources": {f["source"]: None if f["age_hours"] is None
                                                              else round(f["age_hours"], 1) for f in freshness},
            "stale": stale}

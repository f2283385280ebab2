"""The jobs an admin can run."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from core.db.engine import server_settings_report, session_settings_report


@dataclass(frozen=True)
class Job:
    name: str
    title: str
    description: str
    run: Callable  # (Context) -> summary dict


def _indexes(ctx) -> dict:
    from core.db.indexes import ensure_indexes

    return ensure_indexes(ctx.engine, progress=ctx.progress)


def _warm(ctx) -> dict:
    from core.warmup import warm_cache

    return {"namespaces": warm_cache(progress=lambda done, total: ctx.progress(done, total, "warming"))}


def _db_settings(ctx) -> dict:
    ctx.progress(0.5, 1, "reading settings")
    server = server_settings_report(ctx.engine)
    return {"dialect": ctx.engine.dialect.name, "session": session_settings_report(ctx.engine), "server": server,
            "needs_restart": [s["name"] for s in server if s["applies"] == "restart" and s["actual"] != s["recommended"]]}


def _retrain(ctx) -> dict:
    from core.forecast import predictor, training
    from core.settings import get_settings

    settings = get_settings()
    card = training.train_and_save(ctx.engine, predictor.model_dir(settings), settings.forecast_train_days,
                                   settings.forecast_epochs,
                                   progress=lambda step, total, loss: ctx.progress(step, total, f"loss {loss:.4f}"))
    # Every worker compares the model files' stamp on each use and loads the new version: no restart.
    return {"version": card["version"], "beats_baselines": card["metrics"]["beats_baselines"],
            "data_range": card["data_range"]}


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("indexes", "Ensure indexes", "Create the indexes the queries need (online), ANALYZE, and time the key "
        "queries before and after.", _indexes),
    Job("warm_cache", "Warm cache", "Recompute cities, stations and current AQI of every city and standard.", _warm),
    Job("db_settings", "Database settings check", "Per-session settings in force; server settings vs "
        "recommended, and which need a restart.", _db_settings),
    Job("retrain", "Retrain model", "Train the forecast model on the newest data; every worker switches to the "
        "new version without a restart.", _retrain),
)}

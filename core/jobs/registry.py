"""The jobs an admin can run, and the schedule runs (each run is a row in the job history)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core import catalog, feeds
from core.db.engine import server_settings_report, session_settings_report
from core.db.indexes import ensure_indexes
from core.forecast import service, training
from core.snapshots import invalidate_current
from core.warmup import warm_cache


@dataclass(frozen=True)
class Job:
    name: str
    title: str
    description: str
    run: Callable  # (JobContext) -> summary dict


def _indexes(ctx) -> dict:
    return ensure_indexes(ctx.engine, progress=ctx.progress)


def _warm(ctx) -> dict:
    return {"namespaces": warm_cache(ctx.app, progress=lambda done, total: ctx.progress(done, total, "warming"))}


def _db_settings(ctx) -> dict:
    ctx.progress(0.5, 1, "reading settings")
    server = server_settings_report(ctx.engine)
    return {"dialect": ctx.engine.dialect.name, "session": session_settings_report(ctx.engine, ctx.app.settings), "server": server,
            "needs_restart": [s["name"] for s in server if s["applies"] == "restart" and s["actual"] != s["recommended"]]}


def _retrain(ctx) -> dict:
    settings = ctx.app.settings
    card = training.train_and_save(ctx.engine, ctx.app.models.directory, settings.forecast_train_days,
                                   settings.forecast_epochs,
                                   progress=lambda step, total, loss: ctx.progress(step, total, f"loss {loss:.4f}"))
    # Every worker compares the model files' stamp on each use and loads the new version: no restart.
    return {"version": card["version"], "beats_best_baseline": card["metrics"]["beats_best_baseline"],
            "data_range": card["data_range"]}


def configured_feeds(settings) -> list[str]:
    """The sources the schedule fetches (settings.feeds), each checked against the known ones."""
    names = [name.strip() for name in settings.feeds.split(",") if name.strip()]
    unknown = [name for name in names if name not in feeds.SOURCES]
    if unknown:
        raise ValueError(f"unknown feed(s) in AQI_FEEDS: {', '.join(unknown)}; known: {', '.join(feeds.SOURCES)}")
    return names


def fetch_and_invalidate(ctx, source: str, start=None, end=None) -> feeds.FetchReport:
    """One feed run, then drop the cached lists and current AQI it made stale."""
    report = feeds.fetch(ctx.engine, ctx.settings, source, start, end)
    if report.stations_new or report.rows:
        catalog.invalidate(ctx)
        invalidate_current(ctx, sorted(report.cities))
    return report


def _fetch_feeds(job) -> dict:
    """Every configured source in turn; one failing source does not stop the others."""
    sources = configured_feeds(job.app.settings)
    out, failed = {}, []
    for done, source in enumerate(sources):
        job.progress(done, len(sources), f"fetching {source}")
        try:
            report = fetch_and_invalidate(job.app, source)
            out[source] = {"rows": report.rows, "hours": report.hours, "requests": report.requests,
                           "newest_hour": report.newest_hour, "errors": report.errors[:5]}
        except (feeds.FeedError, OSError, ValueError) as exc:
            out[source] = {"error": str(exc)[:300]}
            failed.append(source)
    if failed:
        raise RuntimeError(f"feed(s) failed: {', '.join(failed)}; " + "; ".join(out[s]["error"] for s in failed))
    return out


def _forecast_batch(job) -> dict:
    job.progress(0, 1, "forecasting")
    return service.run_batch(job.app)


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("indexes", "Ensure indexes", "Create the indexes the queries need (online), ANALYZE, and time the key "
        "queries before and after.", _indexes),
    Job("warm_cache", "Warm cache", "Recompute cities, stations and current AQI of every city and standard.", _warm),
    Job("db_settings", "Database settings check", "Per-session settings in force; server settings vs "
        "recommended, and which need a restart.", _db_settings),
    Job("fetch_feeds", "Fetch live feeds", "Fetch the configured sources (AQI_FEEDS) from their cursors; AirNow "
        "files re-read the last two days for revisions.", _fetch_feeds),
    Job("forecast_batch", "Forecast batch", "Forecast every active station from the newest hour.", _forecast_batch),
    Job("retrain", "Retrain model", "Train the forecast model on the newest data; every worker switches to the "
        "new version without a restart.", _retrain),
)}

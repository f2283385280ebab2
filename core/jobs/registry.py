"""The jobs an admin can run, and the schedule runs (each run is a row in the job history)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete

from core import catalog, feeds
from core.alerts import evaluate, operator, outbox
from core.db.engine import server_settings_report, session_settings_report
from core.db.indexes import ensure_indexes
from core.db.models import JobRun
from core.forecast import service, training, versions
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
                                   progress=lambda step, total, loss: ctx.progress(step, total, f"loss {loss:.4f}"),
                                   promoted_by=_started_by(ctx))
    # Every worker checks the promoted pointer on each use and loads the new version: no restart.
    return {"version": card["version"], "beats_best_baseline": card["metrics"]["beats_best_baseline"],
            "data_range": card["data_range"]}


def _started_by(job) -> str:
    """Who started this run (a user's name, or "schedule"): promotions record it."""
    with job.app.session() as session:
        return session.get(JobRun, job.run_id).started_by


def _retrain_challenger(job) -> dict:
    settings = job.app.settings
    return training.challenge(job.engine, job.app.models.directory, settings.forecast_train_days,
                              settings.forecast_epochs, settings.forecast_challenger_held_out_days,
                              by=_started_by(job),
                              progress=lambda step, total, loss: job.progress(step, total, f"loss {loss:.4f}"))


def _rollback_model(job) -> dict:
    job.progress(0, 1, "rolling back")
    result = versions.rollback(job.app.models.directory, _started_by(job))
    return {"decision": f"rolled back from {result['from']} to {result['to']}", "from": result["from"],
            "to": result["to"]}


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


def _operator_alerts(job) -> dict:
    """One step of every operator alert rule, then send what is due in the outbox."""
    summary = operator.evaluate_rules(job.app)
    # It runs every minute: keep only the newest successful run (and every failure), so the job history still
    # shows the other jobs.
    with job.app.session() as session, session.begin():
        session.execute(delete(JobRun).where(JobRun.job == "operator_alerts", JobRun.status == "succeeded"))
    return {**summary, "delivery": outbox.deliver_due(job.app)}


def _fetch_weather(job) -> dict:
    """Open-Meteo's forecast for every city (and CAMS when cams_enabled); a failure fails the run, recorded."""
    job.progress(0, 1, "fetching weather")
    report = feeds.fetch(job.app.engine, job.app.settings, feeds.open_meteo.SOURCE)
    if report.errors:
        raise RuntimeError("; ".join(report.errors[:3]))
    return {"rows": report.rows, "requests": report.requests, "skipped": dict(report.skipped),
            "cams": job.app.settings.cams_enabled}


def _public_alerts(job) -> dict:
    """Evaluate the subscriptions against the newest hour (once across workers), then send what is due."""
    if not job.app.settings.alerts_enabled:
        return {"skipped": "alerts_enabled is false"}
    job.progress(0, 2, "evaluating subscriptions")
    summary = evaluate.evaluate(job.app)
    job.progress(1, 2, "delivering")
    return {**summary, "delivery": _drain(job.app)}


def _drain(ctx, batches: int = 20) -> dict:
    """deliver_due until nothing is due (at most `batches` rounds of 100)."""
    total: dict[str, int] = {}
    for _ in range(batches):
        counts = outbox.deliver_due(ctx)
        total = {key: total.get(key, 0) + value for key, value in counts.items()}
        if counts["claimed"] < 100:
            break
    return total


def _alert_delivery(job) -> dict:
    job.progress(0, 1, "delivering")
    return _drain(job.app)


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
    Job("fetch_weather", "Fetch weather", "Fetch Open-Meteo's weather forecast (and CAMS when enabled) for every "
        "city; observed weather is never overwritten.", _fetch_weather),
    Job("forecast_batch", "Forecast batch", "Forecast every active station from the newest hour.", _forecast_batch),
    Job("operator_alerts", "Operator alerts", "Evaluate the operator alert rules on the performance checks "
        "(every minute) and send their notifications.", _operator_alerts),
    Job("alerts", "Public alerts", "Evaluate the public AQI alert subscriptions against the newest hour (observed "
        "episodes; tomorrow's forecast in the morning) and send them.", _public_alerts),
    Job("alert_delivery", "Alert delivery", "Send the due messages of the alert outbox (retries with backoff; "
        "dead letters after the last attempt).", _alert_delivery),
    Job("retrain", "Retrain model", "Train the forecast model on the newest data; every worker switches to the "
        "new version without a restart.", _retrain),
    Job("retrain_challenger", "Challenger retrain", "Train a new version without the newest weeks, score it and "
        "the promoted model on them, promote it only if it is better (weekly).", _retrain_challenger),
    Job("rollback_model", "Roll back model", "Serve the version promoted before the current one again; every "
        "worker switches without a restart.", _rollback_model),
)}

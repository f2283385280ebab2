"""When the scheduled jobs run: Celery beat in production, a thread under `make run`."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery.schedules import crontab

from core.context import Context
from core.jobs import runner
from core.jobs.registry import configured_feeds
from core.periodic import Periodic
from core.settings import Settings

log = logging.getLogger(__name__)
SCHEDULED_BY = "schedule"


@dataclass(frozen=True)
class Entry:
    """One scheduled job: when beat fires it, and how often `make run`'s thread runs it (None: not in `make run`)."""

    name: str
    job: str
    when: crontab | float  # a crontab, or every so many seconds
    every_s: float | None
    enabled: Callable[[Settings], bool] = lambda settings: True


def _alerts(settings: Settings) -> bool:
    return settings.alerts_enabled


# AirNow's files for an hour arrive late and are revised: fetch twice an hour, never on the hour. The weather
# forecast comes before the :20 forecast batch, which reads it; the public alerts after it (the new hour's NowCast
# and the morning forecast). `make run` follows new hours with its own ForecastBatch thread.
SCHEDULE = (
    Entry("fetch-feeds", "fetch_feeds", crontab(minute="10,40"), 1800, lambda s: bool(configured_feeds(s))),
    Entry("fetch-weather", "fetch_weather", crontab(minute="5"), 3600, lambda s: s.weather_enabled),
    Entry("forecast-batch", "forecast_batch", crontab(minute="20"), None),
    Entry("public-alerts", "alerts", crontab(minute="25"), 300, _alerts),  # in `make run` it also drains retries
    Entry("alert-delivery", "alert_delivery", 300, None, _alerts),  # retries of failed sends between the hours
    Entry("operator-alerts", "operator_alerts", 60, 60),  # Grafana's evaluation interval
    # Weekly, at a quiet hour: a challenger that does not beat the promoted model is kept on disk, not served.
    Entry("retrain-challenger", "retrain_challenger", crontab(minute=30, hour=3, day_of_week="sun"), None),
)


def entries(settings: Settings) -> list[Entry]:
    return [entry for entry in SCHEDULE if entry.enabled(settings)]


def beat_schedule(ctx: Context) -> dict:
    """Celery beat entries: each fires the `aqi.scheduled` task with a job name."""
    return {entry.name: {"task": runner.SCHEDULED_TASK, "schedule": entry.when, "args": (entry.job,)}
            for entry in entries(ctx.settings)}


def run_scheduled(ctx: Context, job: str) -> int | None:
    """Record and run one scheduled job here; None when it is already running somewhere (that run wins)."""
    try:
        run_id = runner.start(ctx, job, SCHEDULED_BY, dispatch=False)
    except runner.AlreadyRunning:
        log.info("scheduled %s skipped: already running", job)
        return None
    runner.execute(ctx, run_id)
    return run_id


class Scheduled(Periodic):
    """`make run`: one schedule entry in a thread of this process, as beat would fire it. A failing run is a
    failed run in the job history (offline, the weather fetch is one an hour), and the next one still runs."""

    def __init__(self, ctx: Context, entry: Entry) -> None:
        super().__init__(entry.name, entry.every_s)
        self.ctx, self.job = ctx, entry.job

    def tick(self) -> None:
        run_scheduled(self.ctx, self.job)


def start_in_process(ctx: Context) -> list[str]:
    """Start a thread for every enabled entry `make run` runs; returns their names."""
    started = [entry for entry in entries(ctx.settings) if entry.every_s]
    for entry in started:
        Scheduled(ctx, entry).start()
    return [entry.name for entry in started]

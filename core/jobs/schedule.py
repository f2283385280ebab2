"""When the scheduled jobs run: Celery beat in production, a thread under `make run`."""
from __future__ import annotations

import logging

from celery.schedules import crontab

from core.context import Context
from core.jobs import runner
from core.jobs.registry import configured_feeds
from core.periodic import Periodic

log = logging.getLogger(__name__)
SCHEDULED_BY = "schedule"

# AirNow's files for an hour arrive late and are revised: fetch twice an hour, never on the hour.
FEED_MINUTES = "10,40"
FORECAST_MINUTE = "20"  # after the :10 feed run has stored the new hour


def beat_schedule(ctx: Context) -> dict:
    """Celery beat entries: each fires the `aqi.scheduled` task with a job name."""
    schedule = {"forecast-batch": {"task": runner.SCHEDULED_TASK, "schedule": crontab(minute=FORECAST_MINUTE),
                                   "args": ("forecast_batch",)}}
    if configured_feeds(ctx.settings):
        schedule["fetch-feeds"] = {"task": runner.SCHEDULED_TASK, "schedule": crontab(minute=FEED_MINUTES),
                                   "args": ("fetch_feeds",)}
    return schedule


def run_scheduled(ctx: Context, job: str) -> int | None:
    """Record and run one scheduled job here; None when it is already running somewhere (that run wins)."""
    try:
        run_id = runner.start(ctx, job, SCHEDULED_BY, dispatch=False)
    except runner.AlreadyRunning:
        log.info("scheduled %s skipped: already running", job)
        return None
    runner.execute(ctx, run_id)
    return run_id


class FeedFollower(Periodic):
    """`make run` with AQI_FEEDS set: fetch the configured sources every half hour, as beat would."""

    def __init__(self, ctx: Context, check_every_s: float = 1800) -> None:
        super().__init__("feeds", check_every_s)
        self.ctx = ctx

    def tick(self) -> None:
        run_scheduled(self.ctx, "fetch_feeds")

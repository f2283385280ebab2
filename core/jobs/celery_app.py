"""Celery with the Redis broker: `python app.py worker` runs the jobs, `python app.py beat` fires the schedule."""
from __future__ import annotations

from celery import Celery

from core.context import Context
from core.jobs.runner import SCHEDULED_TASK, TASK_NAME, broker_url, execute
from core.jobs.schedule import beat_schedule, run_scheduled

REDBEAT_LOCK_S = 300  # a beat that died gives up the scheduler lock after this long; another host takes over


def make_celery(ctx: Context) -> Celery:
    """A Celery app whose tasks run in this context (one per worker or beat process)."""
    celery = Celery("aqi", broker=broker_url(ctx.settings))
    # One job at a time per worker process, acknowledged when done: a worker lost mid-job does not lose it
    # silently (the run's heartbeat then marks it abandoned).
    celery.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True,
                       timezone="UTC", beat_schedule=beat_schedule(ctx),
                       # RedBeat keeps the schedule and a lock in Redis: one beat fires, however many hosts run one.
                       beat_scheduler="redbeat.RedBeatScheduler", redbeat_redis_url=broker_url(ctx.settings),
                       redbeat_key_prefix="aqi:redbeat:", redbeat_lock_timeout=REDBEAT_LOCK_S)

    @celery.task(name=TASK_NAME)
    def run_job(run_id: int) -> None:
        execute(ctx, run_id)

    @celery.task(name=SCHEDULED_TASK)
    def scheduled(job: str) -> None:
        run_scheduled(ctx, job)

    return celery

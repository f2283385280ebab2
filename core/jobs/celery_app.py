"""Celery with the Redis broker: `python app.py worker` runs the jobs in production."""
from __future__ import annotations

from celery import Celery

from core.settings import get_settings

settings = get_settings()
celery = Celery("aqi", broker=settings.redis_url or "redis://127.0.0.1:6379/0")
# One job at a time per worker process, acknowledged when done: a worker lost mid-job does not lose it silently
# (the run's heartbeat then marks it abandoned).
celery.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True)


@celery.task(name="aqi.run_job")
def run_job(run_id: int) -> None:
    from core.db.engine import get_engine
    from core.jobs.runner import execute

    execute(get_engine(), run_id)

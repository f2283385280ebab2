"""Start, run, follow and cancel jobs; a worker thread here, or Celery workers in production."""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from celery import Celery
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.context import Context
from core.db.models import JobRun
from core.feeds import FeedError
from core.jobs.registry import JOBS
from core.metrics import timed
from core.times import now, utc

log = logging.getLogger(__name__)
TASK_NAME = "aqi.run_job"  # runs a job an admin started (the run row exists)
SCHEDULED_TASK = "aqi.scheduled"  # records and runs a job the schedule fired
ABANDONED_AFTER = timedelta(minutes=10)  # a run whose worker died stops blocking new runs after this


class AlreadyRunning(Exception):
    pass


class Cancelled(Exception):
    pass


@dataclass
class JobContext:
    """What a job sees: the app context, progress reports and cancellation."""

    app: Context
    run_id: int

    @property
    def engine(self) -> Engine:
        return self.app.engine

    def progress(self, done: float, total: float = 1.0, message: str = "") -> None:
        with self.app.session() as session, session.begin():
            session.execute(update(JobRun).where(JobRun.id == self.run_id).values(
                progress=min(1.0, done / total if total else 1.0), message=message[:300], heartbeat_at=now()))
            cancel = session.scalar(select(JobRun.cancel_requested).where(JobRun.id == self.run_id))
        if cancel:
            raise Cancelled()


def start(ctx: Context, job: str, started_by: str, dispatch: bool = True) -> int:
    """Record a new run and hand it to a worker; AlreadyRunning when this job is running anywhere."""
    if job not in JOBS:
        raise ValueError(f"unknown job '{job}'; jobs: {', '.join(JOBS)}")
    _release_abandoned(ctx.engine, job)
    try:
        with ctx.session() as session, session.begin():
            run = JobRun(job=job, running_key=job, status="running", started_by=started_by, started_at=now(),
                         heartbeat_at=now(), progress=0.0, message="queued", cancel_requested=False)
            session.add(run)
            session.flush()
            run_id = run.id
    except IntegrityError:
        raise AlreadyRunning(f"{JOBS[job].title} is already running") from None
    if dispatch:
        _dispatch(ctx, run_id)
    return run_id


def _dispatch(ctx: Context, run_id: int) -> None:
    if ctx.settings.jobs_backend == "celery":
        # By task name: the web process needs only a broker client, not the worker's module.
        Celery(broker=broker_url(ctx.settings)).send_task(TASK_NAME, args=[run_id])
    else:
        threading.Thread(target=execute, args=(ctx, run_id), name=f"job-{run_id}", daemon=True).start()


def broker_url(settings) -> str:
    return settings.redis_url or "redis://127.0.0.1:6379/0"


def execute(ctx: Context, run_id: int) -> None:
    """Run a recorded job to its end and record the outcome (this is what workers call)."""
    engine = ctx.engine
    with Session(engine) as session:
        job = session.scalar(select(JobRun.job).where(JobRun.id == run_id, JobRun.status == "running"))
    if job is None:
        log.warning("run %s is not waiting to run (finished, or another database's): skipped", run_id)
        return
    context = JobContext(ctx, run_id)
    status, summary, message = "succeeded", None, "done"
    try:
        with timed("job", job):
            context.progress(0, 1, "started")
            summary = JOBS[job].run(context)
    except Cancelled:
        status, message = "cancelled", "cancelled by an admin"
    except Exception as exc:  # the record says what failed; the worker lives on
        expected = isinstance(exc, FeedError)  # a source down (offline, the hourly weather fetch): no traceback
        log.log(logging.WARNING if expected else logging.ERROR, "job %s (run %s) failed: %s", job, run_id, exc,
                exc_info=not expected)
        status, message = "failed", f"{type(exc).__name__}: {exc}"[:300]
    with Session(engine) as session, session.begin():
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            status=status, running_key=None, finished_at=now(), heartbeat_at=now(), message=message,
            progress=1.0 if status == "succeeded" else JobRun.progress,
            summary=json.dumps(summary, default=str) if summary is not None else None))


def request_cancel(engine: Engine, run_id: int) -> bool:
    """Ask a running job to stop at its next progress report; False when it is not running."""
    with Session(engine) as session, session.begin():
        result = session.execute(update(JobRun).where(JobRun.id == run_id, JobRun.status == "running")
                                 .values(cancel_requested=True))
        return result.rowcount == 1


def _release_abandoned(engine: Engine, job: str) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(JobRun).where(JobRun.running_key == job,
                                             JobRun.heartbeat_at < now() - ABANDONED_AFTER)
                        .values(status="failed", running_key=None, finished_at=now(),
                                message="abandoned: its worker stopped reporting"))


def history(engine: Engine, limit: int = 20) -> list[dict]:
    with Session(engine) as session:
        runs = session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)).all()
        return [as_dict(r) for r in runs]


def count_runs(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(JobRun))


def get_run(engine: Engine, run_id: int) -> dict | None:
    with Session(engine) as session:
        run = session.get(JobRun, run_id)
        return as_dict(run) if run else None


def running(engine: Engine) -> dict[str, dict]:
    """The running run of each job that is running."""
    with Session(engine) as session:
        return {r.job: as_dict(r) for r in session.scalars(select(JobRun).where(JobRun.status == "running"))}


def as_dict(run: JobRun) -> dict:
    started = utc(run.started_at)
    finished = utc(run.finished_at) if run.finished_at else None
    return {"id": run.id, "job": run.job, "title": JOBS[run.job].title if run.job in JOBS else run.job,
            "status": run.status, "started_by": run.started_by, "started_at": started, "finished_at": finished,
            "duration_s": round((finished - started).total_seconds(), 1) if finished else None,
            "progress": run.progress, "message": run.message,
            "summary": json.loads(run.summary) if run.summary else None, "cancel_requested": run.cancel_requested}

"""Start, run, follow and cancel jobs; a worker thread here, or Celery workers in production."""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.jobs.models import JobRun
from core.jobs.registry import JOBS
from core.metrics import timed
from core.settings import get_settings

log = logging.getLogger(__name__)
ABANDONED_AFTER = timedelta(minutes=10)  # a run whose worker died stops blocking new runs after this


class AlreadyRunning(Exception):
    pass


class Cancelled(Exception):
    pass


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Context:
    """What a job sees: report progress, check for cancellation."""

    engine: Engine
    run_id: int

    def progress(self, done: float, total: float = 1.0, message: str = "") -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(update(JobRun).where(JobRun.id == self.run_id).values(
                progress=min(1.0, done / total if total else 1.0), message=message[:300], heartbeat_at=_now()))
            cancel = session.scalar(select(JobRun.cancel_requested).where(JobRun.id == self.run_id))
        if cancel:
            raise Cancelled()


def start(engine: Engine, job: str, started_by: str, dispatch: bool = True) -> int:
    """Record a new run and hand it to a worker; AlreadyRunning when this job is running anywhere."""
    if job not in JOBS:
        raise ValueError(f"unknown job '{job}'; jobs: {', '.join(JOBS)}")
    _release_abandoned(engine, job)
    try:
        with Session(engine) as session, session.begin():
            run = JobRun(job=job, running_key=job, status="running", started_by=started_by, started_at=_now(),
                         heartbeat_at=_now(), progress=0.0, message="queued", cancel_requested=False)
            session.add(run)
            session.flush()
            run_id = run.id
    except IntegrityError:
        raise AlreadyRunning(f"{JOBS[job].title} is already running") from None
    if dispatch:
        _dispatch(engine, run_id)
    return run_id


def _dispatch(engine: Engine, run_id: int) -> None:
    if get_settings().jobs_backend == "celery":
        from core.jobs.celery_app import run_job

        run_job.delay(run_id)
    else:
        threading.Thread(target=execute, args=(engine, run_id), name=f"job-{run_id}", daemon=True).start()


def execute(engine: Engine, run_id: int) -> None:
    """Run a recorded job to its end and record the outcome (this is what workers call)."""
    with Session(engine) as session:
        job = session.scalar(select(JobRun.job).where(JobRun.id == run_id))
    context = Context(engine, run_id)
    status, summary, message = "succeeded", None, "done"
    try:
        with timed("job", job):
            context.progress(0, 1, "started")
            summary = JOBS[job].run(context)
    except Cancelled:
        status, message = "cancelled", "cancelled by an admin"
    except Exception as exc:  # the record says what failed; the worker lives on
        log.exception("job %s (run %s) failed", job, run_id)
        status, message = "failed", f"{type(exc).__name__}: {exc}"[:300]
    with Session(engine) as session, session.begin():
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            status=status, running_key=None, finished_at=_now(), heartbeat_at=_now(), message=message,
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
                                             JobRun.heartbeat_at < _now() - ABANDONED_AFTER)
                        .values(status="failed", running_key=None, finished_at=_now(),
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
    started = _utc(run.started_at)
    finished = _utc(run.finished_at) if run.finished_at else None
    return {"id": run.id, "job": run.job, "title": JOBS[run.job].title if run.job in JOBS else run.job,
            "status": run.status, "started_by": run.started_by, "started_at": started, "finished_at": finished,
            "duration_s": round((finished - started).total_seconds(), 1) if finished else None,
            "progress": run.progress, "message": run.message,
            "summary": json.loads(run.summary) if run.summary else None, "cancel_requested": run.cancel_requested}


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts

"""Operator and admin endpoints: the performance figures (operator) and the jobs (admin)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from core.jobs import runner
from core.jobs.registry import JOBS
from core.paging import page_of
from core.feeds import freshness
from core.thresholds import snapshot
from dashboard.api.errors import APIError
from dashboard.api.responses import JSON, json_response
from dashboard.api.routes import route
from dashboard.api.schemas import Body, Meta, PageQuery, Query
from dashboard import context


WINDOWS = (300, 3600)


class MetricsQuery(Query):
    # An int checked against WINDOWS: Literal[300, 3600] never matches the query string's "300".
    window: int = Field(300, description="Seconds: the last 5 minutes or the last hour.",
                        json_schema_extra={"enum": list(WINDOWS)})

    @field_validator("window")
    @classmethod
    def _known_window(cls, value: int) -> int:
        if value not in WINDOWS:
            raise ValueError(f"must be one of {', '.join(map(str, WINDOWS))}")
        return value


class MetricsSnapshot(Body):
    window_s: int
    generated_at: str
    checks: list[dict[str, Any]] = Field(description="Each figure: value, unit, status (ok, warning, critical, "
                                                     "no_data), thresholds, recommendation, per-minute series.")
    timers: list[dict[str, Any]] = Field(description="Per endpoint, callback, query: count, errors, p50/p95/p99.")
    cache: dict[str, Any]
    pool: dict[str, Any]
    breaches: list[dict[str, Any]]


class JobPath(Query):
    job: Literal[tuple(JOBS)]  # type: ignore[valid-type]


class RunPath(Query):
    run_id: int = Field(ge=1)


class Run(Body):
    id: int
    job: str
    title: str
    status: Literal["running", "succeeded", "failed", "cancelled"]
    started_by: str
    started_at: str
    finished_at: str | None
    duration_s: float | None
    progress: float
    message: str
    summary: dict[str, Any] | None
    cancel_requested: bool


class JobInfo(Body):
    name: str
    title: str
    description: str
    running: Run | None


class JobList(Body):
    data: list[JobInfo]
    meta: Meta


class RunPage(Body):
    data: list[Run]
    meta: Meta


class RunOne(Body):
    data: Run


@route("/metrics", summary="Performance figures against their thresholds (the operator panel as JSON)",
       query=MetricsQuery, content={JSON: MetricsSnapshot}, cache=0, access="access_performance")
def metrics(q: MetricsQuery) -> dict:
    """The same figures from whichever worker answers: they are merged from the shared metrics store."""
    ctx = context.current()
    return snapshot(ctx.settings, ctx.cache, q.window, freshness(ctx.engine))


@route("/jobs", summary="The admin jobs and which are running", query=PageQuery, content={JSON: JobList},
       cache=0, access="access_admin")
def list_jobs(q: PageQuery) -> dict:
    running = runner.running(context.current().engine)
    rows = [{"name": j.name, "title": j.title, "description": j.description, "running": running.get(j.name)}
            for j in JOBS.values()]
    return page_of(rows, q.page, q.limit).as_dict()


@route("/jobs/runs", summary="Job history, newest first", query=PageQuery, content={JSON: RunPage}, cache=0,
       access="access_admin")
def list_runs(q: PageQuery) -> dict:
    runs = runner.history(context.current().engine, limit=q.page * q.limit)
    return page_of(runs, q.page, q.limit, found=runner.count_runs(context.current().engine)).as_dict()


@route("/jobs/runs/{run_id}", summary="One run: status, progress, summary", path_params=RunPath,
       content={JSON: RunOne}, cache=0, errors=(404,), access="access_admin")
def get_run(run_id: int) -> dict:
    run = runner.get_run(context.current().engine, run_id)
    if run is None:
        raise APIError(404, "not_found", f"no job run with id {run_id}")
    return {"data": run}


@route("/jobs/{job}/start", summary="Start a job (one run at a time per job, across every worker)", path_params=JobPath,
       content={JSON: RunOne}, cache=0, errors=(404, 409), method="POST", access="access_admin")
def start_job(job: str) -> Any:
    from dashboard.auth import current_user

    try:
        run_id = runner.start(context.current(), job, current_user.name)
    except runner.AlreadyRunning as exc:
        raise APIError(409, "already_running", str(exc)) from None
    return json_response({"data": runner.get_run(context.current().engine, run_id)}, 202)


@route("/jobs/runs/{run_id}/cancel", summary="Ask a running job to stop", path_params=RunPath,
       content={JSON: RunOne}, cache=0, errors=(404, 409), method="POST", access="access_admin")
def cancel_run(run_id: int) -> dict:
    if runner.get_run(context.current().engine, run_id) is None:
        raise APIError(404, "not_found", f"no job run with id {run_id}")
    if not runner.request_cancel(context.current().engine, run_id):
        raise APIError(409, "not_running", f"run {run_id} is not running")
    return {"data": runner.get_run(context.current().engine, run_id)}

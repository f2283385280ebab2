"""Roles enforced on the server (API and Dash callbacks), sign-in, security headers, and the jobs."""
import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from core.jobs import runner
from core.settings import ROOT
from core.users import authenticate, create_user, ensure_first_admin

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def users(app, seeded_pg):
    suffix = uuid.uuid4().hex[:6]
    names = {role: f"{role}-{suffix}" for role in ("analyst", "operator", "admin")}
    for role, name in names.items():
        create_user(seeded_pg, name, role, PASSWORD)
    return names


def basic(name: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


SAME_ORIGIN = {"Origin": "http://localhost"}  # what a browser sends from the test client's own pages


def sign_in(client, name: str, password: str = PASSWORD, target: str = "/"):
    """Post the sign-in form as a browser does: with the CSRF token of the form it was served."""
    form = client.get(f"/login?next={target}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post(f"/login?next={target}", data={"name": name, "password": password, "csrf_token": token})


def wait_for(engine, run_id: int, timeout: float = 60, log: Path | None = None) -> dict:
    """The run once it has ended: its thread joined when it runs in this process, else its record polled."""
    for thread in threading.enumerate():
        if thread.name == f"job-{run_id}":
            thread.join(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = runner.get_run(engine, run_id)
        if run["status"] != "running":
            return run
        time.sleep(0.1)  # a Celery worker, another process, records the outcome: poll for it until the deadline
    tail = f"; worker log:\n{log.read_text()[-3000:]}" if log else ""
    raise AssertionError(f"run {run_id} still running after {timeout} s{tail}")


def test_passwords_are_hashed_and_checked(seeded_pg, users):
    from sqlalchemy import text

    with seeded_pg.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE name = :n"), {"n": users["admin"]}).scalar()
    assert stored.startswith("scrypt:") and PASSWORD not in stored
    assert authenticate(seeded_pg, users["admin"], PASSWORD)["role"] == "admin"
    assert authenticate(seeded_pg, users["admin"], "wrong password") is None


def test_the_first_admin_is_created_once_with_a_random_password(sqlite_engine):
    name, password = ensure_first_admin(sqlite_engine)
    assert name == "admin" and len(password) >= 12
    assert authenticate(sqlite_engine, "admin", password)["must_change_password"]
    assert ensure_first_admin(sqlite_engine) is None
    other = create_user(sqlite_engine, "someone", "admin")
    assert other != password


@pytest.mark.parametrize("who, status", [(None, 401), ("analyst", 403), ("operator", 403)])
def test_only_admins_may_start_jobs_through_the_api(client, users, who, status):
    headers = basic(users[who]) if who else {}
    response = client.post("/api/v1/jobs/db_settings/start", headers=headers)
    assert response.status_code == status
    assert set(response.get_json()["error"]) == {"code", "message"}
    assert client.get("/api/v1/jobs", headers=headers).status_code == status


@pytest.mark.parametrize("who, status", [(None, 401), ("analyst", 403), ("operator", 200), ("admin", 200)])
def test_the_metrics_json_needs_an_operator(client, users, who, status):
    response = client.get("/api/v1/metrics", headers=basic(users[who]) if who else {})
    assert response.status_code == status
    if status == 200:
        body = response.get_json()
        assert {c["key"] for c in body["checks"]} >= {"api_p95", "db_p95", "cache_hit_rate", "db_pool"}
        assert response.headers["Cache-Control"] == "no-store"


def test_an_admin_runs_a_job_once_at_a_time_and_it_leaves_a_record(client, users, seeded_pg):
    response = client.post("/api/v1/jobs/indexes/start", headers=basic(users["admin"]))
    assert response.status_code == 202
    run_id = response.get_json()["data"]["id"]
    second = client.post("/api/v1/jobs/indexes/start", headers=basic(users["admin"]))
    if runner.get_run(seeded_pg, run_id)["status"] == "running":  # it may already have finished
        assert second.status_code == 409 and "already running" in second.get_json()["error"]["message"]
    run = wait_for(seeded_pg, run_id)
    assert run["status"] == "succeeded", run["message"]
    assert run["started_by"] == users["admin"] and run["duration_s"] is not None
    outcomes = {i["index"]: i["outcome"] for i in run["summary"]["indexes"]}
    assert outcomes["ix_measurements_ts"] in ("created", "already there")
    assert {q["query"] for q in run["summary"]["queries"]} == {"latest_readings", "recent_window_24h",
                                                               "station_series_72h"}
    history = client.get("/api/v1/jobs/runs", headers=basic(users["admin"])).get_json()
    assert history["data"][0]["id"] >= run_id and history["meta"]["found"] >= 1


def test_a_cancelled_job_stops_and_says_so(pg_ctx, seeded_pg, users):
    run_id = runner.start(pg_ctx, "warm_cache", users["admin"], dispatch=False)
    assert runner.request_cancel(seeded_pg, run_id)
    runner.execute(pg_ctx, run_id)
    run = runner.get_run(seeded_pg, run_id)
    assert run["status"] == "cancelled"
    assert runner.start(pg_ctx, "warm_cache", users["admin"], dispatch=False)  # the lock was released


def _callback_body(output: str) -> str:
    return json.dumps({"output": output, "outputs": {"id": output.split(".")[0], "property": "children"},
                       "inputs": [], "state": [], "changedPropIds": []})


@pytest.mark.parametrize("who", [None, "analyst", "operator"])
def test_admin_callbacks_are_refused_below_admin(app, users, who):
    client = app.server.test_client()
    if who:
        sign_in(client, users[who])
    response = client.post("/_dash-update-component", data=_callback_body("admin-notice.children"),
                           content_type="application/json", headers=SAME_ORIGIN)
    assert response.status_code == 403


def test_operator_panel_callbacks_need_an_operator(app, users):
    body = _callback_body("perf-updated.children")
    analyst, operator = app.server.test_client(), app.server.test_client()
    sign_in(analyst, users["analyst"])
    sign_in(operator, users["operator"])
    assert analyst.post("/_dash-update-component", data=body, content_type="application/json",
                        headers=SAME_ORIGIN).status_code == 403
    assert operator.post("/_dash-update-component", data=body, content_type="application/json",
                         headers=SAME_ORIGIN).status_code != 403


def test_http_basic_is_not_accepted_outside_the_api(app, users):
    """A guess on Dash's endpoints would be unlimited and the navbar would say whether it worked."""
    client = app.server.test_client()
    layout = client.get("/_dash-layout", headers=basic(users["admin"])).get_data(as_text=True)
    assert "Sign in" in layout and "Sign out" not in layout


def test_sign_in_sets_a_safe_session_cookie(app, users):
    client = app.server.test_client()
    bad = sign_in(client, users["operator"], "nope")
    assert bad.status_code == 401 and "wrong password" in bad.get_data(as_text=True)
    good = sign_in(client, users["operator"], target="/performance")
    assert good.status_code == 302 and good.headers["Location"].endswith("/performance")
    cookie = good.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/v1/metrics").status_code == 200  # the session now carries the role
    offsite = sign_in(client, users["operator"], target="//evil.example")
    assert offsite.headers["Location"] == "/"


def test_the_sign_in_form_needs_its_csrf_token(app, users):
    client = app.server.test_client()
    forged = client.post("/login", data={"name": users["operator"], "password": PASSWORD})
    assert forged.status_code == 400 and "did not come from this site" in forged.get_data(as_text=True)
    assert client.get("/api/v1/metrics").status_code == 401


@pytest.mark.parametrize("path", ["/", "/api/v1/cities", "/login", "/performance"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_celery_worker_runs_a_job_against_real_redis(seeded_pg, pg_settings, pg_context, private_redis, users,
                                                     tmp_path):
    # The worker is its own process with its own settings, as in production (`python app.py worker`); its broker
    # is a Redis of this test's own, so no message left by another run reaches it.
    env = {**os.environ, "DATABASE_URL": pg_settings.database_url, "REDIS_URL": private_redis.url,
           "AQI_JOBS_BACKEND": "celery", "AQI_ENVIRONMENT": "test",
           "AQI_FORECAST_MODEL_DIR": pg_settings.forecast_model_dir}
    with open(tmp_path / "worker.log", "w") as log:
        worker = subprocess.Popen([sys.executable, "app.py", "worker", "--concurrency", "1"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        run_id = runner.start(pg_context(jobs_backend="celery", redis_url=private_redis.url), "db_settings",
                              users["admin"])
        run = wait_for(seeded_pg, run_id, timeout=90, log=tmp_path / "worker.log")
        assert run["status"] == "succeeded", (tmp_path / "worker.log").read_text()[-2000:]
        assert run["summary"]["dialect"] == "postgresql"
        assert {s["name"] for s in run["summary"]["server"]} >= {"shared_buffers", "maintenance_work_mem"}
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_sign_in_attempts_are_rate_limited(app_with):
    """An app of its own, limited to 3 sign-in attempts a minute."""
    client = app_with(login_rate_limit="3/minute", redis_url="").server.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    codes = [sign_in(client, "nobody", "wrong password").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert client.get("/login").status_code == 200  # only attempts are limited, not the form

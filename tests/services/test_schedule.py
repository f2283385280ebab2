"""The production schedule: Celery beat with RedBeat's lock in Redis, and scheduled runs recorded as jobs."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from core.jobs import runner, schedule
from core.jobs.celery_app import make_celery

ROOT = Path(__file__).resolve().parents[2]


def test_the_beat_schedule_fires_the_feeds_at_10_and_40_and_the_forecast_after_them(pg_context):
    entries = schedule.beat_schedule(pg_context(feeds="airnow-files"))
    assert set(entries) == {"fetch-feeds", "fetch-weather", "forecast-batch", "public-alerts", "alert-delivery",
                            "operator-alerts", "retrain-challenger"}
    assert entries["fetch-feeds"]["schedule"].minute == {10, 40}
    assert entries["fetch-weather"]["schedule"].minute == {5}  # the forecast batch reads the new weather forecast
    assert entries["forecast-batch"]["schedule"].minute == {20}
    assert entries["public-alerts"]["schedule"].minute == {25}  # after the batch: the new hour and its forecast
    assert all(e["task"] == runner.SCHEDULED_TASK for e in entries.values())
    assert "fetch-feeds" not in schedule.beat_schedule(pg_context(feeds=""))  # the simulator needs no feed runs


def test_make_run_threads_run_what_beat_runs_but_the_batch_and_the_weekly_retrain(pg_context):
    threads = {e.name for e in schedule.entries(pg_context(feeds="airnow-files").settings) if e.every_s}
    assert threads == {"fetch-feeds", "fetch-weather", "public-alerts", "operator-alerts"}


def test_an_unknown_feed_name_is_refused_with_the_known_ones(pg_context):
    with pytest.raises(ValueError, match="airnow-files"):
        schedule.beat_schedule(pg_context(feeds="airnow-filez"))


def test_a_scheduled_run_is_a_job_row_and_a_second_one_meanwhile_is_skipped(pg_ctx):
    entered, release = threading.Event(), threading.Event()
    job = "db_settings"
    original = runner.JOBS[job]

    def slow(context):
        entered.set()
        release.wait(30)
        return original.run(context)

    runner.JOBS[job] = original.__class__(original.name, original.title, original.description, slow)
    try:
        first = threading.Thread(target=schedule.run_scheduled, args=(pg_ctx, job))
        first.start()
        assert entered.wait(30)
        assert schedule.run_scheduled(pg_ctx, job) is None  # the running one wins; nothing runs twice
        release.set()
        first.join(30)
    finally:
        runner.JOBS[job] = original
    newest = runner.history(pg_ctx.engine, limit=1)[0]
    assert (newest["job"], newest["status"], newest["started_by"]) == (job, "succeeded", schedule.SCHEDULED_BY)


def test_celery_knows_both_job_tasks(pg_ctx):
    celery = make_celery(pg_ctx)
    assert {runner.TASK_NAME, runner.SCHEDULED_TASK} <= set(celery.tasks)
    assert celery.conf.beat_scheduler == "redbeat.RedBeatScheduler"


def test_of_two_beats_on_two_hosts_exactly_one_fires(private_redis, pg_settings, tmp_path):
    env = {**os.environ, "REDIS_URL": private_redis.url, "DATABASE_URL": pg_settings.database_url,
           "AQI_FEEDS": "airnow-files", "AQI_FORECAST_MODEL_DIR": str(tmp_path)}
    logs = [tmp_path / f"beat-{i}.log" for i in range(2)]
    beats = [subprocess.Popen([sys.executable, "app.py", "beat"], cwd=ROOT, env=env, stdout=log.open("w"),
                              stderr=subprocess.STDOUT) for log in logs]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            started = [log.read_text().count("beat: Starting...") for log in logs]
            holders = [log.read_text().count("beat: Acquired lock") for log in logs]
            if all(started) and sum(holders) >= 1:
                break
            time.sleep(0.2)  # polling another process's log, with a deadline
        assert all(started), [log.read_text()[-2000:] for log in logs]
        assert sorted(holders) == [0, 1]
        assert redis.Redis.from_url(private_redis.url).exists("aqi:redbeat::lock")
    finally:
        for beat in beats:
            beat.terminate()
            beat.wait(30)

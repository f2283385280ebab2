"""The weekly challenger on seeded PostgreSQL data: both models scored on the same newest days, the
challenger promoted only when it is better, and every decision (and a rollback) in the job history."""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from core import context
from core.db import migrate
from core.db.engine import make_engine
from core.forecast import training, versions
from core.forecast.model import load, save
from core.ingest.seed import seed
from core.jobs import runner
from tests.conftest import SEED_END, private_database, settings_for_tests

DAYS, HELD_OUT_DAYS = 18, 5
GOOD, BAD = "20260101000000", "20260101000001"


@pytest.fixture(scope="module")
def database():
    """A private database with 18 days of six simulated stations (a challenger needs weeks, not hours)."""
    with private_database("aqi_challenger") as url:
        engine = make_engine(settings_for_tests(database_url=url))
        migrate.upgrade(engine)
        seed(engine, DAYS, 6, seed=7, end=SEED_END)
        yield url, engine
        engine.dispose()


@pytest.fixture(scope="module")
def trained(database, tmp_path_factory):
    """GOOD: one epoch on the challenger's training span; BAD: the same weights with every median correction
    pushed three standard deviations up (a deliberately corrupted weight)."""
    _, engine = database
    directory = tmp_path_factory.mktemp("challenger-models")
    history = training.load_history(engine, DAYS)
    split_at = history.end - timedelta(days=HELD_OUT_DAYS) + timedelta(hours=1)
    model, card = training.train(history, epochs=1, split_at=split_at, version=GOOD)
    save(model, card, directory)
    model, card = load(directory, GOOD)
    bias = model.get_layer("quantiles").bias
    shifted = bias.numpy().reshape(2, -1, 3)
    shifted[..., 1] += 3.0
    bias.assign(shifted.reshape(-1))
    save(model, card | {"version": BAD}, directory)
    return directory, history, split_at


@pytest.fixture()
def directory(trained, tmp_path):
    for path in trained[0].glob("forecast-*"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def ctx_on(database, directory) -> context.Context:
    url, engine = database
    return context.build(settings_for_tests(database_url=url, forecast_model_dir=str(directory),
                                            forecast_train_days=DAYS, forecast_epochs=1,
                                            forecast_challenger_held_out_days=HELD_OUT_DAYS), engine=engine)


def run_job(ctx, job: str, by: str) -> dict:
    run_id = runner.start(ctx, job, by, dispatch=False)
    runner.execute(ctx, run_id)
    return runner.get_run(ctx.engine, run_id)


def test_a_challenger_better_than_the_promoted_model_is_promoted_and_both_scores_are_in_the_history(
        database, directory):
    versions.promote(directory, BAD, "alice", "the corrupted one")
    ctx = ctx_on(database, directory)
    run = run_job(ctx, "retrain_challenger", "test-admin")
    assert run["status"] == "succeeded", run["message"]
    summary = run["summary"]
    challenger, incumbent = summary["challenger"], summary["incumbent"]
    assert summary["promoted"] is True and summary["decision"].startswith(f"promoted {challenger['version']}")
    assert incumbent["version"] == BAD and challenger["samples"] == incumbent["samples"] > 0
    assert challenger["mean_mae"] < incumbent["mean_mae"]
    assert set(challenger["mae"]) == set(incumbent["mae"]) == {"pm25", "o3"}
    pointer = versions.promoted(directory)
    assert pointer["version"] == challenger["version"] and pointer["promoted_by"] == "test-admin"
    assert pointer["previous"] == [BAD]
    assert ctx.models.get().version == challenger["version"]
    # The challenger never trained on the held-out days it was scored on.
    card = versions.read_card(directory, challenger["version"])
    assert card["data_range"]["split"] == summary["held_out"]["from"]


def test_a_worse_challenger_is_kept_on_disk_and_the_promoted_model_stays(directory, trained):
    _, history, split_at = trained
    versions.promote(directory, GOOD, "alice", "the trained one")
    summary = training.contest(directory, BAD, GOOD, history, split_at, "schedule")
    assert summary["promoted"] is False and summary["decision"].startswith(f"kept {GOOD}: mean MAE")
    assert summary["challenger"]["mean_mae"] > summary["incumbent"]["mean_mae"]
    assert summary["challenger"]["samples"] == summary["incumbent"]["samples"]
    assert versions.serving_version(directory) == GOOD
    assert BAD in versions.all_versions(directory)


def test_rollback_is_a_job_recorded_with_who_ran_it_and_fails_clearly_with_nothing_to_roll_back_to(
        database, directory):
    versions.promote(directory, GOOD, "alice", "first")
    versions.promote(directory, BAD, "alice", "second")
    ctx = ctx_on(database, directory)
    assert ctx.models.get().version == BAD
    run = run_job(ctx, "rollback_model", "carol")
    assert run["status"] == "succeeded" and run["started_by"] == "carol"
    assert run["summary"]["decision"] == f"rolled back from {BAD} to {GOOD}"
    assert versions.promoted(directory)["promoted_by"] == "carol"
    assert ctx.models.get().version == GOOD
    again = run_job(ctx, "rollback_model", "carol")
    assert again["status"] == "failed" and "no earlier promoted forecast model" in again["message"]
    assert versions.serving_version(directory) == GOOD


def test_the_challenger_runs_weekly_on_sunday_at_0330_utc(database, tmp_path):
    from core.jobs import schedule

    entry = schedule.beat_schedule(ctx_on(database, tmp_path))["retrain-challenger"]
    assert entry["args"] == ("retrain_challenger",) and entry["task"] == runner.SCHEDULED_TASK
    cron = entry["schedule"]
    assert (cron.minute, cron.hour, cron.day_of_week) == ({30}, {3}, {0})

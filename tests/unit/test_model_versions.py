"""Model versions: the promoted pointer, rollback, refusing incompatible files, hot swap in every ModelSlot."""
from __future__ import annotations

import json
import shutil

import pytest

from core import readiness
from core.forecast import ModelSlot, versions
from core.forecast.demo import tiny_model
from core.forecast.training import challenger_wins
from core.settings import load_settings

OLD, NEW = "20260101000000", "20260102000000"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two small trained versions (weights of hidden width 32), copied into each test's own directory."""
    directory = tmp_path_factory.mktemp("trained")
    tiny_model(directory, version=OLD)
    tiny_model(directory, version=NEW, days=17)
    return directory


@pytest.fixture()
def directory(trained, tmp_path):
    for path in trained.glob("forecast-*"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def slot(directory) -> ModelSlot:
    return ModelSlot(load_settings(environment="test", forecast_model_dir=str(directory)))


def test_promote_writes_the_pointer_and_remembers_the_previous_version(directory):
    versions.promote(directory, OLD, "alice", "first")
    pointer = versions.promote(directory, NEW, "bob", "second")
    assert pointer["version"] == NEW and pointer["promoted_by"] == "bob" and pointer["previous"] == [OLD]
    assert json.loads((directory / versions.POINTER).read_text()) == pointer
    assert versions.serving_version(directory) == NEW
    assert [r["version"] for r in versions.listing(directory) if r["promoted"]] == [NEW]


def test_rollback_serves_the_previous_version_again_and_then_has_nothing_left(directory):
    versions.promote(directory, OLD, "alice", "first")
    versions.promote(directory, NEW, "alice", "second")
    result = versions.rollback(directory, "carol")
    assert (result["from"], result["to"]) == (NEW, OLD)
    assert versions.promoted(directory) | {"promoted_at": None} == {
        "version": OLD, "promoted_by": "carol", "reason": f"rolled back from {NEW}", "previous": [],
        "promoted_at": None}
    with pytest.raises(LookupError, match="no earlier promoted"):
        versions.rollback(directory, "carol")
    assert versions.serving_version(directory) == OLD


def test_promoting_a_missing_or_incompatible_version_leaves_the_pointer_alone(directory):
    versions.promote(directory, OLD, "alice", "first")
    before = (directory / versions.POINTER).read_text()
    with pytest.raises(LookupError, match="20990101000000"):
        versions.promote(directory, "20990101000000", "alice", "typo")
    card = json.loads((directory / f"forecast-{NEW}.json").read_text())
    (directory / f"forecast-{NEW}.json").write_text(json.dumps(card | {"lookback_hours": 24}))
    with pytest.raises(versions.IncompatibleModel, match="lookback_hours 24"):
        versions.promote(directory, NEW, "alice", "shorter window")
    assert (directory / versions.POINTER).read_text() == before
    listed = {r["version"]: r for r in versions.listing(directory)}
    assert "lookback_hours 24" in listed[NEW]["problem"] and listed[OLD]["problem"] is None


def test_a_second_slot_on_the_same_directory_swaps_on_promotion_and_rollback_without_a_reset(directory):
    versions.promote(directory, OLD, "alice", "first")
    web, worker = slot(directory), slot(directory)
    assert web.get().version == worker.get().version == OLD
    versions.promote(directory, NEW, "alice", "second")
    assert web.get().version == worker.get().version == NEW
    versions.rollback(directory, "alice")
    assert web.get().version == worker.get().version == OLD


def test_promoted_weights_of_another_shape_are_refused_and_the_previous_model_stays_in_service(directory):
    versions.promote(directory, OLD, "alice", "first")
    models = slot(directory)
    assert models.get().version == OLD
    # A real mismatch: NEW's weights (hidden width 32) under a card that builds hidden width 64.
    card = json.loads((directory / f"forecast-{NEW}.json").read_text())
    card["architecture"]["hidden"] = 64
    (directory / f"forecast-{NEW}.json").write_text(json.dumps(card))
    versions.promote(directory, NEW, "alice", "wider")  # the card fits this code; only loading finds the shapes
    assert models.get().version == OLD
    status = models.status()
    assert status["status"] == "ok" and status["version"] == OLD
    assert status["refused"]["status"] == "incompatible" and status["refused"]["version"] == NEW
    assert "do not fit the architecture" in status["refused"]["message"] and NEW in status["message"]
    health = readiness.model(models)
    assert health["version"] == OLD and "was promoted but refused" in health["message"]
    versions.rollback(directory, "alice")  # back to the version in service: the refusal is over
    assert models.status()["refused"] is None


def test_a_card_of_another_format_is_refused_even_without_a_pointer(directory):
    card = json.loads((directory / f"forecast-{NEW}.json").read_text())
    (directory / f"forecast-{NEW}.json").write_text(json.dumps(card | {"format": 2}))
    (directory / f"forecast-{OLD}.json").unlink()
    status = slot(directory).status()
    assert status["status"] == "incompatible" and "file format 2" in status["message"]


def test_the_predictor_calibrates_each_mode_in_its_graph_exactly_as_the_numpy_calibration(directory):
    import numpy as np

    from core.forecast import features as F

    card = json.loads((directory / f"forecast-{NEW}.json").read_text())
    shape = (len(F.TARGETS), F.HORIZON)
    card["calibration"] = {"past_only": {"low": np.full(shape, 0.5).tolist(), "high": np.full(shape, 1.5).tolist()},
                           "with_weather": {"low": np.full(shape, 2.0).tolist(), "high": np.full(shape, 0.7).tolist()}}
    (directory / f"forecast-{NEW}.json").write_text(json.dumps(card))
    p = slot(directory).get()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, F.LOOKBACK, F.N_FEATURES)).astype(np.float32)
    w = np.zeros((3, F.HORIZON, F.N_FUTURE), np.float32)
    w[2] = rng.normal(size=(F.HORIZON, F.N_FUTURE))
    w[2, :, -1] = 1.0  # only the last station is shown a weather forecast
    s = np.arange(3, dtype=np.int32)
    raw = p.model([x, w, s], training=False).numpy()
    expected = np.concatenate([p.calibration["past_only"].apply(raw[:2]), p.calibration["with_weather"].apply(raw[2:])])
    np.testing.assert_allclose(p.predict(x, w, s), F.to_concentration(expected, p.norm), rtol=1e-4, atol=1e-4)


def _score(mae, coverage):
    return {"mean_mae": mae, "coverage": coverage}


@pytest.mark.parametrize(("challenger", "incumbent", "wins"), [
    (_score(9.0, 0.79), _score(10.0, 0.80), True),  # better, band on target
    (_score(10.0, 0.80), _score(10.0, 0.80), False),  # a tie keeps the promoted model
    (_score(9.0, 0.60), _score(10.0, 0.79), False),  # better MAE, band far off target and worse
    (_score(9.0, 0.70), _score(10.0, 0.65), True),  # off target, but closer to 80 % than the promoted one
])
def test_the_challenger_needs_a_lower_mean_mae_and_a_band_not_worse_than_80_plus_minus_5(challenger, incumbent,
                                                                                          wins):
    assert challenger_wins(challenger, incumbent)[0] is wins

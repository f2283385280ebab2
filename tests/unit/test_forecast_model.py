"""The forecaster without a database: features, split, loss, files, predictor, LRU, missing/corrupt models."""
from __future__ import annotations

import numpy as np
import pytest

from core.forecast import ModelSlot, ModelUnavailable
from core.forecast import features as F
from core.forecast.demo import simulated_history, tiny_model
from core.forecast.training import time_split
from core.settings import load_settings


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("models")
    tiny_model(directory)
    return directory


def models_in(directory) -> ModelSlot:
    """The model slot of settings pointing at a directory."""
    return ModelSlot(load_settings(environment="test", forecast_model_dir=str(directory)))


def test_training_targets_all_lie_before_the_split_and_held_out_after():
    split = time_split(400)
    assert (split.train + F.HORIZON < split.split_hour).all()
    assert (split.held_out >= split.split_hour).all()
    assert split.train.min() >= F.LOOKBACK - 1


def test_input_windows_end_at_the_issue_hour_and_never_look_ahead():
    values = np.arange(300, dtype=np.float32)[:, None, None] * np.ones((1, 2, F.N_FEATURES), np.float32)
    x = F.windows(values, np.array([100, 200]), np.array([0, 1]))
    assert x.shape == (2, F.LOOKBACK, F.N_FEATURES)
    assert x[0, -1, 0] == 100 and x[0, 0, 0] == 100 - F.LOOKBACK + 1 and x[1].max() == 200


def test_pinball_loss_weights_under_and_over_prediction_by_quantile():
    from core.forecast.model import pinball_loss

    y_true = np.full((1, 1, 1), 1.0, np.float32)
    y_pred = np.zeros((1, 1, 1, 3), np.float32)  # every quantile 1 too low
    assert float(pinball_loss(y_true, y_pred)) == pytest.approx((0.1 + 0.5 + 0.9) / 3)
    assert float(pinball_loss(-y_true, y_pred)) == pytest.approx((0.9 + 0.5 + 0.1) / 3)
    nan_target = np.array([[[1.0, np.nan]]], np.float32)
    assert float(pinball_loss(nan_target, np.zeros((1, 1, 2, 3), np.float32))) == pytest.approx(0.5)


def test_quantiles_are_ordered_by_construction_even_untrained():
    from core.forecast.model import build_model

    rng = np.random.default_rng(1)
    out = build_model(hidden=16)([rng.normal(size=(8, F.LOOKBACK, F.N_FEATURES)).astype(np.float32) * 5,
                                  rng.normal(size=(8, F.HORIZON, F.N_FUTURE)).astype(np.float32),
                                  np.arange(8, dtype=np.int32)]).numpy()
    assert (out[..., 0] <= out[..., 1]).all() and (out[..., 1] <= out[..., 2]).all()


def test_save_and_load_round_trip_keeps_weights_normalisation_and_card(model_dir):
    from core.forecast.model import build_model, load

    model, card = load(model_dir, "20260101000000")
    assert card["version"] == "20260101000000"
    assert {"trained_at", "data_range", "features", "metrics", "normalisation"} <= card.keys()
    assert card["features"] == list(F.FEATURES)
    assert set(card["metrics"]["mae"]) == {"pm25", "o3"}
    norm = F.Normalisation.from_dict(card["normalisation"])
    assert norm.mean.shape == (F.N_FEATURES,) and (norm.std > 0).all()
    inputs = [np.ones((2, F.LOOKBACK, F.N_FEATURES), np.float32), np.zeros((2, F.HORIZON, F.N_FUTURE), np.float32),
              np.array([1, 2], np.int32)]
    again, _ = load(model_dir, "20260101000000")
    np.testing.assert_allclose(model(inputs).numpy(), again(inputs).numpy(), rtol=1e-6)
    fresh = build_model(hidden=32)
    assert not np.allclose(fresh(inputs).numpy(), model(inputs).numpy())


def test_predictor_gives_ordered_non_negative_quantiles_for_every_station(model_dir):
    p = models_in(model_dir).get()
    history = simulated_history(4, 6)
    inputs = F.normalised_inputs(history.values, p.norm)
    x = F.windows(inputs, np.full(6, len(history.hours) - 1), np.arange(6))
    future = np.zeros((6, F.HORIZON, F.N_FUTURE), np.float32)
    out = p.predict(x, future, F.station_buckets(history.station_ids))
    assert out.shape == (6, len(F.TARGETS), F.HORIZON, 3)
    assert (out >= 0).all() and (np.diff(out, axis=-1) >= 0).all()
    np.testing.assert_allclose(p.predict(x[:1], future[:1], F.station_buckets(history.station_ids[:1]))[0], out[0],
                               rtol=1e-4, atol=1e-3)


def test_lru_cache_key_includes_the_model_version(model_dir):
    p = models_in(model_dir).get()
    key = p.cache_key(7, "2026-11-20T12:00:00+00:00")
    assert key == (7, "2026-11-20T12:00:00+00:00", "20260101000000")
    p.remember(key, np.zeros(1))
    other = p.cache_key(7, "2026-11-20T12:00:00+00:00")[:2] + ("20990101000000",)
    assert p.cached(key) is not None and p.cached(other) is None


def test_missing_model_raises_model_unavailable_and_status_says_missing(tmp_path):
    models = models_in(tmp_path)
    status = models.status()
    assert status["status"] == "missing" and status["version"] is None
    assert "python app.py train" in status["message"]
    with pytest.raises(ModelUnavailable, match="python app.py train"):
        models.get()


def test_corrupt_model_raises_model_unavailable_and_status_says_corrupt(model_dir, tmp_path):
    (tmp_path / "forecast-20260101000000.json").write_text((model_dir / "forecast-20260101000000.json").read_text())
    (tmp_path / "forecast-20260101000000.weights.h5").write_bytes(b"not an HDF5 file")
    models = models_in(tmp_path)
    status = models.status()
    assert status["status"] == "corrupt" and status["version"] == "20260101000000"
    assert "python app.py train" in status["message"]
    with pytest.raises(ModelUnavailable, match="cannot be loaded"):
        models.get()


def test_a_model_from_an_incompatible_version_is_refused_and_the_previous_stays_in_service(model_dir, tmp_path):
    import json
    import shutil

    for name in ("forecast-20260101000000.json", "forecast-20260101000000.weights.h5"):
        shutil.copy(model_dir / name, tmp_path / name)
    models = models_in(tmp_path)
    assert models.get().version == "20260101000000"
    old = json.loads((model_dir / "forecast-20260101000000.json").read_text())
    old["format"] = 1
    (tmp_path / "forecast-20270101000000.json").write_text(json.dumps(old | {"version": "20270101000000"}))
    shutil.copy(model_dir / "forecast-20260101000000.weights.h5", tmp_path / "forecast-20270101000000.weights.h5")
    assert models.get().version == "20260101000000"
    status = models.status()
    assert status["status"] == "ok" and "20270101000000" in status["message"] and "format 1" in status["message"]
    alone = tmp_path / "alone"
    alone.mkdir()
    for suffix in (".json", ".weights.h5"):
        shutil.copy(tmp_path / f"forecast-20270101000000{suffix}", alone / f"forecast-20270101000000{suffix}")
    assert models_in(alone).status()["status"] == "incompatible"


def test_every_padded_batch_shape_up_to_the_station_count_is_compiled_at_load():
    from core.forecast.predictor import batch_sizes

    assert batch_sizes(1) == [1]
    assert batch_sizes(84) == [1, 2, 4, 8, 16, 32, 64, 128]
    assert batch_sizes(128)[-1] == 128


def test_single_requests_and_batches_are_timed_apart(model_dir):
    from core.metrics import METRICS

    p = models_in(model_dir).get(stations=8)
    x, future, s = (np.zeros((8, F.LOOKBACK, F.N_FEATURES), np.float32),
                    np.zeros((8, F.HORIZON, F.N_FUTURE), np.float32), np.arange(8, dtype=np.int32))
    p.predict(x[:1], future[:1], s[:1])
    p.predict(x, future, s)
    window = METRICS.window()
    assert window.kind_percentiles("inference", 300)["p95_ms"] is not None
    assert window.kind_percentiles("inference_batch", 300)["p95_ms"] is not None

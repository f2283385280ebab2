"""Forecast bench: inference p95 (1 station, 500 stations) vs Keras model.predict, XLA on/off, float32 vs
float16, training time of the demo model and its held-out skill. Prints figures side by side; asserts nothing."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import sample_ms
from core.forecast import features as F


def _p95(fn, n: int = 200) -> float:
    return float(np.percentile(sample_ms(fn, runs=n, warmup=10), 95))


def main() -> None:
    from core.forecast.demo import simulated_history
    from core.forecast.model import save
    from core.forecast.predictor import Predictor
    from core.forecast.training import train

    started = time.perf_counter()
    model, card = train(simulated_history(75, 84), epochs=4, version="bench")
    train_s = time.perf_counter() - started
    directory = Path(tempfile.mkdtemp())
    save(model, card, directory)
    history = simulated_history(4, 500)
    rows = []
    for jit in (True, False):
        for precision in ("float32", "mixed_float16"):
            p = Predictor(directory, "bench", jit=jit, precision=precision)
            inputs = F.normalised_inputs(history.values, p.norm)
            x = F.windows(inputs, np.full(500, len(history.hours) - 1), np.arange(500))
            s = F.station_buckets(history.station_ids)
            one = _p95(lambda: p.raw(x[:1], s[:1]))
            many = _p95(lambda: p.raw(x, s), 50)
            rows.append((jit, precision, one, many))
            if jit and precision == "float32":
                pred_one = _p95(lambda: p.model.predict([x[:1], s[:1]], verbose=0), 30)
                pred_many = _p95(lambda: p.model.predict([x, s], verbose=0), 20)
    print(f"training (75 days x 84 stations, 4 epochs): {train_s:.1f} s")
    print(f"{'XLA':>5} {'precision':>14} {'p95 1 station ms':>17} {'p95 500 stations ms':>20}")
    for jit, precision, one, many in rows:
        print(f"{str(jit):>5} {precision:>14} {one:17.3f} {many:20.3f}")
    best = rows[0]
    print(f"model.predict p95: 1 station {pred_one:.2f} ms, 500 stations {pred_many:.2f} ms -> speed-up "
          f"{pred_one / best[2]:.0f}x / {pred_many / best[3]:.1f}x")
    m = card["metrics"]
    print("held-out MAE (model / persistence / same hour yesterday) at", m["horizons"])
    for parameter, r in m["mae"].items():
        print(f"  {parameter:5}", "  ".join(f"{a:.2f}/{b:.2f}/{c:.2f}" for a, b, c in
                                       zip(r["model"], r["persistence"], r["same_hour_yesterday"])))
    print("beats both baselines at every horizon:", m["beats_baselines"])


if __name__ == "__main__":
    main()

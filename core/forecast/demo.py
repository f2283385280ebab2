"""A tiny model trained straight from the simulator (no database): for tests and the bench."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from core.ingest import simulator

END = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def simulated_history(days: int, stations: int, end: datetime = END, seed: int = 42):
    from core.forecast.training import history_from_simulation

    return history_from_simulation(simulator.simulate(end - timedelta(days=days), end + timedelta(hours=1),
                                                      n_stations=stations, seed=seed))


def tiny_model(directory: Path, days: int = 16, stations: int = 10, epochs: int = 1, hidden: int = 32,
               version: str = "20260101000000") -> dict:
    """Train and save a small model; returns its card."""
    from core.forecast.model import save
    from core.forecast.training import train

    model, card = train(simulated_history(days, stations), epochs=epochs, hidden=hidden, version=version)
    save(model, card, directory)
    return card

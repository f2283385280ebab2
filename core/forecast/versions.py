"""Model versions on disk: every version's weights and JSON card, and the "promoted" pointer naming the one
that serves. No TensorFlow here: workers check the pointer on every use, and jobs promote without loading.

The pointer is a small JSON file in the model directory, replaced atomically, so it can never name a version
whose files are elsewhere: hosts sharing the pointer must share the directory (one volume).
"""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from core.forecast import features as F

# The card's "format": bumped whenever inputs, outputs or layers change, so an older file is refused by name.
# 3: the weather forecast is a gated correction on top of the past-only network.
FORMAT = 3
POINTER = "promoted.json"
KEEP_PREVIOUS = 20  # promotions remembered for "roll back to previous"


class IncompatibleModel(ValueError):
    """A model file written by another version of this code: refused, never half-loaded."""


def weights_path(directory: Path, version: str) -> Path:
    return directory / f"forecast-{version}.weights.h5"


def card_path(directory: Path, version: str) -> Path:
    return directory / f"forecast-{version}.json"


def all_versions(directory: Path) -> list[str]:
    """Every version with a card, oldest first (versions are UTC timestamps: they sort by time)."""
    return sorted(p.name.removeprefix("forecast-").removesuffix(".json") for p in directory.glob("forecast-*.json"))


def read_card(directory: Path, version: str) -> dict:
    return json.loads(card_path(directory, version).read_text())


def check_card(card: dict) -> None:
    """IncompatibleModel, naming what differs, unless this code builds the inputs and layers the card was
    trained with (its format, features, targets, window, horizon and the shapes of its statistics)."""
    version = card.get("version", "?")
    if card.get("format") != FORMAT:
        raise IncompatibleModel(f"forecast model {version} has file format {card.get('format', 1)} but this code "
                                f"reads format {FORMAT}: retrain it")
    expected = {"features": list(F.FEATURES), "targets": list(F.TARGETS), "lookback_hours": F.LOOKBACK,
                "horizon_hours": F.HORIZON}
    for key, value in expected.items():
        if card.get(key) != value:
            raise IncompatibleModel(f"forecast model {version} was trained with {key} {card.get(key)!r}, this code "
                                    f"builds {value!r}: retrain it")
    if card.get("inputs", {}).get("future_weather") != list(F.FUTURE_WEATHER):
        raise IncompatibleModel(f"forecast model {version} reads other weather forecast channels than this code "
                                f"builds: retrain it")
    norm = card.get("normalisation", {})
    shapes = [len(norm.get("mean", [])), len(norm.get("std", []))]
    calibration = [(len(c.get(k, [])), len((c.get(k) or [[]])[0])) for c in card.get("calibration", {}).values()
                   for k in ("low", "high")]
    if shapes != [F.N_FEATURES] * 2 or not calibration or set(calibration) != {(len(F.TARGETS), F.HORIZON)}:
        raise IncompatibleModel(f"forecast model {version} has normalisation or calibration shapes that do not "
                                f"match {F.N_FEATURES} features × {len(F.TARGETS)} targets × {F.HORIZON} hours")


# -- the promoted pointer ----------------------------------------------------------------------------------
def pointer_path(directory: Path) -> Path:
    return directory / POINTER


def promoted(directory: Path) -> dict | None:
    """The pointer: {"version", "promoted_at", "promoted_by", "reason", "previous": [older, …, newest]}, or None."""
    try:
        return json.loads(pointer_path(directory).read_text())
    except FileNotFoundError:
        return None


def serving_version(directory: Path) -> str | None:
    """The promoted version; a directory written before pointers existed serves its newest version."""
    pointer = promoted(directory)
    if pointer is not None:
        return pointer["version"]
    versions = all_versions(directory)
    return versions[-1] if versions else None


@contextmanager
def _locked(directory: Path):
    """One promotion at a time per directory (a job and an admin's rollback may race)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".promote.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _write_pointer(directory: Path, pointer: dict) -> None:
    tmp = directory / f".{POINTER}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(pointer, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(pointer_path(directory))  # readers see the old pointer or the new one, never half of one


def _check_usable(directory: Path, version: str) -> None:
    if not card_path(directory, version).exists() or not weights_path(directory, version).exists():
        raise LookupError(f"forecast model {version} is not in {directory.name}/ (card or weights missing)")
    check_card(read_card(directory, version))


def promote(directory: Path, version: str, by: str, reason: str) -> dict:
    """Make `version` the one every worker serves; returns the new pointer.

    LookupError when its files are missing, IncompatibleModel when its card does not fit this code: the
    pointer is then left as it was.
    """
    with _locked(directory):
        _check_usable(directory, version)
        current = promoted(directory)
        before = serving_version(directory) if current is None else current["version"]
        # The versions served before, newest last, without the one promoted now (rolling back to it is moot).
        previous = [v for v in ([] if current is None else current.get("previous", [])) if v != version]
        if before is not None and before != version:
            previous = (previous + [before])[-KEEP_PREVIOUS:]
        pointer = {"version": version, "promoted_at": _now(), "promoted_by": by, "reason": reason,
                   "previous": previous}
        _write_pointer(directory, pointer)
        return pointer


def rollback(directory: Path, by: str) -> dict:
    """Promote the version promoted before the current one (and forget the current promotion); returns
    {"from", "to", "pointer"}. LookupError when there is nothing to roll back to."""
    with _locked(directory):
        current = promoted(directory)
        if current is None or not current.get("previous"):
            raise LookupError("no earlier promoted forecast model to roll back to")
        target = current["previous"][-1]
        _check_usable(directory, target)
        pointer = {"version": target, "promoted_at": _now(), "promoted_by": by,
                   "reason": f"rolled back from {current['version']}", "previous": current["previous"][:-1]}
        _write_pointer(directory, pointer)
        return {"from": current["version"], "to": target, "pointer": pointer}


def listing(directory: Path) -> list[dict]:
    """Every version, newest first: trained at, data range, held-out mean MAE per target, promoted or not,
    and why it would be refused (None when it fits this code)."""
    serving = serving_version(directory)
    rows = []
    for version in reversed(all_versions(directory)):
        card: dict = {}
        try:
            card = read_card(directory, version)
            check_card(card)
            problem = None if weights_path(directory, version).exists() else "weights file missing"
        except (OSError, ValueError) as exc:  # a garbled card is listed as refused, not hidden
            problem = str(exc)
        rows.append({"version": version, "trained_at": card.get("trained_at"), "data_range": card.get("data_range"),
                     "held_out_mae": held_out_mae(card.get("metrics")), "promoted": version == serving,
                     "problem": problem})
    return rows


def held_out_mae(metrics: dict | None) -> dict[str, float | None]:
    """Mean model MAE over the reported horizons, per target (past inputs only)."""
    out = {}
    for target, mae in ((metrics or {}).get("mae") or {}).items():
        values = [v for v in mae.get("model", []) if v is not None]
        out[target] = round(sum(values) / len(values), 3) if values else None
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

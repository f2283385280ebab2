"""What every feed shares: the run report and writing a parsed batch, keeping only what changed."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from core.db.models import Measurement, Station
from core.ingest.files import load_result
from core.ingest.store import write_site_weather
from core.ingest.tabular import ImportResult, assemble


@dataclass
class FetchReport:
    """One feed run: rows written (new or changed), hours stored, requests made, what was skipped, errors."""

    source: str
    start: datetime
    end: datetime
    rows: int = 0
    hours: int = 0
    requests: int = 0
    skipped: Counter = field(default_factory=Counter)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    newest_hour: datetime | None = None
    stations_new: int = 0
    cities: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors


def hour_floor(ts: datetime) -> datetime:
    ts = ts.astimezone(timezone.utc)
    return ts.replace(minute=0, second=0, microsecond=0)


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """Every UTC hour start from start to end, both included."""
    out, h = [], hour_floor(start)
    while h <= end:
        out.append(h)
        h += timedelta(hours=1)
    return out


def store(engine: Engine, result: ImportResult, report: FetchReport) -> int:
    """Write one parsed batch in its own transaction, only the rows that are new or changed; returns those."""
    with engine.begin() as conn:
        result.measurements = _changed(conn, result)
        summary = load_result(conn, result)
        weather = write_site_weather(conn, result.site_weather)
    if weather.unknown_sites:
        report.skipped["weather of a site not in the site locations"] += weather.unknown_sites
    report.rows += summary.loaded
    report.stations_new += summary.new_stations
    report.rejected += len(summary.rejected)
    report.skipped.update(summary.skipped)
    report.cities.update(summary.cities)
    return summary.loaded


def _changed(conn: Connection, result: ImportResult) -> pd.DataFrame:
    """The batch's rows whose station, parameter and hour are not stored yet or hold another value."""
    frame = result.measurements
    if frame.empty:
        return frame
    # The batch's hours for every station, filtered here: an IN list of thousands of ids costs more.
    station_ids = dict(conn.execute(select(Station.code, Station.id)).all())
    stored = pd.DataFrame(conn.execute(
        select(Measurement.station_id, Measurement.parameter, Measurement.ts, Measurement.value)
        .where(Measurement.ts >= frame["ts"].min().to_pydatetime(),
               Measurement.ts <= frame["ts"].max().to_pydatetime())).all(),
        columns=["station_id", "parameter", "ts", "old"])
    if stored.empty:
        return frame
    stored["ts"] = pd.to_datetime(stored["ts"], utc=True).astype(frame["ts"].dtype)
    keyed = frame.assign(station_id=frame["station_code"].map(station_ids))
    merged = keyed.merge(stored, on=["station_id", "parameter", "ts"], how="left")
    same = np.isclose(merged["value"].to_numpy(dtype=float), merged["old"].to_numpy(dtype=float), rtol=0, atol=1e-9)
    return frame.loc[~same].reset_index(drop=True)


def records_result(source: str, url: str, records: list[dict], stations: dict, parameter_names: dict,
                   now: datetime, missing_sentinel: float | None = None) -> ImportResult:
    """An ImportResult from API records (station_code, parameter, unit, value, ts); 'line' is the record number."""
    frame = pd.DataFrame(records, columns=["station_code", "parameter", "unit", "value", "ts"])
    return assemble(
        source=source, path=Path(url), lines_read=len(frame), line=np.arange(1, len(frame) + 1),
        station_code=frame["station_code"].to_numpy(dtype=object), parameter=frame["parameter"].astype(str),
        unit=frame["unit"].astype(str), value=frame["value"].astype(str),
        ts=pd.to_datetime(frame["ts"], utc=True, format="ISO8601"), stations=stations,
        parameter_names=parameter_names, skipped=Counter(), now=now, missing_sentinel=missing_sentinel)

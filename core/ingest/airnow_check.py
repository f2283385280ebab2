"""Our PM2.5 NowCast AQI against the one AirNow published (HourlyAQObs) for the same sites and hour."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from core.aqi import us_epa
from core.aqi.nowcast import METHODS, nowcast_array
from core.aqi.units import truncate_steps_array
from core.db.models import AirNowAQI, Measurement, Station
from core.db.queries import utc

HOURS = METHODS["pm25"].hours


@dataclass
class Agreement:
    """How many sites' AQI equal AirNow's at one hour; mismatches as code -> (ours, AirNow's)."""

    hour: datetime
    sites: int
    equal: int
    mismatches: dict[str, tuple[int | None, int]] = field(default_factory=dict)

    @property
    def share(self) -> float:
        return self.equal / self.sites if self.sites else float("nan")


def pm25_agreement(conn: Connection, hour: datetime, negatives: str = "as_is") -> Agreement:
    """Compare, per AirNow site with a published PM2.5 AQI at `hour`, our NowCast AQI on that date's table.

    negatives="as_is" keeps negative hours as AirNow does (its published values match that best, see
    shared/REAL_DATA.md); "clip" uses core.aqi's NowCast, which counts them as 0.
    """
    published = dict(conn.execute(
        select(Station.code, AirNowAQI.aqi).join(Station, Station.id == AirNowAQI.station_id)
        .where(AirNowAQI.parameter == "pm25", AirNowAQI.ts == hour)).all())
    if not published:
        return Agreement(hour, 0, 0)
    rows = conn.execute(
        select(Station.code, Measurement.ts, Measurement.value).join(Station, Station.id == Measurement.station_id)
        .where(Measurement.parameter == "pm25", Station.code.in_(list(published)),
               Measurement.ts > hour - timedelta(hours=HOURS), Measurement.ts <= hour)).all()
    frame = pd.DataFrame(rows, columns=["code", "ts", "value"])
    frame["age"] = [int((hour - utc(ts)).total_seconds() // 3600) for ts in frame["ts"]]
    codes = sorted(published)
    window = frame.pivot_table(index="code", columns="age", values="value", aggfunc="last").reindex(
        index=codes, columns=range(HOURS))
    values = window.to_numpy(dtype=float)
    nowcast = nowcast_array("pm25", np.maximum(values, 0.0) if negatives == "clip" else values)[0]
    # A NowCast below zero (noise around clean air) reads as 0, AirNow's lowest index.
    steps = np.maximum(truncate_steps_array(nowcast, 1), 0)
    ours = us_epa.pm25_scale(hour.date(), "pm25_1h").index_array(steps)
    mismatches = {}
    for code, mine in zip(codes, ours):
        theirs = published[code]
        mine = None if np.isnan(mine) else int(mine)
        if mine != theirs:
            mismatches[code] = (mine, theirs)
    return Agreement(hour, len(codes), len(codes) - len(mismatches), mismatches)

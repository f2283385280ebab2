"""When alerts fire: each new hour, set-based over every subscription.

Observed (per station, or a city's worst station; the NowCast-based index of the standard):
  * an episode starts when the category reaches the threshold (an "alert" message);
  * it ends (an "all clear") when the category has stayed below the threshold for CLEAR_AFTER_HOURS
    consecutive evaluated hours, or at once when it drops two or more categories below the threshold;
  * hours without an index change nothing, so a station that flaps around the threshold alerts once.
Forecast (US EPA): once a day, in the first evaluated hour from MORNING_FROM local time to before
MORNING_UNTIL, tomorrow's daily category from the newest stored forecast (the worse of PM2.5's 24-h mean and
O3's highest 8-h mean of p50, AirNow's daily rule); an alert when it reaches the threshold.

Sent exactly once: one alert_evaluations row per hour and kind is taken in the evaluating transaction (a second
worker waits on it, then skips; an hour older than one already evaluated is skipped too), a subscription changed
by a newer hour is not changed again, every alert is a unique (subscription, episode, kind) event, and each event
has one outbox row (unique dedupe key). Only subscriptions whose state changes are written.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import DateTime, bindparam, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import catalog
from core.aqi.calculator import calculate
from core.aqi.standards import category_of, standard
from core.aqi.us_epa import daily_max_8h_ozone
from core.context import Context
from core.db import queries
from core.db.models import AlertCondition, AlertEvaluation, AlertSubscription, Forecast
from core.forecast.service import AQI_CODES
from core.metrics import timed
from core.parameters import UNITS
from core.snapshots import station_snapshot

CLEAR_AFTER_HOURS = 2
MORNING_FROM, MORNING_UNTIL = 7, 12  # local hours: the morning forecast is out by 07:00
FORECAST_MAX_AGE = timedelta(hours=6)  # an older forecast issue is not "this morning's"
KEEP = timedelta(days=7)
STAMP = DateTime(timezone=True)

_PLACE_JOIN = {"station": "c.place = 'station' AND c.place_id = s.station_id",
               "city": "c.place = 'city' AND c.place_id = s.city_id"}
# Only rows whose state changes are written: entering an episode, or any hour of an episode spent below the
# threshold (counting, or the all clear), or back above it after such hours. A row already changed by a newer
# hour is left alone.
OBSERVED_UPDATE = """
UPDATE alert_subscriptions AS s SET
  transition = CASE
    WHEN s.episode_start IS NULL THEN 'alert'
    WHEN c.category < s.category AND (s.below_hours + 1 >= :clear_after OR c.category <= s.category - 2)
      THEN 'clear' END,
  last_episode = CASE WHEN s.episode_start IS NULL THEN :hour ELSE s.last_episode END,
  episode_start = CASE
    WHEN s.episode_start IS NULL THEN :hour
    WHEN c.category < s.category AND (s.below_hours + 1 >= :clear_after OR c.category <= s.category - 2) THEN NULL
    ELSE s.episode_start END,
  below_hours = CASE WHEN s.episode_start IS NOT NULL AND c.category < s.category
                          AND s.below_hours + 1 < :clear_after AND c.category > s.category - 2
                     THEN s.below_hours + 1 ELSE 0 END,
  changed_hour = :hour, last_index = c.value, last_category = c.category
FROM alert_conditions AS c
WHERE c.hour = :hour AND c.kind = 'observed' AND c.standard = s.standard AND {place}
  AND s.kind = 'observed' AND s.status = 'active' AND (s.changed_hour IS NULL OR s.changed_hour < :hour)
  AND ((s.episode_start IS NULL AND c.category >= s.category)
       OR (s.episode_start IS NOT NULL AND (c.category < s.category OR s.below_hours > 0)))
"""
OBSERVED_EVENTS = """
INSERT INTO alert_events (subscription_id, episode, kind, hour, category, value, created_at)
SELECT s.id, s.last_episode, s.transition, :hour, s.last_category, s.last_index, :now
FROM alert_subscriptions AS s
WHERE s.changed_hour = :hour AND s.transition IS NOT NULL AND s.kind = 'observed'
ON CONFLICT (subscription_id, episode, kind) DO NOTHING
"""
FORECAST_EVENTS = """
INSERT INTO alert_events (subscription_id, episode, kind, hour, category, value, created_at)
SELECT s.id, c.episode, 'forecast', :hour, c.category, c.value, :now
FROM alert_subscriptions AS s JOIN alert_conditions AS c
  ON c.hour = :hour AND c.kind = 'forecast' AND c.standard = s.standard AND {place}
WHERE s.kind = 'forecast' AND s.status = 'active' AND c.category >= s.category
ON CONFLICT (subscription_id, episode, kind) DO NOTHING
"""
OUTBOX_ROWS = """
INSERT INTO alert_outbox (channel, target, payload, dedupe_key, state, attempts, due_at, created_at)
SELECT s.channel, s.target, '{{"event_id": ' || CAST(e.id AS VARCHAR(20)) || '}}',
       'alert-event:' || CAST(e.id AS VARCHAR(20)), 'pending', 0, :now, :now
FROM alert_events AS e JOIN alert_subscriptions AS s ON s.id = e.subscription_id
WHERE e.hour = :hour AND e.kind IN ({kinds})
ON CONFLICT (dedupe_key) DO NOTHING
"""


def _sql(statement: str):
    """The statement with its time parameters typed (SQLite stores times as SQLAlchemy writes them)."""
    names = [name for name in ("hour", "now") if f":{name}" in statement]
    return text(statement).bindparams(*(bindparam(name, type_=STAMP) for name in names))


def _insert(session: Session, model):
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).on_conflict_do_nothing()


def take_hour(session: Session, hour: datetime, kind: str) -> bool:
    """Take the (hour, kind) evaluation in this transaction; False when another worker has (or already did), or
    when a newer hour has been evaluated."""
    newest = session.scalar(select(func.max(AlertEvaluation.hour)).where(AlertEvaluation.kind == kind))
    if newest is not None and queries.utc(newest) > hour:
        return False
    return session.execute(_insert(session, AlertEvaluation).values(hour=hour, kind=kind)
                           .returning(AlertEvaluation.hour)).first() is not None


def _worst_by_city(rows: list[dict], stations: dict[int, dict]) -> list[dict]:
    worst: dict[tuple[int, str], dict] = {}
    for row in rows:
        key = (stations[row["place_id"]]["city_id"], row["standard"])
        best = worst.get(key)
        if best is None or (row["category"], row["value"] or 0) > (best["category"], best["value"] or 0):
            worst[key] = row
    return [{**row, "place": "city", "place_id": city_id} for (city_id, _), row in worst.items()]


def observed_conditions(session: Session, stations: dict[int, dict], standards: list[str],
                        hour: datetime) -> list[dict]:
    """Each station's and city's category at `hour` under each standard (places without an index left out)."""
    rows = []
    for code in standards:
        position = {c.name: i for i, c in enumerate(standard(code).categories)}
        for s in station_snapshot(session, code, as_of=hour)["stations"]:
            if s["category"] in position and s["id"] in stations:
                rows.append({"hour": hour, "kind": "observed", "place": "station", "place_id": s["id"],
                             "standard": code, "category": position[s["category"]], "value": s["aqi"],
                             "episode": None})
    return rows + _worst_by_city(rows, stations)


def _daily_aqi(parameter: str, series: pd.Series, day: date, tz: str) -> int | None:
    local = series.tz_convert(tz)
    on_day = local[local.index.date == day]
    if on_day.empty:
        return None
    value = float(on_day.mean()) if parameter == "pm25" else daily_max_8h_ozone(series, day, tz)
    if value is None:
        return None
    return calculate("us_epa", AQI_CODES[parameter], max(value, 0.0), UNITS[parameter])["aqi"]


def forecast_conditions(session: Session, stations: dict[int, dict], hour: datetime) -> list[dict]:
    """Tomorrow's US EPA daily category per station (and city) whose local time is in the morning window."""
    morning = {sid: s for sid, s in stations.items()
               if MORNING_FROM <= hour.astimezone(ZoneInfo(s["timezone"])).hour < MORNING_UNTIL}
    issued = session.scalar(select(func.max(Forecast.issued_at)).where(Forecast.issued_at <= hour))
    if not morning or issued is None or queries.utc(issued) < hour - FORECAST_MAX_AGE:
        return []
    frame = pd.DataFrame(session.execute(
        select(Forecast.station_id, Forecast.parameter, Forecast.target_ts, Forecast.p50)
        .where(Forecast.issued_at == issued, Forecast.parameter.in_(AQI_CODES),
               Forecast.station_id.in_(list(morning)))).all(), columns=["station_id", "parameter", "ts", "p50"])
    rows = []
    for (station_id, parameter), group in frame.groupby(["station_id", "parameter"]):
        tz = morning[station_id]["timezone"]
        tomorrow = hour.astimezone(ZoneInfo(tz)).date() + timedelta(days=1)
        series = pd.Series(group["p50"].to_numpy(), index=pd.DatetimeIndex(pd.to_datetime(group["ts"], utc=True)))
        aqi = _daily_aqi(parameter, series, tomorrow, tz)
        if aqi is not None:
            rows.append({"place_id": int(station_id), "aqi": aqi,
                         "episode": datetime.combine(tomorrow, time(), tzinfo=timezone.utc)})
    daily: dict[int, dict] = {}
    for row in rows:  # the day's index is the worse pollutant's
        if row["place_id"] not in daily or row["aqi"] > daily[row["place_id"]]["aqi"]:
            daily[row["place_id"]] = row
    out = [{"hour": hour, "kind": "forecast", "place": "station", "place_id": sid, "standard": "us_epa",
            "category": category_of("us_epa", r["aqi"]), "value": float(r["aqi"]), "episode": r["episode"]}
           for sid, r in daily.items() if category_of("us_epa", r["aqi"]) >= 0]
    return out + _worst_by_city(out, stations)


def _apply(session: Session, hour: datetime, kind: str, conditions: list[dict]) -> int:
    """Write the conditions, update the subscriptions, insert the events and their outbox rows; events added."""
    now = datetime.now(timezone.utc)
    if conditions:
        session.execute(_insert(session, AlertCondition), conditions)
    added = 0
    for place in _PLACE_JOIN.values():
        if kind == "observed":
            session.execute(_sql(OBSERVED_UPDATE.format(place=place)),
                            {"hour": hour, "clear_after": CLEAR_AFTER_HOURS})
        else:
            added += session.execute(_sql(FORECAST_EVENTS.format(place=place)), {"hour": hour, "now": now}).rowcount
    if kind == "observed":
        added = session.execute(_sql(OBSERVED_EVENTS), {"hour": hour, "now": now}).rowcount
    kinds = "'alert', 'clear'" if kind == "observed" else "'forecast'"
    session.execute(_sql(OUTBOX_ROWS.format(kinds=kinds)), {"hour": hour, "now": now})
    return added


def _watched(session: Session, kind: str) -> list[str]:
    """The standards active subscriptions of this kind follow (none: nothing to compute)."""
    return sorted(session.scalars(select(AlertSubscription.standard).distinct().where(
        AlertSubscription.kind == kind, AlertSubscription.status == "active")))


@timed("alerts", "evaluate")
def evaluate(ctx: Context, hour: datetime | None = None) -> dict:
    """Evaluate every active subscription against `hour` (None: the newest hour with data), once per hour
    across all workers: {"hour", "observed": events added or None (another worker has it), "forecast": …}."""
    stations = {s["id"]: s for s in catalog.stations(ctx)}
    out: dict = {"hour": None, "observed": None, "forecast": None}
    with ctx.session() as session:
        hour = hour or queries.latest_hour(session)
    if hour is None:
        return out
    out["hour"] = hour
    for kind in ("observed", "forecast"):
        with ctx.session() as session:
            standards = _watched(session, kind)
            if not take_hour(session, hour, kind):
                session.rollback()
                continue
            conditions = []
            if standards:
                conditions = (observed_conditions(session, stations, standards, hour) if kind == "observed"
                              else forecast_conditions(session, stations, hour))
            out[kind] = _apply(session, hour, kind, conditions)
            session.execute(delete(AlertCondition).where(AlertCondition.hour < hour - KEEP))
            session.execute(delete(AlertEvaluation).where(AlertEvaluation.hour < hour - KEEP))
            session.commit()
    return out

"""The read queries the pages and the API use; each one function, each timed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd
from sqlalchemy import BigInteger, Select, func, select, text
from sqlalchemy.orm import Session

from core.db.models import City, Measurement, Station, Weather
from core.metrics import timed

MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page:
    data: list[dict]
    page: int
    limit: int
    found: int

    def as_dict(self) -> dict:
        return {"data": self.data, "meta": {"page": self.page, "limit": self.limit, "found": self.found}}


def paginate(session: Session, query: Select, limit: int = 100, page: int = 1) -> Page:
    """Run `query` for one page (1-based) and count all matching rows."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    if page < 1:
        raise ValueError("page must be 1 or more")
    found = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = session.execute(query.limit(limit).offset((page - 1) * limit)).mappings().all()
    return Page([dict(r) for r in rows], page, limit, found)


def utc(ts: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC by our storage rule."""
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


CITY_COLUMNS = (City.id, City.name, City.country, City.timezone, City.lat, City.lon)
STATION_COLUMNS = (Station.id, Station.code, Station.name, Station.city_id, City.name.label("city"),
                   City.timezone, Station.lat, Station.lon, Station.kind, Station.source, Station.active)


@timed("db", "cities")
def cities(session: Session) -> list[dict]:
    """All cities with their station counts."""
    rows = session.execute(
        select(*CITY_COLUMNS, func.count(Station.id).label("stations"))
        .outerjoin(Station).group_by(City.id).order_by(City.name)).mappings().all()
    return [dict(r) for r in rows]


def stations_query(city: str | None = None, kind: str | None = None, active: bool | None = None,
                   bbox: tuple[float, float, float, float] | None = None) -> Select:
    """Stations filtered by city name, kind, active flag and bounding box (min_lon, min_lat, max_lon, max_lat)."""
    query = select(*STATION_COLUMNS).join(City).order_by(Station.id)
    if city is not None:
        query = query.where(City.name == city)
    if kind is not None:
        query = query.where(Station.kind == kind)
    if active is not None:
        query = query.where(Station.active == active)
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        query = query.where(Station.lon.between(min_lon, max_lon), Station.lat.between(min_lat, max_lat))
    return query


@timed("db", "stations")
def stations(session: Session, **filters) -> list[dict]:
    """All stations matching the filters of stations_query."""
    return [dict(r) for r in session.execute(stations_query(**filters)).mappings().all()]


@timed("db", "station")
def station(session: Session, station_id: int) -> dict | None:
    row = session.execute(select(*STATION_COLUMNS).join(City).where(Station.id == station_id)).mappings().first()
    return dict(row) if row else None


@timed("db", "latest_hour")
def latest_hour(session: Session) -> datetime | None:
    """The newest hour with any measurement (index-only in PostgreSQL)."""
    ts = session.execute(select(func.max(Measurement.ts))).scalar_one_or_none()
    return utc(ts) if ts else None


LATEST_PG = text("""
    SELECT DISTINCT ON (m.station_id, m.parameter)
           m.station_id, m.parameter, EXTRACT(EPOCH FROM m.ts)::bigint AS ts, m.value, m.unit, m.quality
    FROM measurements m
    WHERE m.ts > :since AND m.ts <= :until AND m.quality < 2
    ORDER BY m.station_id, m.parameter, m.ts DESC
""")
# SQLite returns the bare columns of the row holding max(ts) (documented behaviour).
LATEST_SQLITE = text("""
    SELECT m.station_id, m.parameter, CAST(strftime('%s', max(m.ts)) AS INTEGER) AS ts, m.value, m.unit, m.quality
    FROM measurements m
    WHERE m.ts > :since AND m.ts <= :until AND m.quality < 2
    GROUP BY m.station_id, m.parameter
""")


@timed("db", "latest_readings")
def latest_readings(session: Session, until: datetime | None = None, lookback_hours: int = 2) -> list[dict]:
    """The latest valid reading per station and parameter within lookback_hours up to `until`.

    Two hours by default: with neither this hour nor the one before, NowCast's 2-of-3 rule cannot be met, so
    an older reading is not "current" (AirNow drops such sites too).
    """
    until = until or datetime.now(timezone.utc)
    since = until - timedelta(hours=lookback_hours)
    sql = LATEST_PG if session.get_bind().dialect.name == "postgresql" else LATEST_SQLITE
    rows = session.connection().execute(sql, {"since": _bind_ts(session, since), "until": _bind_ts(session, until)})
    hours: dict[int, datetime] = {}  # few distinct hours: build each datetime once
    return [{"station_id": sid, "parameter": p, "value": v, "unit": u, "quality": q,
             "ts": hours.get(ts) or hours.setdefault(ts, datetime.fromtimestamp(ts, timezone.utc))}
            for sid, p, ts, v, u, q in rows]


@timed("db", "recent_window")
def recent_window(session: Session, end: datetime, hours: int = 24,
                  station_ids: list[int] | None = None) -> pd.DataFrame:
    """Valid hourly values in (end - hours, end] as a frame (station_id, parameter, ts, value)."""
    query = (select(Measurement.station_id, Measurement.parameter, _epoch(session), Measurement.value)
             .where(Measurement.ts > end - timedelta(hours=hours), Measurement.ts <= end, Measurement.quality < 2))
    if station_ids is not None:
        query = query.where(Measurement.station_id.in_(station_ids))
    return _frame(session, query, ["station_id", "parameter", "ts", "value"])


def _epoch(session: Session):
    # Whole seconds as integers: building one datetime object per row costs more than the query itself.
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Measurement.ts).cast(BigInteger).label("ts")
    return func.strftime("%s", Measurement.ts).cast(BigInteger).label("ts")


@timed("db", "station_series")
def station_series(session: Session, station_id: int, start: datetime, end: datetime,
                   parameters: list[str] | None = None) -> pd.DataFrame:
    """A station's hourly values in [start, end) as a frame (parameter, ts, value, unit, quality)."""
    query = (select(Measurement.parameter, _epoch(session), Measurement.value, Measurement.unit, Measurement.quality)
             .where(Measurement.station_id == station_id, Measurement.ts >= start, Measurement.ts < end)
             .order_by(Measurement.parameter, Measurement.ts))
    if parameters:
        query = query.where(Measurement.parameter.in_(parameters))
    return _frame(session, query, ["parameter", "ts", "value", "unit", "quality"])


def measurements_query(station_id: int, start: datetime, end: datetime, parameter: str | None = None) -> Select:
    """A station's hourly measurements in [start, end), by hour then parameter."""
    query = (select(Measurement.ts, Measurement.parameter, Measurement.value, Measurement.unit, Measurement.quality)
             .where(Measurement.station_id == station_id, Measurement.ts >= start, Measurement.ts < end)
             .order_by(Measurement.ts, Measurement.parameter))
    if parameter is not None:
        query = query.where(Measurement.parameter == parameter)
    return query


@timed("db", "measurements_page")
def measurements_page(session: Session, station_id: int, start: datetime, end: datetime,
                      parameter: str | None = None, limit: int = 100, page: int = 1) -> Page:
    """One page of measurements_query, with the count of all matching rows."""
    return paginate(session, measurements_query(station_id, start, end, parameter), limit, page)


@timed("db", "measurements")
def measurements(session: Session, station_id: int, start: datetime, end: datetime,
                 parameter: str | None = None) -> list[tuple]:
    """All rows of measurements_query as (ts, parameter, value, unit, quality) tuples, ts in UTC."""
    return [(utc(ts), *rest) for ts, *rest in session.execute(
        measurements_query(station_id, start, end, parameter)).all()]


@timed("db", "city_weather")
def city_weather(session: Session, end: datetime, hours: int = 24) -> pd.DataFrame:
    """Hourly weather of every city in (end - hours, end]."""
    query = select(Weather).where(Weather.ts > end - timedelta(hours=hours), Weather.ts <= end)
    frame = pd.read_sql(query, session.connection())
    if not frame.empty:
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def _frame(session: Session, query: Select, columns: list[str]) -> pd.DataFrame:
    # Column-wise construction: pandas builds a frame from a list of rows ten times slower.
    rows = session.connection().execute(query).all()
    frame = pd.DataFrame({name: list(values) for name, values in zip(columns, zip(*rows))} if rows
                         else {name: [] for name in columns})
    frame["ts"] = pd.to_datetime(frame["ts"].astype("int64"), unit="s", utc=True)
    return frame


def _bind_ts(session: Session, ts: datetime):
    # Raw SQL bypasses SQLAlchemy's SQLite datetime processor: bind the stored text form there.
    if session.get_bind().dialect.name == "sqlite":
        return ts.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.000000")
    return ts



@timed("db", "export_measurements")
def export_measurements(session: Session, station_ids: list[int], parameters: list[str], start: datetime,
                        end: datetime, batch: int = 5000):
    """Rows (ts, station_id, parameter, value, unit, quality, humidity_pct) in [start, end), by station then hour,
    streamed from a server-side cursor in batches; humidity is the station's city's for that hour (None if absent).

    The timer covers running the query; the caller iterates the returned result inside its own session.
    """
    query = (select(Measurement.ts, Measurement.station_id, Measurement.parameter, Measurement.value,
                    Measurement.unit, Measurement.quality, Weather.humidity_pct)
             .join(Station, Station.id == Measurement.station_id)
             .outerjoin(Weather, (Weather.city_id == Station.city_id) & (Weather.ts == Measurement.ts))
             .where(Measurement.station_id.in_(station_ids), Measurement.parameter.in_(parameters),
                    Measurement.ts >= start, Measurement.ts < end)
             .order_by(Measurement.station_id, Measurement.ts, Measurement.parameter))
    return session.execute(query, execution_options={"stream_results": True, "yield_per": batch})

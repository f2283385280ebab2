"""Typed SQLAlchemy 2 models: cities, stations, measurements, weather, forecasts, feeds, job runs and users."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class City(Base):
    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    country: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name; the UI shows this local time
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)

    stations: Mapped[list[Station]] = relationship(back_populates="city")


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"), index=True)
    # Nullable: an AirNow data file names a site without its coordinates.
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16), default="reference")  # reference | low_cost
    source: Mapped[str] = mapped_column(String(16), default="simulator")  # simulator | openaq | airnow
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Site metadata from the source (AirNow's site-locations file); None where it says nothing.
    agency: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str | None] = mapped_column(String(64))
    county: Mapped[str | None] = mapped_column(String(64))
    msa: Mapped[str | None] = mapped_column(String(120))
    utc_offset_hours: Mapped[float | None] = mapped_column(Float)  # local standard time of the site

    city: Mapped[City] = relationship(back_populates="stations")

    __table_args__ = (Index("ix_stations_lon_lat", "lon", "lat"),)


class Measurement(Base):
    """One hourly value per station, parameter and UTC hour (PostgreSQL: partitioned by month)."""

    __tablename__ = "measurements"

    station_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # no FK: see migration 0001
    parameter: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(8))
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)

    __table_args__ = (
        Index("ix_measurements_ts", "ts"),
        {"postgresql_partition_by": "RANGE (ts)"},
    )


class Weather(Base):
    """Hourly weather per city (the simulator and the forecaster use one series per city)."""

    __tablename__ = "weather"

    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"), primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    humidity_pct: Mapped[float | None] = mapped_column(Float)
    wind_speed_ms: Mapped[float | None] = mapped_column(Float)
    wind_dir_deg: Mapped[float | None] = mapped_column(Float)
    pressure_hpa: Mapped[float | None] = mapped_column(Float)
    precipitation_mm: Mapped[float | None] = mapped_column(Float)
    # observed (the simulator, sites' instruments) > archive (Open-Meteo reanalysis) > forecast (Open-Meteo).
    source: Mapped[str] = mapped_column(String(8), server_default="observed")


class Forecast(Base):
    """One stored forecast hour: quantiles of a parameter at a station, per issue hour and horizon."""

    __tablename__ = "forecasts"

    station_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parameter: Mapped[str] = mapped_column(String(8), primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)  # last observed hour
    horizon: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # hours after issued_at, 1..72
    target_ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    p10: Mapped[float] = mapped_column(Float)
    p50: Mapped[float] = mapped_column(Float)
    p90: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(32))

    # The primary key (station_id, parameter, issued_at, …) answers "latest issue per station";
    # this one serves the batch's retention delete.
    __table_args__ = (Index("ix_forecasts_issued_at", "issued_at"),)


class AirNowAQI(Base):
    """AirNow's own published AQI per station, parameter and UTC hour (HourlyAQObs): a check of ours."""

    __tablename__ = "airnow_aqi"

    station_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parameter: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    aqi: Mapped[int] = mapped_column(SmallInteger)


class FeedCursor(Base):
    """Per live feed: the newest hour stored (the incremental cursor) and how its last run went."""

    __tablename__ = "feed_cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    newest_hour: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_rows: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed runs


class JobRun(Base):
    """The job history: one row per run, with progress while it runs."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(32), index=True)
    # Set to the job's name while it runs, NULL after: the unique constraint is the lock that keeps a job from
    # running twice at once, across workers and hosts sharing the database.
    running_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed | cancelled
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str | None] = mapped_column(Text)  # JSON
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)  # the printed first password
    session_version: Mapped[int] = mapped_column(Integer, default=0)  # bumped to end every session at once


class FeedRequests(Base):
    """Requests a feed made per UTC hour: keeps a rate-limited API (AirNow: 500/h per key) within its budget."""

    __tablename__ = "feed_requests"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)


class ApiToken(Base):
    """A user's API token: only its SHA-256 digest is stored; its scopes bound what it may do."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256 of the token
    scopes: Mapped[str] = mapped_column(String(120))  # space-separated
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertSubscription(Base):
    """A public alert subscription (e-mail or webhook) for a station or a city, with its observed-episode state."""

    __tablename__ = "alert_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    target: Mapped[str] = mapped_column(String(320))  # the address or the https URL
    city_id: Mapped[int | None] = mapped_column(ForeignKey("cities.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    standard: Mapped[str] = mapped_column(String(16))
    category: Mapped[int] = mapped_column(SmallInteger)  # threshold: the position of the category in the standard
    kind: Mapped[str] = mapped_column(String(16))  # observed | forecast
    status: Mapped[str] = mapped_column(String(16))  # pending | active | paused | unsubscribed
    token: Mapped[str] = mapped_column(String(64), unique=True)  # confirm, unsubscribe and feed links
    secret: Mapped[str | None] = mapped_column(String(64))  # webhook HMAC key
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Observed alerts: the hour that last changed this state (an older hour never changes it again), the
    # episode under way (NULL: none), the newest episode's start, hours below the threshold since.
    changed_hour: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    episode_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_episode: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    below_hours: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    transition: Mapped[str | None] = mapped_column(String(16))  # alert | clear | NULL: what changed_hour did
    last_index: Mapped[float | None] = mapped_column(Float)
    last_category: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        CheckConstraint("(city_id IS NULL) <> (station_id IS NULL)", name="ck_alert_subscriptions_place"),
        Index("ix_alert_subscriptions_station", "station_id", "standard"),
        Index("ix_alert_subscriptions_city", "city_id", "standard"),
    )


class AlertEvent(Base):
    """One alert a subscription earned: the unique (subscription, episode, kind) row is what makes it once."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("alert_subscriptions.id", ondelete="CASCADE"))
    # The observed episode's start hour, or the local day a forecast is about (its date at 00:00 UTC).
    episode: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16))  # alert | clear | forecast
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # the hour evaluated
    category: Mapped[int] = mapped_column(SmallInteger)
    value: Mapped[float | None] = mapped_column(Float)  # NowCast AQI, or the forecast's daily AQI
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("subscription_id", "episode", "kind", name="uq_alert_events_once"),
        Index("ix_alert_events_hour", "hour"),
    )


class AlertEvaluation(Base):
    """An (hour, kind) evaluation taken by one worker: the row is the lock that makes the others skip it."""

    __tablename__ = "alert_evaluations"

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # observed | forecast


class AlertCondition(Base):
    """A place's category in an evaluated hour (observed NowCast, or tomorrow's forecast), written before the
    set-based update of the subscriptions that watch it; every worker writes the same rows."""

    __tablename__ = "alert_conditions"

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # observed | forecast
    place: Mapped[str] = mapped_column(String(8), primary_key=True)  # station | city
    place_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    standard: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[int] = mapped_column(SmallInteger)
    value: Mapped[float | None] = mapped_column(Float)
    episode: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # forecast: the day it is about


class OutboxMessage(Base):
    """A message waiting to go out (or gone): claimed by one deliverer at a time, retried, dead-lettered."""

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    target: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | failed | dead | dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a deliverer's lease
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_alert_outbox_due", "state", "due_at"),)


class DeliveryAttempt(Base):
    """Every send of an outbox message, successful or not."""

    __tablename__ = "alert_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("alert_outbox.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(String(500))


class OperatorAlertRule(Base):
    """An operator alert rule (one per performance check): its Grafana-style state and current episode."""

    __tablename__ = "operator_alert_rules"

    rule: Mapped[str] = mapped_column(String(64), primary_key=True)  # the check's key (api_p95, feed:openaq…)
    state: Mapped[str] = mapped_column(String(12))  # normal | pending | firing | recovering
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when it entered `state`
    severity: Mapped[str | None] = mapped_column(String(8))  # warning | critical while not normal
    value: Mapped[float | None] = mapped_column(Float)  # the check's figure at the last evaluation
    episode: Mapped[int] = mapped_column(Integer, default=0)  # firing episodes so far: the current or last one
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the episode's start
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # its last notification
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OperatorAlertSilence(Base):
    """Notifications of one rule (or all: rule NULL) muted until a time, or until the rule resolves."""

    __tablename__ = "operator_alert_silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # NULL: until the rule resolves
    created_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(300), default="")
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # lifted, or the rule resolved

    __table_args__ = (Index("ix_operator_alert_silences_open", "ended_at", "until"),)


class OperatorAlertAck(Base):
    """Someone took a firing episode in hand: no reminders for it until it resolves."""

    __tablename__ = "operator_alert_acks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    episode: Mapped[int] = mapped_column(Integer)
    acknowledged_by: Mapped[str] = mapped_column(String(80))
    acknowledged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("rule", "episode", name="uq_operator_alert_acks_episode"),)


class OperatorAlertEvent(Base):
    """The history: each state transition of a rule, and each notification (sent, or held by a silence)."""

    __tablename__ = "operator_alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    from_state: Mapped[str] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str | None] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float)
    episode: Mapped[int] = mapped_column(Integer)
    notification: Mapped[str | None] = mapped_column(String(12))  # firing | escalated | reminder | resolved
    silenced: Mapped[bool] = mapped_column(Boolean, default=False)


class CamsForecast(Base):
    """CAMS air-quality forecast per city, parameter and UTC hour as Open-Meteo published it (storage units)."""

    __tablename__ = "cams_forecasts"

    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"), primary_key=True)
    parameter: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(8))
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

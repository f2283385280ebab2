"""Typed SQLAlchemy 2 models: cities, stations, measurements, weather, forecasts, feeds, job runs and users."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
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

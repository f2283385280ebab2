"""One settings object: defaults here, overrides from config/settings.toml (if present), then the environment."""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

import limits
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from core.aqi.standards import StandardCode

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = ROOT / "config" / "settings.toml"
# A CSP source expression: a keyword, a scheme (https:) or a host source ([scheme://][*.]host[:port][/path]).
CSP_SOURCE = re.compile(r"'(?:self|none)'|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*://)?(?:\*\.)?"
                        r"[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::(?:[0-9]{1,5}|\*))?(?:/[a-z0-9._~%/-]*)?", re.IGNORECASE)
PG_MEMORY = re.compile(r"[0-9]{1,12}(?:B|kB|MB|GB|TB)?")


def _env(name: str) -> AliasChoices:
    """Accept both the plain name (DATABASE_URL) and the prefixed one (AQI_DATABASE_URL)."""
    return AliasChoices(name.lower(), name.upper(), f"AQI_{name.upper()}")


class SettingsError(RuntimeError):
    """Raised when settings are invalid; the message names each bad setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AQI_", extra="forbid", populate_by_name=True,
                                      use_attribute_docstrings=True)

    database_url: str = Field("sqlite:///var/aqi.db", validation_alias=_env("database_url"))
    """SQLAlchemy URL: the embedded SQLite file, or `postgresql+psycopg://user@host/db`."""
    redis_url: str = Field("", validation_alias=_env("redis_url"))
    """Empty: in-process cache and metrics. `redis://host:6379/0` shares them across workers and hosts."""
    host: str = "127.0.0.1"
    """Address `make run` serves on."""
    port: int = Field(8050, ge=1, le=65535, validation_alias=_env("port"))
    """Port `make run` and `make serve` listen on."""
    environment: Literal["development", "production", "test"] = "development"
    """`production` refuses to start without a secret key."""
    secret_key: str = Field("", validation_alias=_env("secret_key"))
    """Signs session cookies; required in production (development keeps a random one in `var/secret_key`)."""

    pool_size: int = Field(30, ge=1)
    """SQLAlchemy pool size per process (LIFO, pre-ping); pool size × workers must stay below `max_connections`."""
    max_overflow: int = Field(50, ge=0)
    """Connections allowed beyond the pool size."""
    pool_recycle_s: int = Field(1800, ge=1)
    """Connections older than this are replaced."""
    pool_timeout_s: float = Field(10, gt=0)
    """How long a request waits for a free connection."""

    pg_jit: bool = False
    """PostgreSQL JIT for this app's sessions (off: the queries are short)."""
    pg_work_mem: str = "16MB"
    """Per-session `work_mem`."""
    pg_random_page_cost: float = Field(1.1, gt=0)
    """Per-session `random_page_cost` (SSD)."""
    pg_effective_io_concurrency: int = Field(200, ge=0, le=1000)
    """Per-session `effective_io_concurrency`."""
    pg_effective_cache_size: str = "4GB"
    """Per-session `effective_cache_size`."""
    pg_statement_timeout_ms: int = Field(30000, ge=0)
    """Per-session `statement_timeout` (0: none)."""

    sqlite_busy_timeout_ms: int = Field(5000, ge=0)
    """How long SQLite waits for the writer's lock."""

    seed: int = 42
    """Random seed of the simulated demo data."""
    seed_days: int = Field(90, ge=1)
    """Days of demo data seeded on first start."""
    seed_stations: int = Field(84, ge=6)
    """Simulated stations."""
    live_simulation: bool = True
    """`make run` appends each new simulated hour while it serves."""

    # Cache time-to-live per namespace, seconds (API Cache-Control uses the same numbers).
    ttl_current_aqi: int = Field(180, ge=1)
    """Cache time-to-live (s) of current AQI; the API's `Cache-Control` follows each TTL."""
    ttl_forecast: int = Field(1800, ge=1)
    """Cache time-to-live (s) of forecasts."""
    ttl_attribution: int = Field(1800, ge=1)
    """Cache time-to-live (s) of forecast explanations."""
    ttl_spatial: int = Field(1800, ge=1)
    """Cache time-to-live (s) of interpolated surfaces."""
    ttl_weather: int = Field(900, ge=1)
    """Cache time-to-live (s) of weather."""
    ttl_stations: int = Field(86400, ge=1)
    """Cache time-to-live (s) of cities and stations (dropped on import)."""

    cache_enabled: bool = True
    """False: every read goes to the database (to measure what the cache buys)."""
    redis_cluster: bool = False
    """`redis_url` names a Redis Cluster node."""
    cache_warm_on_start: bool = True
    """Warm the cache in the background when the server starts."""

    # Operator thresholds: warning / critical.
    api_p95_warn_ms: float = 500
    """API p95 warning threshold (ms)."""
    api_p95_crit_ms: float = 1000
    """API p95 critical threshold (ms)."""
    callback_p95_warn_ms: float = 500
    """Dash callback p95 warning threshold (ms)."""
    callback_p95_crit_ms: float = 1000
    """Dash callback p95 critical threshold (ms)."""
    db_p95_warn_ms: float = 100
    """Database query p95 warning threshold (ms)."""
    db_p95_crit_ms: float = 250
    """Database query p95 critical threshold (ms)."""
    cache_hit_warn: float = Field(0.70, ge=0, le=1)
    """Cache hit rate below this is a warning."""
    cache_hit_crit: float = Field(0.50, ge=0, le=1)
    """Cache hit rate below this is critical."""
    inference_p95_warn_ms: float = 200
    """Forecast inference p95 warning threshold (ms)."""
    inference_p95_crit_ms: float = 300
    """Forecast inference p95 critical threshold (ms)."""
    panel_refresh_s: int = Field(5, ge=1)
    """Operator panel refresh interval (s)."""

    api_rate_limit: str = "1200/minute"
    """API requests per client address, one limit such as 1200/minute (counted in Redis when configured)."""

    # Access and jobs
    access_map: Literal["public", "analyst", "operator", "admin"] = "public"
    """Role needed for the map, calculator and embed."""
    access_forecast: Literal["public", "analyst", "operator", "admin"] = "public"
    """Role needed for forecasts."""
    access_performance: Literal["public", "analyst", "operator", "admin"] = "operator"
    """Role needed for the operator panel."""
    access_admin: Literal["public", "analyst", "operator", "admin"] = "admin"
    """Role needed for the admin page."""
    login_rate_limit: str = "10/minute"
    """Failed sign-ins allowed per account and per client address (sign-in form, HTTP Basic, API tokens)."""
    jobs_backend: Literal["thread", "celery"] = "thread"
    """`celery`: admin jobs run on `python app.py worker` processes through the Redis broker."""

    map_tiles: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    """Raster tile URL template; empty for none (the map's style is local, so it works offline)."""
    map_tiles_attribution: str = "© OpenStreetMap contributors"
    """Attribution shown with the tiles."""
    map_refresh_s: int = Field(60, ge=5)
    """Map auto-refresh interval (s)."""
    default_standard: StandardCode = "us_epa"
    """AQI standard shown first."""

    # Embed: origins allowed to frame /embed/… (CSP frame-ancestors source list, space-separated).
    embed_allowed_origins: str = Field("'self'", min_length=1)
    """Space-separated origins that may frame `/embed/…` (CSP `frame-ancestors`)."""

    # Forecast
    forecast_model_dir: str = "var/models"
    """Versioned model weights and JSON cards; relative to the repository root."""
    forecast_threads_inter: int = Field(1, ge=0)
    """TensorFlow inter-op threads (0: TensorFlow decides)."""
    forecast_threads_intra: int = Field(2, ge=0)
    """TensorFlow intra-op threads (0: TensorFlow decides)."""
    forecast_jit: bool = True
    """XLA-compile the inference function (bench/forecast.py measures it)."""
    forecast_precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = "float32"
    """Inference precision; float32 is fastest on this CPU."""
    forecast_lru_size: int = Field(4096, ge=1)
    """Per-process cache of model outputs per station and hour."""
    forecast_train_days: int = Field(75, ge=4)
    """History used by `app.py train`."""
    forecast_epochs: int = Field(4, ge=1)
    """Training epochs."""
    forecast_train_on_start: bool = True
    """`make run` trains the small model when none exists."""
    forecast_batch_enabled: bool = True
    """`make run` forecasts every station each new hour."""
    forecast_batch_check_s: int = Field(60, ge=1)
    """How often the forecast batch looks for a new hour (s)."""
    forecast_keep_days: int = Field(7, ge=1)
    """Stored forecasts older than this are deleted."""
    forecast_ig_steps: int = Field(32, ge=4)
    """Integrated-gradients steps for explanations."""
    forecast_challenger_held_out_days: int = Field(14, ge=4, le=60)
    """Newest days the weekly challenger does not train on: it and the promoted model are scored on them."""

    # Live feeds. Base URLs are settings so a mirror or a local test server can stand in.
    feeds: str = ""
    """Comma-separated sources the schedule fetches: `airnow-files`, `airnow-api`, `openaq` (empty: the simulator)."""
    airnow_files_url: str = "https://files.airnowtech.org"
    """Base of AirNow's public file archive (or a mirror, or a local folder laid out like it)."""
    airnow_api_url: str = "https://www.airnowapi.org"
    """Base of AirNow's observation API."""
    airnow_api_key: str = ""
    """AirNow API key."""
    airnow_bbox: str = "-125,24,-66,50"
    """west,south,east,north for the AirNow API."""
    openaq_url: str = "https://api.openaq.org"
    """Base of the OpenAQ API."""
    openaq_api_key: str = ""
    """OpenAQ API key (`X-API-Key`)."""
    openaq_bbox: str = ""
    """west,south,east,north of the OpenAQ locations to follow (or `openaq_locations`)."""
    openaq_locations: str = ""
    """Comma-separated OpenAQ location ids."""
    feed_timeout_s: float = Field(30, gt=0)
    """HTTP timeout of a feed request (s)."""
    feed_retries: int = Field(4, ge=0)
    """Retries with backoff of a failed feed request."""
    feed_revision_hours: int = Field(48, ge=0)
    """AirNow rewrites an hour's files for about two days: each run re-reads this many hours."""
    feed_backfill_days: int = Field(2, ge=0)
    """The first run of a source with no cursor starts this far back."""
    feed_lag_warn_h: float = Field(2, gt=0)
    """A source whose newest hour is older than this many hours is a warning (panel, `/readyz`)."""
    feed_lag_crit_h: float = Field(6, gt=0)
    """A source whose newest hour is older than this many hours is critical."""
    stale_after_h: float = Field(3, gt=0)
    """A station whose newest reading is older than this is drawn grey with its age (AirNow's practice)."""

    # Security
    trusted_proxies: int = Field(0, ge=0)
    """Reverse-proxy hops whose `X-Forwarded-For`/`-Proto` are believed (0: none, the client is the socket's peer)."""
    session_idle_timeout_min: int = Field(60, ge=1)
    """A signed-in session unused for this many minutes ends."""
    session_absolute_timeout_h: float = Field(12, gt=0)
    """A signed-in session ends this many hours after sign-in, however busy."""
    first_admin_password_file: str = ""
    """File (mode 0600) with the first admin's password; empty: a random one, printed once, changed at first sign-in."""
    hsts_max_age_s: int = Field(31536000, ge=0)
    """`Strict-Transport-Security` max-age (s) sent over HTTPS in production (0: none)."""

    # Limits
    rate_limit: str = "1200/minute"
    """Requests per client address to each route outside the API (pages, callbacks, embed, export, health)."""
    export_rate_limit: str = "30/minute"
    """CSV exports (`/export/measurements.csv`) per client address."""
    export_concurrency: int = Field(4, ge=1)
    """CSV exports streaming at once per process; more answer 503 with `Retry-After`."""
    metrics_token: str = ""
    """Bearer token that may read `/metrics` from any address (empty: only `metrics_allow` addresses)."""
    metrics_allow: str = "127.0.0.1/8,::1/128"
    """Comma-separated networks that may read `/metrics` without the token (empty: none)."""

    # Map
    map_surface_reach_km: float = Field(75, gt=0)
    """The map's category bands end this far (km) from the nearest station with a value."""

    # Forecast and weather
    inference_batch_p95_warn_ms: float = 250
    """Forecast batch inference p95 warning threshold (ms): every station at once, apart from single requests."""
    inference_batch_p95_crit_ms: float = 1000
    """Forecast batch inference p95 critical threshold (ms)."""

    # --- weather and CAMS (Open-Meteo) ---
    weather_enabled: bool = True
    """Fetch Open-Meteo's weather forecast for every city each hour (beat at :05; a thread under `make run`)."""
    cams_enabled: bool = False
    """Also fetch CAMS air-quality forecasts (Open-Meteo air-quality API) for the forecast page and evaluation."""
    weather_forecast_hours: int = Field(72, ge=1, le=168)
    """Hours of weather (and CAMS) forecast fetched after the current hour."""
    open_meteo_forecast_url: str = "https://api.open-meteo.com/v1/forecast"
    """Open-Meteo's forecast API (the recent past and the next hours)."""
    open_meteo_archive_url: str = "https://archive-api.open-meteo.com/v1/archive"
    """Open-Meteo's historical weather API, for training and `fetch-weather --archive --from --to`."""
    open_meteo_air_quality_url: str = "https://air-quality-api.open-meteo.com/v1/air-quality"
    """Open-Meteo's air-quality API (CAMS)."""

    @field_validator("open_meteo_forecast_url", "open_meteo_archive_url", "open_meteo_air_quality_url")
    @classmethod
    def _open_meteo_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%/-]*)?", value):
            raise ValueError("must be an http(s):// address such as https://api.open-meteo.com/v1/forecast")
        return value

    # --- read replica ---
    database_read_url: str = Field("", validation_alias=_env("database_read_url"))
    """Empty: every query on `database_url`. A PostgreSQL streaming replica's URL: lag-tolerant reads go there."""
    replica_lag_warn_s: float = Field(30, gt=0)
    """Replica replay lag (s) above which the panel warns."""
    replica_lag_crit_s: float = Field(300, gt=0)
    """Replica replay lag (s) above which the panel is critical (an unreachable replica is too)."""

    @field_validator("database_read_url")
    @classmethod
    def _read_replica(cls, url: str) -> str:
        if url and not url.startswith(("postgresql+psycopg://", "postgresql://")):
            raise ValueError("must be empty or a PostgreSQL URL (postgresql+psycopg://user@replica/db)")
        return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url

    # --- public alert subscriptions ---
    alerts_enabled: bool = True
    """Public AQI alerts: subscriptions accepted, evaluated each hour and delivered (false: none of it)."""
    public_url: str = "http://127.0.0.1:8050"
    """This site's address as the public sees it: confirmation, unsubscribe and feed links start with it."""
    smtp_url: str = "smtp://127.0.0.1:25"
    """Mail server: `smtp://user:pass@host:587` (STARTTLS), `smtps://…:465` (implicit TLS), `smtp://host:25` (local)."""
    smtp_from: str = "AQI alerts <alerts@localhost>"
    """Sender of alert e-mails."""
    smtp_timeout_s: float = Field(10, gt=0)
    """SMTP connection and command timeout (s)."""
    alert_rate_limit: str = "5/hour"
    """New subscriptions per client address and per e-mail address or webhook URL (e.g. 5/hour; Redis when set)."""
    alert_max_attempts: int = Field(8, ge=1)
    """Failed sends of a message (e-mail or webhook) before it is dead-lettered for the admins."""
    alert_retry_base_s: float = Field(30, gt=0)
    """First retry delay (s) of a failed send; doubled at each failure, at most an hour."""
    webhook_timeout_s: float = Field(10, gt=0)
    """Timeout (s) of a webhook delivery."""
    webhook_allow_networks: str = ""
    """Comma-separated private networks webhooks may reach anyway (plain http:// too), e.g. an internal receiver."""
    alert_embed_origins: str = ""
    """Space-separated origins (https://portal.example) whose embeds show the "Get alerts" link."""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?", value):
            raise ValueError("must be an http(s):// address such as https://aqi.example.org")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if not re.fullmatch(r"smtps?://(?:[^@/\s]+@)?[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?", value):
            raise ValueError("must be smtp://[user:pass@]host[:port] or smtps://[user:pass@]host[:port]")
        return value

    @field_validator("webhook_allow_networks")
    @classmethod
    def _webhook_networks(cls, value: str) -> str:
        return cls._networks(value)

    @field_validator("alert_embed_origins")
    @classmethod
    def _alert_origins(cls, value: str) -> str:
        for origin in value.split():
            if not re.fullmatch(r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::[0-9]{1,5})?", origin, re.IGNORECASE):
                raise ValueError(f"{origin!r} is not an origin such as https://portal.example.org")
        return value

    # --- operator alerting ---
    operator_alert_webhook_url: str = ""
    """Where operator alerts are POSTed (Alertmanager webhook JSON); empty: no webhook."""
    operator_alert_webhook_secret: str = ""
    """Signs each operator webhook body (HMAC-SHA256 header); empty: unsigned."""
    operator_alert_emails: str = ""
    """Comma-separated addresses that receive operator alerts by e-mail; empty: none."""
    operator_alert_pending_s: int = Field(120, ge=0)
    """A check must stay in breach this long (s) before its rule fires (Grafana's pending period; 0: at once)."""
    operator_alert_keep_firing_s: int = Field(300, ge=0)
    """A firing rule keeps firing (Recovering) this long (s) after its check is back within target (0: none)."""
    operator_alert_repeat_s: int = Field(14400, ge=0)
    """A firing, unacknowledged rule is notified again after this long (s) (Grafana's repeat interval; 0: never)."""
    operator_alert_overrides: str = ""
    """Per-rule timings, `check=pending_s/keep_firing_s` comma-separated, e.g. `db_pool=0/60,api_p95=300/600`."""

    @field_validator("operator_alert_webhook_url")
    @classmethod
    def _operator_webhook(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%/?=&-]*)?", value):
            raise ValueError("must be empty or an http(s):// address such as https://hooks.example.org/aqi")
        return value

    @field_validator("operator_alert_emails")
    @classmethod
    def _operator_emails(cls, value: str) -> str:
        for address in filter(None, (part.strip() for part in value.split(","))):
            if len(address) > 254 or not re.fullmatch(r"[^@\s,]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", address):
                raise ValueError(f"{address[:80]!r} is not an e-mail address such as ops@example.org")
        return value

    @field_validator("operator_alert_overrides")
    @classmethod
    def _operator_overrides(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            if not re.fullmatch(r"[a-z0-9_:.-]{1,64}=[0-9]{1,6}/[0-9]{1,6}", item):
                raise ValueError(f"{item[:80]!r} is not check=pending_s/keep_firing_s such as db_pool=0/60")
        return value

    # --- API throughput ---
    api_answer_reuse_s: float = Field(1.0, ge=0, le=60)
    """How long (s) a worker reuses a finished current-AQI answer (body, ETag, compressed copies); 0: never."""
    api_rate_sync_s: float = Field(0.5, gt=0, le=60)
    """How often (s) each worker adds its API request counts to Redis and reads back every worker's totals."""

    @field_validator("rate_limit", "api_rate_limit", "login_rate_limit", "export_rate_limit", "alert_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            limits.parse_many(value)
        except ValueError:
            raise ValueError("must be a rate limit such as 60/minute or 10/second;1000/hour") from None
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a network such as 10.0.0.0/8 or ::1/128") from None
        return value

    @field_validator("embed_allowed_origins")
    @classmethod
    def _csp_sources(cls, value: str) -> str:
        # Pasted into the CSP header: anything but source expressions could end the directive or add others.
        for source in value.split():
            if not CSP_SOURCE.fullmatch(source):
                raise ValueError(f"{source!r} is not a CSP source: use 'self', 'none', https://host[:port] "
                                 "or a scheme such as https:")
        return value

    @field_validator("pg_work_mem", "pg_effective_cache_size")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        # Pasted into libpq's options (-c name=value): only a PostgreSQL memory size, nothing that adds options.
        if not PG_MEMORY.fullmatch(value):
            raise ValueError("must be a PostgreSQL memory size such as 64kB, 16MB or 4GB")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, url: str) -> str:
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be empty or start with redis://, rediss:// or unix://")
        return url

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: explicit arguments, environment, then the overrides file (absent is fine).
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, CONFIG_FILE))

    def ttl(self, namespace: str) -> int:
        """Time-to-live of a cache namespace (current_aqi, forecast, attribution, spatial, weather, stations)."""
        return getattr(self, f"ttl_{namespace}")

    @property
    def limits_storage_uri(self) -> str:
        """Where the rate limiters count (the `limits` library's URI): Redis, its cluster form, or memory."""
        if not self.redis_url:
            return "memory://"
        return "redis+cluster://" + self.redis_url.split("://", 1)[1] if self.redis_cluster else self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The SQLite file, resolved against the repository root when relative."""
        if not self.is_sqlite:
            return None
        raw = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return None if raw in ("", ":memory:") else (ROOT / raw if not raw.startswith("/") else Path(raw))


def load_settings(**overrides) -> Settings:
    """Build settings; invalid values raise SettingsError naming each setting."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
    if settings.environment == "production" and not settings.secret_key:
        raise SettingsError("invalid settings: secret_key: AQI_SECRET_KEY must be set in production")
    return settings


def settings_table() -> str:
    """The README's configuration table, one row per setting, from the class itself."""
    rows = ["| environment variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        variable = f"`AQI_{name.upper()}`"
        if isinstance(field.validation_alias, AliasChoices):
            variable = f"`{name.upper()}` or {variable}"
        default = field.default
        shown = "empty" if default == "" else f"`{str(default).lower() if isinstance(default, bool) else default}`"
        rows.append(f"| {variable} | {shown} | {field.description} |")
    return "\n".join(rows)

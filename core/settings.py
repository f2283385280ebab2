"""One settings object: defaults from config/settings.toml, environment variables override."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = ROOT / "config" / "settings.toml"


def _env(name: str) -> AliasChoices:
    """Accept both the plain name (DATABASE_URL) and the prefixed one (AQI_DATABASE_URL)."""
    return AliasChoices(name.lower(), name.upper(), f"AQI_{name.upper()}")


class SettingsError(RuntimeError):
    """Raised when settings are invalid; the message names each bad setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AQI_", extra="forbid", populate_by_name=True)

    database_url: str = Field("sqlite:///var/aqi.db", validation_alias=_env("database_url"))
    redis_url: str = Field("", validation_alias=_env("redis_url"))
    host: str = "127.0.0.1"
    port: int = Field(8050, ge=1, le=65535, validation_alias=_env("port"))
    environment: Literal["development", "production", "test"] = "development"
    secret_key: str = Field("", validation_alias=_env("secret_key"))

    pool_size: int = Field(30, ge=1)
    max_overflow: int = Field(50, ge=0)
    pool_recycle_s: int = Field(1800, ge=1)
    pool_timeout_s: float = Field(10, gt=0)

    pg_jit: bool = False
    pg_work_mem: str = "16MB"
    pg_random_page_cost: float = Field(1.1, gt=0)
    pg_effective_io_concurrency: int = Field(200, ge=0, le=1000)
    pg_effective_cache_size: str = "4GB"
    pg_statement_timeout_ms: int = Field(30000, ge=0)

    sqlite_busy_timeout_ms: int = Field(5000, ge=0)

    seed: int = 42
    seed_days: int = Field(90, ge=1)
    seed_stations: int = Field(84, ge=6)
    live_simulation: bool = True

    # Cache time-to-live per namespace, seconds (API Cache-Control uses the same numbers).
    ttl_current_aqi: int = Field(180, ge=1)
    ttl_forecast: int = Field(1800, ge=1)
    ttl_attribution: int = Field(1800, ge=1)
    ttl_spatial: int = Field(1800, ge=1)
    ttl_weather: int = Field(900, ge=1)
    ttl_stations: int = Field(86400, ge=1)

    cache_enabled: bool = True  # false: every read goes to the database (for measuring what the cache buys)
    redis_cluster: bool = False  # REDIS_URL names a Redis Cluster node
    cache_warm_on_start: bool = True

    # Operator thresholds: warning / critical.
    api_p95_warn_ms: float = 500
    api_p95_crit_ms: float = 1000
    callback_p95_warn_ms: float = 500
    callback_p95_crit_ms: float = 1000
    db_p95_warn_ms: float = 100
    db_p95_crit_ms: float = 250
    cache_hit_warn: float = Field(0.70, ge=0, le=1)
    cache_hit_crit: float = Field(0.50, ge=0, le=1)
    inference_p95_warn_ms: float = 200
    inference_p95_crit_ms: float = 300
    panel_refresh_s: int = Field(5, ge=1)

    api_rate_limit: str = "1200/minute"  # per client address; Flask-Limiter syntax

    # Access and jobs
    access_map: Literal["public", "analyst", "operator", "admin"] = "public"
    access_forecast: Literal["public", "analyst", "operator", "admin"] = "public"
    access_performance: Literal["public", "analyst", "operator", "admin"] = "operator"
    access_admin: Literal["public", "analyst", "operator", "admin"] = "admin"
    login_rate_limit: str = "10/minute"
    jobs_backend: Literal["thread", "celery"] = "thread"

    map_tiles: str = "https://a.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png"
    map_tiles_attribution: str = "© OpenStreetMap contributors © CARTO"
    map_refresh_s: int = Field(60, ge=5)
    default_standard: Literal["us_epa", "india_naqi", "eea"] = "us_epa"

    # Embed: origins allowed to frame /embed/… (CSP frame-ancestors source list, space-separated).
    embed_allowed_origins: str = Field("'self'", min_length=1)

    # Forecast
    forecast_model_dir: str = "var/models"  # versioned weights + JSON cards; relative to the repository root
    forecast_threads_inter: int = Field(1, ge=0)  # TensorFlow inter-op threads (0: TensorFlow decides)
    forecast_threads_intra: int = Field(2, ge=0)  # TensorFlow intra-op threads (0: TensorFlow decides)
    forecast_jit: bool = True  # XLA-compile the inference function (bench/forecast.py measures it)
    forecast_precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = "float32"
    forecast_lru_size: int = Field(4096, ge=1)  # per-process cache of model outputs per station and hour
    forecast_train_days: int = Field(75, ge=4)  # history used by `app.py train`
    forecast_epochs: int = Field(4, ge=1)
    forecast_train_on_start: bool = True  # `make run` trains the small model when none exists
    forecast_batch_enabled: bool = True  # `make run` forecasts every station each new hour
    forecast_batch_check_s: int = Field(60, ge=1)
    forecast_keep_days: int = Field(7, ge=1)  # stored forecasts older than this are deleted
    forecast_ig_steps: int = Field(32, ge=4)  # integrated-gradients steps for explanations

    # Live feeds. Base URLs are settings so a mirror or a local test server can stand in.
    feeds: str = ""  # comma-separated sources the schedule fetches: airnow-files, airnow-api, openaq
    airnow_files_url: str = "https://files.airnowtech.org"
    airnow_api_url: str = "https://www.airnowapi.org"
    airnow_api_key: str = ""
    airnow_bbox: str = "-125,24,-66,50"  # west,south,east,north for the AirNow API
    openaq_url: str = "https://api.openaq.org"
    openaq_api_key: str = ""
    openaq_bbox: str = ""  # west,south,east,north; or openaq_locations
    openaq_locations: str = ""  # comma-separated OpenAQ location ids
    feed_timeout_s: float = Field(30, gt=0)
    feed_retries: int = Field(4, ge=0)
    feed_revision_hours: int = Field(48, ge=0)  # AirNow rewrites an hour's files for about two days
    feed_backfill_days: int = Field(2, ge=0)  # first run of a source with no cursor starts this far back

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
        # Highest priority first: explicit arguments, environment, then the config file.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, CONFIG_FILE))

    def ttl(self, namespace: str) -> int:
        """Time-to-live of a cache namespace (current_aqi, forecast, attribution, spatial, weather, stations)."""
        return getattr(self, f"ttl_{namespace}")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The SQLite file, resolved against the repository root when relative."""
        if not self.is_sqlite:
            return None
        raw = self.database_url.split("///", 1)[1]
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings."""
    return load_settings()

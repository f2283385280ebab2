"""The app context: settings, database, cache and forecast model, built once per app and passed down."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import metrics
from core.cache import AppCache
from core.db.engine import make_engine
from core.forecast.predictor import ModelSlot
from core.settings import Settings, load_settings


@dataclass
class Context:
    """Everything core needs to reach state; the web app, the CLI, jobs and tests each build one."""

    settings: Settings
    engine: Engine
    cache: AppCache
    models: ModelSlot
    _sessions: sessionmaker = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        """A new ORM session on this context's engine (use as a context manager)."""
        return self._sessions()

    def close(self) -> None:
        self.engine.dispose()


def build(settings: Settings | None = None, engine: Engine | None = None) -> Context:
    """A context for these settings (loaded from config/ and the environment when None)."""
    settings = settings or load_settings()
    # Metrics stay process-wide, like Prometheus' registry: every timer in the process writes to one store.
    metrics.configure(settings.redis_url)
    return Context(settings, engine or make_engine(settings), AppCache(settings), ModelSlot(settings))

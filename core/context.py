"""The app context: settings, database, cache and forecast model, built once per app and passed down."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import metrics
from core.cache import AppCache
from core.db.engine import ReadReplica, make_engine
from core.forecast.predictor import ModelSlot
from core.settings import Settings, load_settings


class _ConnectionSession(Session):
    """A session on a connection of its own, given back to its pool when the session closes."""

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.bind.close()


@dataclass
class Context:
    """Everything core needs to reach state; the web app, the CLI, jobs and tests each build one."""

    settings: Settings
    engine: Engine
    cache: AppCache
    models: ModelSlot
    replica: ReadReplica | None = None  # settings.database_read_url's replica
    _sessions: sessionmaker = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        """A new ORM session on the primary (use as a context manager): writes and reads that need fresh data."""
        return self._sessions()

    @property
    def read_engine(self) -> Engine:
        """The replica's engine (the primary's when none is configured or while it is down)."""
        return self.engine if self.replica is None else self.replica.engine

    def read_session(self) -> Session:
        """A session for reads that tolerate replica lag: on the replica, on the primary while it is down."""
        if self.replica is None:
            return self._sessions()
        return _ConnectionSession(bind=self.replica.connect(), expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.replica.dispose()


def build(settings: Settings | None = None, engine: Engine | None = None) -> Context:
    """A context for these settings (loaded from config/ and the environment when None)."""
    settings = settings or load_settings()
    # Metrics stay process-wide, like Prometheus' registry: every timer in the process writes to one store.
    metrics.configure(settings.redis_url, cluster=settings.redis_cluster)
    engine = engine or make_engine(settings)
    replica = ReadReplica(engine, make_engine(settings, settings.database_read_url)) \
        if settings.database_read_url else None
    return Context(settings, engine, AppCache(settings), ModelSlot(settings), replica)

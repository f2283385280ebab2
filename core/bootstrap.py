"""Start-up steps, run explicitly by the commands that serve (`run`, `serve`): building the app does none of them."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core import users
from core.context import Context
from core.db import migrate
from core.ingest import seed as seeding
from core.warmup import warm_cache

log = logging.getLogger(__name__)
WARM_LOCK = "aqi:lock:warm-on-start"
WARM_LOCK_S = 60


@dataclass
class Prepared:
    """What this start did, for the caller to report."""

    seeded: dict | None = None  # seed totals (and "seconds") when this start seeded an empty database
    first_admin: tuple[str, str | None] | None = None  # (name, password or None when read from a file) created now


def prepare(ctx: Context, seed: bool = True, progress: Callable[[int, int], None] | None = None) -> Prepared:
    """Migrate; seed the demo data when `seed` and the database is empty; create the first admin when there is none."""
    migrate.upgrade(ctx.engine)
    prepared = Prepared()
    settings = ctx.settings
    if seed and seeding.is_empty(ctx.engine):
        started = time.perf_counter()
        totals = seeding.seed(ctx.engine, settings.seed_days, settings.seed_stations, settings.seed,
                              progress=progress)
        prepared.seeded = {**totals, "seconds": time.perf_counter() - started}
    prepared.first_admin = users.ensure_first_admin(ctx.engine, ctx.settings.first_admin_password_file)
    return prepared


def warm_once(ctx: Context) -> None:
    """Warm the cache, unless another process sharing the Redis cache started doing it in the last minute."""
    try:
        if ctx.cache.client is not None and not ctx.cache.client.set(WARM_LOCK, 1, nx=True, ex=WARM_LOCK_S):
            return  # with Redis one worker's warming serves all of them
        for entry in warm_cache(ctx):
            log.info("cache warmed: %s", entry)
    except Exception:  # warming is an optimisation: never let it take the server down
        log.exception("cache warming failed")


def warm_in_background(ctx: Context) -> threading.Thread:
    """warm_once in a daemon thread: the first requests must not wait for it."""
    thread = threading.Thread(target=warm_once, args=(ctx,), name="cache-warm", daemon=True)
    thread.start()
    return thread

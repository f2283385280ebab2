"""Flask-Caching backends (Redis when configured, in-process otherwise) with namespaces, TTLs from settings,
hit/miss counts in the metrics store, no stampede, and a circuit breaker so a lost Redis never takes the app down.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from datetime import date, datetime
from typing import Any, Callable

import orjson
import redis
from flask_caching.backends import NullCache, RedisCache, SimpleCache

from core.metrics import METRICS, REDIS_ERRORS, Window, timed
from core.settings import Settings

log = logging.getLogger(__name__)

FORMAT_VERSION = 4  # bump when a cached value's shape changes: old entries are then never read
NAMESPACES = ("current_aqi", "forecast", "attribution", "spatial", "weather", "stations")
RETRY_AFTER_S = 5.0  # after a Redis error, go straight to the database for this long, then try again
WAIT_FOR_OTHER_S = 5.0  # how long a request waits for another worker computing the same missing key
LOCK_MS = 30_000
KEY_PREFIX = "aqi:cache:"
_MISSING = object()
# Values are JSON, never pickle: whoever can write to Redis must not be able to run code in the workers.
# orjson writes datetimes as plain strings, so they are tagged to come back as datetimes.
_DATETIME, _DATE = "$datetime", "$date"
_DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_PARSE = {_DATETIME: datetime.fromisoformat, _DATE: date.fromisoformat}


def _tag(value: Any) -> dict:
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, date):
        return {_DATE: value.isoformat()}
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _iso(value: Any) -> str:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _json_key(key: Any) -> str:
    """A non-text dict key as the JSON text names it (7 -> "7")."""
    return next(iter(orjson.loads(orjson.dumps({key: None}, option=_DUMP_OPTIONS))))


def _time_paths(value: Any, path: tuple, found: dict[str, list]) -> None:
    """Append to found[tag] the path of every datetime and date in `value`, as JSON will spell it."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list, tuple, date)):
                _time_paths(item, (*path, key if isinstance(key, str) else _json_key(key)), found)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, (dict, list, tuple, date)):
                _time_paths(item, (*path, i), found)
    elif isinstance(value, datetime):
        found[_DATETIME].append(path)
    elif isinstance(value, date):
        found[_DATE].append(path)


class JSONSerializer:
    """Flask-Caching's serializer interface over JSON: dicts, lists, numbers, text, None, datetimes, dates and numpy
    arrays (tuples come back as lists, NaN as None).

    An entry is [{"$datetime": [paths], "$date": [paths]}, value] with times written as ISO 8601 text: reading it
    back parses only the times the paths name, so a hit costs orjson's decoding and no walk over the value.
    """

    def dumps(self, value: Any) -> bytes:
        found: dict[str, list] = {_DATETIME: [], _DATE: []}
        _time_paths(value, (), found)
        return orjson.dumps([found, value], default=_iso, option=_DUMP_OPTIONS)

    def loads(self, raw: bytes | None) -> Any:
        if raw is None:
            return None
        try:
            tags, value = orjson.loads(raw)
            holder = [value]
            for tag, paths in tags.items():
                for path in paths:
                    *where, last = [0, *path]
                    container = holder
                    for step in where:
                        container = container[step]
                    container[last] = _PARSE[tag](container[last])
            return holder[0]
        except (orjson.JSONDecodeError, ValueError, KeyError, IndexError, TypeError, AttributeError):
            log.warning("ignoring a cache entry that is not this app's JSON")
            return None


class AppCache:
    """get_or_compute(namespace, key parts, compute) over one backend."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: redis.Redis | None = None
        if not settings.cache_enabled:
            self.backend = NullCache()
        elif settings.redis_url:
            # RedisClusterCache cannot take a client (it builds its own from node names): RedisCache does, and
            # each of its commands names one key, or several that redis-py splits by slot (DEL).
            client_class = redis.RedisCluster if settings.redis_cluster else redis.Redis
            self.client = client_class.from_url(settings.redis_url, socket_connect_timeout=0.3, socket_timeout=0.5)
            self.backend = RedisCache(host=self.client, key_prefix=KEY_PREFIX)
        else:
            self.backend = SimpleCache(threshold=20_000)
        # Every backend stores the same JSON, so the in-process default round-trips values exactly as Redis does.
        self.backend.serializer = JSONSerializer()
        self._down_until = 0.0
        # Moves on every set, delete and clear in this process: what was built from the cache before is stale.
        self.generation = 0
        self._local_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # -- status ------------------------------------------------------------------------------------------
    @property
    def backend_name(self) -> str:
        if not self.settings.cache_enabled:
            return "disabled"
        return "redis" if self.client is not None else "in-process"

    def is_up(self) -> bool:
        """False while the breaker is open after a Redis error (requests then go to the database)."""
        return time.monotonic() >= self._down_until

    def _trip(self, exc: Exception) -> None:
        if self.is_up():
            log.warning("cache unavailable (%s): serving from the database for %.0f s", exc, RETRY_AFTER_S)
        self._down_until = time.monotonic() + RETRY_AFTER_S
        METRICS.count("cache:errors")

    # -- keys and values ---------------------------------------------------------------------------------
    @staticmethod
    def key(namespace: str, *parts: Any) -> str:
        """The namespace and a hash of the parts as JSON: no name can take another's key ("*" is not None)."""
        if namespace not in NAMESPACES:
            raise ValueError(f"unknown cache namespace {namespace!r}")
        digest = hashlib.blake2b(orjson.dumps(parts, default=_tag, option=_DUMP_OPTIONS), digest_size=20)
        return f"v{FORMAT_VERSION}:{namespace}:{digest.hexdigest()}"

    def ping(self) -> dict:
        """The backend's readiness, on the cache's own client (no new connection per check)."""
        if self.client is None:
            return {"status": "ok", "backend": self.backend_name}
        try:
            self.client.ping()
            return {"status": "ok", "backend": "redis"}
        except REDIS_ERRORS as exc:
            return {"status": "down", "backend": "redis", "error": type(exc).__name__}

    def get_or_compute(self, namespace: str, parts: tuple, compute: Callable[[], Any]) -> Any:
        """The cached value, or compute() once across workers when the key is missing or stale."""
        if not self.settings.cache_enabled:
            return compute()
        if not self.is_up():
            METRICS.count(f"cache:{namespace}:bypass")
            return compute()
        key = self.key(namespace, *parts)
        try:
            with timed("cache", f"{namespace}.get"):
                entry = self.backend.get(key)
        except REDIS_ERRORS as exc:
            self._trip(exc)
            return compute()
        if entry is not None:
            fresh_until, value = entry
            if time.time() < fresh_until:
                METRICS.count(f"cache:{namespace}:hit")
                return value
            # Stale: one worker refreshes it, the others keep serving the old value meanwhile.
            token = self._lock(key)
            if token is None:
                METRICS.count(f"cache:{namespace}:hit")
                return value
            return self._compute_and_store(namespace, key, token, compute)
        token = self._lock(key)
        if token is not None:
            return self._compute_and_store(namespace, key, token, compute)
        value = self._wait_for(key)
        if value is not _MISSING:
            METRICS.count(f"cache:{namespace}:hit")
            return value
        METRICS.count(f"cache:{namespace}:miss")
        return compute()

    def refresh(self, namespace: str, parts: tuple, compute: Callable[[], Any]) -> Any:
        """Compute and store now (cache warming): counted as warmed, not as a miss."""
        value = compute()
        if self.is_up():
            self.set(namespace, self.key(namespace, *parts), value)
            METRICS.count(f"cache:{namespace}:warmed")
        return value

    def _compute_and_store(self, namespace: str, key: str, token: str, compute: Callable[[], Any]) -> Any:
        METRICS.count(f"cache:{namespace}:miss")
        try:
            value = compute()
            self.set(namespace, key, value)
            return value
        finally:
            self._unlock(key, token)

    def set(self, namespace: str, key: str, value: Any) -> None:
        self.generation += 1
        ttl = self.settings.ttl(namespace)
        try:
            with timed("cache", f"{namespace}.set"):
                # Kept twice as long as it is fresh, so a stale value can be served while one worker refreshes.
                self.backend.set(key, (time.time() + ttl, value), timeout=2 * ttl)
        except REDIS_ERRORS as exc:
            self._trip(exc)

    def delete(self, namespace: str, *key_parts: tuple) -> None:
        """Drop entries, each given as its key parts."""
        keys = [self.key(namespace, *parts) for parts in key_parts]
        self.generation += 1
        try:
            self.backend.delete_many(*keys)
        except REDIS_ERRORS as exc:
            self._trip(exc)

    def clear(self) -> None:
        self.generation += 1
        try:
            if isinstance(self.client, redis.RedisCluster):  # KEYS would ask one node; SCAN walks every primary
                for key in self.client.scan_iter(match=KEY_PREFIX + "*", count=1000):
                    self.client.delete(key)
                return
            self.backend.clear()
        except REDIS_ERRORS as exc:
            self._trip(exc)

    # -- one computation at a time per key ---------------------------------------------------------------
    def _lock(self, key: str) -> str | None:
        token = uuid.uuid4().hex
        if self.client is None:
            with self._guard:
                lock = self._local_locks.setdefault(key, threading.Lock())
            return token if lock.acquire(blocking=False) else None
        try:
            return token if self.client.set(f"aqi:lock:{key}", token, nx=True, px=LOCK_MS) else None
        except REDIS_ERRORS as exc:
            self._trip(exc)
            return token  # without Redis nobody else can coordinate: compute

    def _unlock(self, key: str, token: str) -> None:
        if self.client is None:
            self._local_locks[key].release()
            return
        try:
            # Delete only our own lock (it may have expired and been taken by another worker).
            self.client.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
                             "else return 0 end", 1, f"aqi:lock:{key}", token)
        except REDIS_ERRORS as exc:
            self._trip(exc)

    def _wait_for(self, key: str) -> Any:
        deadline = time.monotonic() + WAIT_FOR_OTHER_S
        while time.monotonic() < deadline:
            time.sleep(0.02)
            try:
                entry = self.backend.get(key)
            except REDIS_ERRORS as exc:
                self._trip(exc)
                return _MISSING
            if entry is not None:
                return entry[1]
        return _MISSING


def hit_rates(window: Window, window_s: int = 300) -> dict[str, dict]:
    """Per namespace: hits, misses, bypasses and hit rate over the window, from the (shared) metrics store."""
    counts = window.counters(window_s)
    out = {}
    for namespace in NAMESPACES:
        hits = counts.get(f"cache:{namespace}:hit", 0)
        misses = counts.get(f"cache:{namespace}:miss", 0)
        bypass = counts.get(f"cache:{namespace}:bypass", 0)
        total = hits + misses + bypass
        out[namespace] = {"hits": hits, "misses": misses, "bypassed": bypass,
                          "hit_rate": hits / total if total else None}
    return out


def overall_hit_rate(window: Window, window_s: int = 300) -> float | None:
    rates = hit_rates(window, window_s).values()
    hits = sum(r["hits"] for r in rates)
    total = sum(r["hits"] + r["misses"] + r["bypassed"] for r in rates)
    return hits / total if total else None

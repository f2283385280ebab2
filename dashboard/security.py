"""Security headers on every response, session cookie settings, trusted proxies, the secret key, and the API's
per-address rate limit."""
from __future__ import annotations

import functools
import logging
import math
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import limits
from flask import Flask, Request, Response, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from core.settings import ROOT, Settings, SettingsError
from dashboard.api.errors import error_response

log = logging.getLogger(__name__)

SECRET_KEY_FILE = ROOT / "var" / "secret_key"
MIN_SECRET_KEY_BYTES = 32


def tile_origin(template: str) -> str:
    """The origin of a tile URL template ({s}, {z}… in the host become a wildcard), for the CSP; "" for none."""
    parts = urlsplit(template)
    if not template or parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
    return f"{parts.scheme}://{host}"


def content_security_policy(settings: Settings, script_hashes: list[str]) -> str:
    tiles = tile_origin(settings.map_tiles)
    return "; ".join([
        "default-src 'self'",
        # Dash's one inline bootstrap script is allowed by its hash; plotly.js needs eval for some traces.
        f"script-src 'self' 'unsafe-eval' {' '.join(script_hashes)}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob: {tiles}",
        f"connect-src 'self' {tiles}",
        "worker-src 'self' blob:",  # MapLibre's web workers
        "child-src 'self' blob:",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def secret_key(settings: Settings, path: Path = SECRET_KEY_FILE) -> str:
    """The configured key (at least 32 bytes in production); in development a random one kept in `path`, shared
    by every worker."""
    if settings.secret_key:
        if settings.environment == "production" and len(settings.secret_key.encode()) < MIN_SECRET_KEY_BYTES:
            raise SettingsError(f"invalid settings: secret_key: must be at least {MIN_SECRET_KEY_BYTES} bytes in "
                                f"production (python -c 'import secrets; print(secrets.token_hex(32))')")
        return settings.secret_key
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create_key_file(path)
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_BYTES:
        raise SettingsError(f"invalid settings: secret_key: {path} holds a key shorter than "
                            f"{MIN_SECRET_KEY_BYTES} bytes; delete it to get a new one")
    return key


def _create_key_file(path: Path) -> None:
    """Write a new key to `path` unless another worker does first: never a moment when it is readable by others
    or half written."""
    # mkstemp creates the file with O_EXCL and mode 0600; link() then publishes it whole, or fails if another
    # worker published first (whose key everyone then reads).
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _skip_limiters_for_api(server: Flask, count: Callable[[], Response | None]) -> None:
    """Flask-Limiter's request hooks (route defaults, the API's declared limit, sign-in attempts) left out of API
    requests, which `count` holds to their budget where Flask-Limiter's check was: even with no limit to apply,
    those hooks cost a sixth of a cached API answer's CPU."""
    limiters = server.extensions.get("limiter", ())

    def owner(hook) -> object:
        return hook.args[0] if isinstance(hook, functools.partial) else getattr(hook, "__self__", None)

    def before(hook):
        return functools.wraps(hook)(lambda: None if is_api_request() else hook())

    def after(hook):
        return functools.wraps(hook)(lambda response: response if is_api_request() else hook(response))

    def teardown(hook):
        return functools.wraps(hook)(lambda exc=None: None if is_api_request() else hook(exc))

    for funcs, wrap in ((server.before_request_funcs, before), (server.after_request_funcs, after),
                        (server.teardown_request_funcs, teardown)):
        funcs[None] = [wrap(hook) if owner(hook) in limiters else hook for hook in funcs.get(None, [])]
    hooks = server.before_request_funcs[None]
    first = next((i for i, hook in enumerate(hooks) if owner(getattr(hook, "__wrapped__", hook)) in limiters),
                 len(hooks))
    hooks.insert(first, count)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for a request that carries no cookie."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def init_app(server: Flask, settings: Settings, script_hashes: Callable[[], list[str]]) -> None:
    production = settings.environment == "production"
    server.config.update(SECRET_KEY=secret_key(settings), SESSION_COOKIE_HTTPONLY=True,
                         SESSION_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_HTTPONLY=True,
                         REMEMBER_COOKIE_SAMESITE="Lax",
                         # Production runs behind HTTPS: the cookie is then never sent in clear text, and the
                         # __Host- prefix keeps a sibling subdomain from planting one.
                         SESSION_COOKIE_SECURE=production, REMEMBER_COOKIE_SECURE=production)
    if production:
        server.config["SESSION_COOKIE_NAME"] = "__Host-session"
    if settings.trusted_proxies:
        # Only hops we run may say who the client is: otherwise anyone sets X-Forwarded-For and picks an address.
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.trusted_proxies,
                                   x_proto=settings.trusted_proxies)
    hsts = f"max-age={settings.hsts_max_age_s}; includeSubDomains" if production and settings.hsts_max_age_s else ""
    server.session_interface = CookieSessions()
    limit_api(server, settings)
    without_scripts = content_security_policy(settings, [])

    @server.after_request
    def _headers(response: Response) -> Response:
        # Each only where the response has none of its own (one pass over its headers, not one per header).
        present = {name.lower() for name, _value in response.headers}
        # /embed sets its own policy (frame-ancestors: the allowed portals); everything else is not frameable.
        # Dash adds inline scripts (clientside callbacks) as pages register: hash them when serving the page.
        policy = content_security_policy(settings, script_hashes()) if response.mimetype == "text/html" \
            else without_scripts
        wanted = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"),
                  ("Content-Security-Policy", policy)]
        if hsts and request.is_secure:  # browsers ignore it over plain HTTP
            wanted.append(("Strict-Transport-Security", hsts))
        response.headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response


class AddressBudget:
    """settings.api_rate_limit per client address across the whole API, in fixed windows (a minute for n/minute),
    kept in the API limiter's storage (Redis when configured, so every worker and host counts together).

    With a shared storage each worker counts here and, at most every `sync_every_s`, adds what it counted and
    reads back the totals: a request costs no round trip, and the workers together can pass the limit by at most
    what they admit in one interval. In-process storage is counted on every request. While Redis is away each
    worker counts alone.
    """

    def __init__(self, rate: str, storage: limits.storage.Storage, sync_every_s: float) -> None:
        found = limits.parse_many(rate)
        if len(found) != 1:  # one fixed window is counted here: a second limit would be silently dropped
            raise SettingsError(f"invalid settings: api_rate_limit: give one limit such as 1200/minute, not {rate!r}")
        self.limit = found[0]
        self.period_s = self.limit.get_expiry()
        self.storage = storage
        base = storage.base_exceptions
        self._storage_errors = (*(base if isinstance(base, tuple) else (base,)), limits.errors.StorageError)
        self.sync_every_s = 0.0 if isinstance(storage, limits.storage.MemoryStorage) else sync_every_s
        self._lock = threading.Lock()
        self._syncing = threading.Lock()
        self._window = -1
        self._shared: dict[str, int] = {}  # address -> the storage's total at the last sync (every worker)
        self._pending: dict[str, int] = {}  # address -> this worker's requests since then
        self._last_sync = 0.0
        self._storage_up = True

    def hit(self, address: str) -> tuple[bool, int, int]:
        """Count one request (refused ones too, as Flask-Limiter did): admitted, remaining, the window's end (epoch
        seconds)."""
        now = time.time()
        window = int(now // self.period_s)
        with self._lock:
            if window != self._window:
                self._window, self._shared, self._pending = window, {}, {}
            self._pending[address] = self._pending.get(address, 0) + 1
        if now - self._last_sync >= self.sync_every_s:
            self.sync()
        with self._lock:
            used = self._shared.get(address, 0) + self._pending.get(address, 0)
        return used <= self.limit.amount, max(0, self.limit.amount - used), (window + 1) * self.period_s

    def sync(self) -> None:
        """Add this worker's counts to the storage and read the totals back; one thread at a time."""
        if not self._syncing.acquire(blocking=False):
            return
        try:
            with self._lock:
                window, pending, self._pending = self._window, self._pending, {}
                self._last_sync = time.time()
            totals = {}
            try:
                for address, count in pending.items():
                    totals[address] = self.storage.incr(f"aqi-api-budget/{window}/{address}", self.period_s + 1,
                                                        count)
            except self._storage_errors as exc:
                if self._storage_up:
                    log.warning("API rate limit counted in this worker only until its storage answers: %s", exc)
                self._storage_up = False
            else:
                self._storage_up = True
            with self._lock:
                if window != self._window:
                    return
                for address, count in pending.items():
                    if address in totals:
                        self._shared[address] = totals[address]
                    else:  # not stored: keep it here, for the next sync
                        self._pending[address] = self._pending.get(address, 0) + count
        finally:
            self._syncing.release()


def limit_api(server: Flask, settings: Settings) -> AddressBudget:
    """Hold every /api/ request to settings.api_rate_limit per client address (X-RateLimit-* on each answer, a 429
    with Retry-After beyond it) in the API limiter's storage, instead of Flask-Limiter's per-request checks."""
    budget = AddressBudget(settings.api_rate_limit, server.extensions["api_limiter"].storage,
                           settings.api_rate_sync_s)
    server.extensions["api_budget"] = budget

    def count() -> Response | None:
        if not is_api_request():
            return None
        admitted, remaining, reset = budget.hit(request.remote_addr or "")
        g.api_budget = remaining, reset
        if admitted:
            return None
        response = error_response(429, "rate_limited", f"too many requests from this address: the limit is "
                                                       f"{budget.limit}; retry after Retry-After seconds")
        response.headers["Retry-After"] = str(max(1, math.ceil(reset - time.time())))
        return response

    @server.after_request
    def _report(response: Response) -> Response:
        if "api_budget" in g:
            remaining, reset = g.api_budget
            response.headers.extend([("X-RateLimit-Limit", str(budget.limit.amount)),
                                     ("X-RateLimit-Remaining", str(remaining)), ("X-RateLimit-Reset", str(reset))])
        return response

    _skip_limiters_for_api(server, count)
    return budget

"""Security headers on every response, session cookie settings, trusted proxies, and the secret key."""
from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from core.settings import ROOT, Settings, SettingsError

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

    @server.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        # /embed sets its own policy (frame-ancestors: the allowed portals); everything else is not frameable.
        # Dash adds inline scripts (clientside callbacks) as pages register: hash them when serving the page.
        hashes = script_hashes() if response.mimetype == "text/html" else []
        response.headers.setdefault("Content-Security-Policy", content_security_policy(settings, hashes))
        if hsts and request.is_secure:  # browsers ignore it over plain HTTP
            response.headers.setdefault("Strict-Transport-Security", hsts)
        return response

"""Security headers on every response, session cookie settings, and the secret key."""
from __future__ import annotations

import secrets
from typing import Callable

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from core.settings import ROOT, Settings

TILE_HOSTS = "https://*.basemaps.cartocdn.com https://*.tile.openstreetmap.org"


def content_security_policy(settings: Settings, script_hashes: list[str]) -> str:
    tiles = TILE_HOSTS if settings.map_tiles else ""
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


def secret_key(settings: Settings) -> str:
    """The configured key; in development a random one kept under var/ so every worker shares it."""
    if settings.secret_key:
        return settings.secret_key
    path = ROOT / "var" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def init_app(server: Flask, settings: Settings, script_hashes: Callable[[], list[str]]) -> None:
    server.config.update(SECRET_KEY=secret_key(settings), SESSION_COOKIE_HTTPONLY=True,
                         SESSION_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_HTTPONLY=True,
                         REMEMBER_COOKIE_SAMESITE="Lax",
                         # Production runs behind HTTPS: the cookie is then never sent in clear text.
                         SESSION_COOKIE_SECURE=settings.environment == "production",
                         REMEMBER_COOKIE_SECURE=settings.environment == "production")
    server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1)  # the load balancer's client address/scheme

    @server.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        # /embed sets its own policy (frame-ancestors: the allowed portals); everything else is not frameable.
        # Dash adds inline scripts (clientside callbacks) as pages register: hash them when serving the page.
        hashes = script_hashes() if response.mimetype == "text/html" else []
        response.headers.setdefault("Content-Security-Policy", content_security_policy(settings, hashes))
        return response

"""The JSON API under /api/v1: validated parameters, one error shape, pagination, caching headers, rate limit.

`init_app(server)` mounts it; the endpoints are in views, their models in schemas, the OpenAPI document and
its HTML rendering in openapi and docs.
"""
from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from dashboard.api import alerts, errors, forecasts, operations, views  # noqa: F401  (they mount the endpoints on the blueprint)
from dashboard.api.routes import allowed_methods, blueprint

errors.register(blueprint)


def init_app(server: Flask) -> None:
    """Mount the API on the Flask server, with the server's rate limiter: settings.rate_limit per address on each
    route outside the API (the API's own budget, settings.api_rate_limit, is dashboard.security.AddressBudget)."""
    settings = server.extensions["aqi"].settings
    server.register_blueprint(blueprint)
    # Redis when configured, so every worker and host counts together; if Redis fails, count in memory.
    limiter = Limiter(get_remote_address, storage_uri=settings.limits_storage_uri, headers_enabled=True,
                      key_prefix="aqi-api", swallow_errors=True, in_memory_fallback_enabled=bool(settings.redis_url),
                      default_limits=[settings.rate_limit])
    limiter.init_app(server)
    server.extensions["api_limiter"] = limiter

    default_options = server.make_default_options_response

    def options_response():
        # Flask's automatic OPTIONS answer lists what the URL map allows, including the catch-all's GET.
        response = default_options()
        methods = allowed_methods(request.path) if request.path.startswith("/api/") else []
        if methods:
            response.headers["Allow"] = ", ".join(methods)
        return response

    server.make_default_options_response = options_response

    @server.errorhandler(405)
    def _method_not_allowed(exc):
        # Route matching fails before the API blueprint is chosen, so its own handlers never see a 405.
        return errors.http_error(exc, allowed_methods(request.path)) if request.path.startswith("/api/") else exc

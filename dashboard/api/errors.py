"""The one error shape, {"error": {"code", "message"}}, for every API failure."""
from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath

from flask import Blueprint, Response
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from dashboard.api.responses import json_response

log = logging.getLogger(__name__)
POOL_RETRY_AFTER_S = 5  # a full pool drains within seconds once the requests holding it finish
# An absolute file path (not the path part of a URL): public messages name the file, not where it lives.
ABSOLUTE_PATH = re.compile(r"(?<![\w:/.])/(?:[\w.@+-]+/)*[\w.@+-]+")


class APIError(Exception):
    """Raised by views: becomes an error response with this status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> Response:
    """The one error shape; errors are never cached."""
    response = json_response({"error": {"code": code, "message": message}}, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def without_paths(message: str) -> str:
    """The message with each absolute path cut to its last part (errors must not reveal the server's layout)."""
    return ABSOLUTE_PATH.sub(lambda m: PurePosixPath(m.group()).name, message)


def pool_timeout_response() -> Response:
    """503 with Retry-After: every database connection is busy (never a 500: nothing is wrong with the request)."""
    log.warning("database pool exhausted: answering 503")
    response = error_response(503, "unavailable", "the server is busy (no free database connection); retry "
                                                  "after Retry-After seconds")
    response.headers["Retry-After"] = str(POOL_RETRY_AFTER_S)
    return response


def http_error(exc: HTTPException, allowed: list[str] | None = None) -> Response:
    """A werkzeug HTTP error (404, 405…) in the error shape, keeping the headers it needs (Allow: `allowed`)."""
    if isinstance(exc, RateLimitExceeded):
        return error_response(429, "rate_limited", f"too many requests from this address: the limit is "
                                                   f"{exc.description}; retry after Retry-After seconds")
    response = error_response(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(allowed or exc.valid_methods)
    return response


def register(blueprint: Blueprint) -> None:
    @blueprint.errorhandler(APIError)
    def _api_error(exc: APIError):
        return error_response(exc.status, exc.code, exc.message)

    blueprint.register_error_handler(HTTPException, http_error)
    # Flask asks the blueprint's handlers first, so its catch-all below would otherwise turn this into a 500.
    blueprint.register_error_handler(PoolTimeout, lambda _exc: pool_timeout_response())

    @blueprint.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("API request failed")
        return error_response(500, "internal_error", "the server could not answer this request; it is logged")

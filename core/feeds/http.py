"""HTTP for the feeds: timeouts, retries with backoff on transient failures, Retry-After and rate-limit headers."""
from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from core.metrics import timed
from core.settings import Settings

MAX_WAIT_S = 120.0  # never sleep longer than this on one Retry-After or rate-limit reset


class FeedError(RuntimeError):
    """A feed request failed for good; the message names the URL."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class _Transient(Exception):
    def __init__(self, message: str, wait_s: float | None = None):
        super().__init__(message)
        self.wait_s = wait_s


@dataclass
class Response:
    status: int
    content: bytes
    headers: httpx.Headers


class Fetcher:
    """GETs with the feed settings' timeout and retries; counts its requests; file:// and folders read from disk."""

    def __init__(self, settings: Settings, headers: dict[str, str] | None = None):
        self.retries = settings.feed_retries
        self.client = httpx.Client(timeout=settings.feed_timeout_s, headers=headers or {}, follow_redirects=True)
        self.requests = 0

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, params: dict | None = None, missing_ok: bool = False) -> Response | None:
        """The response (None for a 404 when missing_ok); FeedError on 401/403, other 4xx, or when retries run out."""
        if not urlparse(url).scheme or url.startswith("file://"):
            return self._read_file(url, missing_ok)
        retrying = Retrying(stop=stop_after_attempt(self.retries + 1), retry=retry_if_exception(
            lambda e: isinstance(e, _Transient)), wait=_wait, reraise=True)
        try:
            return retrying(self._once, url, params, missing_ok)
        except _Transient as exc:
            raise FeedError(f"{url}: {exc} (after {self.retries + 1} attempts)") from exc

    @timed("feed", "get")
    def _once(self, url: str, params: dict | None, missing_ok: bool) -> Response | None:
        self.requests += 1
        try:
            r = self.client.get(url, params=params)
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        shown = _without_secrets(str(r.url))
        if r.status_code == 404 and missing_ok:
            return None
        if r.status_code == 429 or r.status_code >= 500:
            raise _Transient(f"HTTP {r.status_code}", _retry_after(r.headers))
        if r.status_code in (401, 403):
            raise FeedError(f"{shown}: HTTP {r.status_code}: the API key was refused (check the feed's key setting)",
                            r.status_code)
        if r.status_code >= 400:
            raise FeedError(f"{shown}: HTTP {r.status_code}", r.status_code)
        _obey_rate_limit(r.headers)
        return Response(r.status_code, r.content, r.headers)

    def _read_file(self, url: str, missing_ok: bool) -> Response | None:
        path = Path(unquote(urlparse(url).path) if url.startswith("file://") else url)
        self.requests += 1
        if not path.exists():
            if missing_ok:
                return None
            raise FeedError(f"{url}: no such file", 404)
        return Response(200, path.read_bytes(), httpx.Headers())


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _Transient) and exc.wait_s is not None:
        return min(exc.wait_s, MAX_WAIT_S)
    return wait_exponential(multiplier=0.5, max=30)(state)


def _retry_after(headers: httpx.Headers) -> float | None:
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return max(parsedate_to_datetime(raw).timestamp() - time.time(), 0.0)


def _obey_rate_limit(headers: httpx.Headers) -> None:
    # OpenAQ: x-ratelimit-remaining 0 means the next call would get a 429; wait out the reset first.
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        time.sleep(min(float(headers["x-ratelimit-reset"]), MAX_WAIT_S))


def _without_secrets(url: str) -> str:
    parsed = httpx.URL(url)
    return str(parsed.copy_remove_param("API_KEY")) if "API_KEY" in parsed.params else url


def join(base: str, *parts: str) -> str:
    """A URL or path below a base (http(s)://, file:// or a plain folder)."""
    return "/".join([base.rstrip("/"), *parts])

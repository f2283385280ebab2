"""Slow CSV readers hold no database connection; a full pool is a 503 with Retry-After, never a 500."""
import contextlib
import socket

import httpx

from dashboard import create_app
from dashboard.export import SLOTS

CITY_EXPORT = "/export/measurements.csv?city=Delhi&start=2026-11-10T00:00Z&end=2026-11-21T00:00Z"


@contextlib.contextmanager
def slow_reader(base: str, path: str):
    """A download that reads its first bytes and then stops reading (curl --limit-rate): a tiny receive
    buffer, so the server soon blocks writing the rest."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n\r\n".encode())
    first = sock.recv(1024)
    try:
        yield first
    finally:
        sock.close()


def test_a_stalled_export_leaves_the_pool_free(own_context, serve_app):
    base = serve_app(create_app(ctx=own_context(pool_size=1, max_overflow=0, pool_timeout_s=3)))
    with slow_reader(base, CITY_EXPORT) as first:
        assert first.startswith(b"HTTP/1.1 200")
        # With its single connection held by the stalled export, this would wait 3 s and fail.
        assert httpx.get(f"{base}/api/v1/stations/1", timeout=10).status_code == 200


def test_exports_beyond_the_cap_are_a_503_with_retry_after(own_context, serve_app):
    app = create_app(ctx=own_context(export_concurrency=1))
    base = serve_app(app)
    # Hold the one slot as a stalled download does (whether a real one stalls depends on the kernel's buffers).
    slots = app.server.extensions[SLOTS]
    assert slots.acquire(blocking=False)
    try:
        busy = httpx.get(f"{base}{CITY_EXPORT}")
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
    finally:
        slots.release()
    assert httpx.get(f"{base}/export/measurements.csv?station=1").status_code == 200  # the slot is free again


def test_a_full_pool_is_a_503_with_retry_after(own_context, serve_app):
    ctx = own_context(pool_size=1, max_overflow=0, pool_timeout_s=0.2)
    base = serve_app(create_app(ctx=ctx))
    with ctx.engine.connect():  # the pool's only connection
        api = httpx.get(f"{base}/api/v1/stations/1")
        assert api.status_code == 503 and int(api.headers["Retry-After"]) >= 5
        assert api.json()["error"]["code"] == "unavailable"
        page = httpx.get(f"{base}/export/measurements.csv?station=1")
        assert page.status_code == 503 and "Retry-After" in page.headers
        assert page.headers["Content-Type"].startswith("text/plain")
    assert httpx.get(f"{base}/api/v1/stations/1").status_code == 200


def test_exports_are_rate_limited_and_capped_at_366_days(live_server):
    base = live_server(export_rate_limit="2/minute")
    too_long = httpx.get(f"{base}/export/measurements.csv?station=1&start=2025-01-01T00:00Z&end=2026-01-03T00:00Z")
    assert too_long.status_code == 400 and "at most 366 days" in too_long.text
    assert httpx.get(f"{base}/export/measurements.csv?station=1").status_code == 200
    limited = httpx.get(f"{base}/export/measurements.csv?station=1")
    assert limited.status_code == 429 and "Retry-After" in limited.headers

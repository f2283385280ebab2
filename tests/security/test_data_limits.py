"""Request bodies are capped, every route is rate-limited, /readyz reuses the cache's Redis client and past
hours outside the data are not computed."""
import json

import httpx
import redis

from core import catalog
from core.cache import AppCache
from core.snapshots import snapshot_at
from dashboard import create_app
from tests.conftest import SEED_END


def test_a_large_callback_body_is_a_413_in_the_error_shape(live_server):
    base = live_server()
    body = json.dumps({"output": "map-graph.figure", "inputs": [{"value": "x" * (3 << 20)}]})
    response = httpx.post(f"{base}/_dash-update-component", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    streamed = httpx.post(f"{base}/_dash-update-component", content=iter([b"{" + b" " * (1 << 20)] * 3),
                          headers={"Content-Type": "application/json"})
    # Chunked, without a Content-Length: the read stops at the cap and the cut-off JSON is refused.
    assert streamed.status_code in (400, 413)


def test_every_route_is_rate_limited_per_address(live_server):
    base = live_server(rate_limit="3/minute")
    for path in ("/healthz", "/readyz", "/embed/city/Delhi", "/_dash-layout", "/"):
        statuses = [httpx.get(f"{base}{path}").status_code for _ in range(4)]
        assert statuses[:3] != [429] * 3 and statuses[3] == 429, (path, statuses)
    limited = httpx.get(f"{base}/healthz")
    assert "Retry-After" in limited.headers


def test_readyz_reuses_the_cache_client(own_context, serve_app, private_redis):
    base = serve_app(create_app(ctx=own_context(redis_url=private_redis.url)))
    admin = redis.Redis.from_url(private_redis.url)
    httpx.get(f"{base}/readyz")
    before = admin.info("stats")["total_connections_received"]
    for _ in range(10):
        assert httpx.get(f"{base}/readyz").json()["checks"]["cache"] == {"status": "ok", "backend": "redis"}
    assert admin.info("stats")["total_connections_received"] - before <= 1


def test_past_hours_before_the_data_are_the_oldest_hour(pg_context):
    ctx = pg_context()
    first = catalog.first_hour(ctx)
    assert first is not None  # other tests may import older hours: whatever the oldest is, nothing precedes it
    assert snapshot_at(ctx, "us_epa", "Delhi", SEED_END.replace(year=1990))["as_of"] == first
    assert ctx.cache.backend.get(AppCache.key("current_aqi", "us_epa", "Delhi", "1990-01-01T00:00:00+00:00")) is None

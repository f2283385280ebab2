"""The live-server fixture itself: each configuration gets its own real HTTP server."""
import httpx


def test_each_configuration_is_served_over_real_http(live_server):
    default, other = live_server(), live_server(api_rate_limit="5/minute")
    assert default != other
    assert httpx.get(f"{default}/healthz").status_code == 200
    assert httpx.get(f"{other}/api/v1/cities").headers["X-RateLimit-Limit"] == "5"

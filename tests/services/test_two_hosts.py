"""Two hosts sharing PostgreSQL and Redis: one app served in this process, one in a process of its own; requests
to each, and the panel's figures read from either host count both."""
import os
import subprocess
import sys
import time

import httpx
import pytest

from core import context
from core.metrics import METRICS, LocalSink
from core.users import create_user
from dashboard import create_app
from tests.conftest import free_port, settings_for_tests
from tests.security.conftest import serve_app  # noqa: F401 (the fixture)

OPERATOR, PASSWORD = "two-hosts-operator", "a long operator password"
ROUTE = "GET /api/v1/aqi/current"
# The second host: the app built from the environment, served like the first.
HOST = """
import sys
from werkzeug.serving import make_server
from dashboard import create_app
server = make_server("127.0.0.1", int(sys.argv[1]), create_app().server, threaded=True)
print("listening", flush=True)
server.serve_forever()
"""


@pytest.fixture()
def two_hosts(seeded_pg, pg_settings, private_redis, serve_app, tmp_path, monkeypatch):  # noqa: F811
    """Base URLs of two hosts on the seeded database and one private Redis."""
    create_user(seeded_pg, OPERATOR, "operator", PASSWORD)
    monkeypatch.setattr(METRICS, "sink", LocalSink())  # this process's host then records into the private Redis
    ctx = context.build(settings_for_tests(database_url=pg_settings.database_url, redis_url=private_redis.url,
                                           forecast_model_dir=pg_settings.forecast_model_dir))
    first = serve_app(create_app(ctx=ctx))
    port = free_port()
    env = {**os.environ, "DATABASE_URL": pg_settings.database_url, "REDIS_URL": private_redis.url,
           "AQI_ENVIRONMENT": "test", "AQI_LIVE_SIMULATION": "false", "AQI_CACHE_WARM_ON_START": "false",
           "AQI_MAP_TILES": "", "AQI_FORECAST_MODEL_DIR": pg_settings.forecast_model_dir,
           "AQI_SECRET_KEY": "k" * 32, "AQI_POOL_SIZE": "5", "AQI_MAX_OVERFLOW": "5"}
    second = subprocess.Popen([sys.executable, "-c", HOST, str(port)], env=env, stdout=subprocess.PIPE,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        assert second.stdout.readline() == b"listening\n", "the second host did not start"
        yield first, f"http://127.0.0.1:{port}"
    finally:
        second.terminate()
        second.wait(timeout=30)
        second.stdout.close()
        ctx.close()
        with seeded_pg.begin() as conn:
            conn.exec_driver_sql("DELETE FROM users WHERE name = %s", (OPERATOR,))


def panel(base: str) -> dict:
    response = httpx.get(f"{base}/api/v1/metrics", params={"window": 300}, auth=(OPERATOR, PASSWORD), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def requests_counted(base: str) -> int:
    return next((t["count"] for t in panel(base)["timers"] if t["kind"] == "api" and t["name"] == ROUTE), 0)


def test_each_hosts_panel_counts_the_requests_of_both(two_hosts):
    first, second = two_hosts
    sent = {first: 7, second: 5}
    for base, count in sent.items():
        for _ in range(count):
            assert httpx.get(f"{base}/api/v1/aqi/current", params={"city": "Delhi"}, timeout=30).status_code == 200
    # Each host flushes its samples into Redis every second: wait for both, then read from either.
    deadline = time.monotonic() + 15
    while requests_counted(first) < sum(sent.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert requests_counted(first) == requests_counted(second) == 12
    both = [panel(base) for base in (first, second)]
    assert [p["pool"]["workers"] for p in both] == [2, 2]  # each host reports its own pool
    assert both[0]["cache"]["namespaces"]["current_aqi"] == both[1]["cache"]["namespaces"]["current_aqi"]

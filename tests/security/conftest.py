"""A live HTTP server per configuration: the security reproductions replay real requests against it."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from werkzeug.serving import make_server

from core import context
from core.metrics import METRICS
from dashboard import create_app
from tests.conftest import settings_for_tests


@pytest.fixture(scope="module")
def live_server(seeded_pg, pg_settings) -> Iterator[Callable[..., str]]:
    """`live_server(**setting_overrides)` → base URL of the dashboard served by a threaded WSGI server on the
    seeded test database (one server per distinct configuration, stopped at the end of the module)."""
    servers: dict[tuple, tuple] = {}

    def start(**overrides) -> str:
        key = tuple(sorted(overrides.items()))
        if key not in servers:
            settings = settings_for_tests(database_url=pg_settings.database_url,
                                          forecast_model_dir=pg_settings.forecast_model_dir, **overrides)
            app = create_app(ctx=context.build(settings, engine=seeded_pg))
            server = make_server("127.0.0.1", 0, app.server, threaded=True)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            servers[key] = (server, thread, f"http://127.0.0.1:{server.server_port}")
        return servers[key][2]

    yield start
    for server, thread, _url in servers.values():
        server.shutdown()
        thread.join()


@pytest.fixture()
def serve_app() -> Iterator[Callable[..., str]]:
    """`serve_app(app)` → base URL of that app served by a threaded WSGI server, stopped after the test (for an
    app on its own context: a small database pool, a private Redis)."""
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join()


@pytest.fixture()
def own_context(pg_settings, seeded_pg) -> Iterator[Callable[..., context.Context]]:
    """`own_context(**overrides)` → a context with its own engine (its own pool) on the seeded test database."""
    built, sink = [], METRICS.sink  # a Redis URL would move the process-wide metrics: put them back after

    def build(**overrides) -> context.Context:
        settings = settings_for_tests(database_url=pg_settings.database_url,
                                      forecast_model_dir=pg_settings.forecast_model_dir, **overrides)
        built.append(context.build(settings))
        return built[-1]

    yield build
    for ctx in built:
        ctx.close()
    METRICS.use(sink)

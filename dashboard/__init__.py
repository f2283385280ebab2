"""The Dash application factory."""
from __future__ import annotations

import logging
import threading

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from flask import Flask
from flask_compress import Compress
from sqlalchemy import Engine

from core import metrics
from core.cache import get_cache
from core.db import engine as db_engine
from core.db import migrate
from core.settings import ROOT, Settings, get_settings
from core.users import ensure_first_admin
from core.warmup import warm_cache

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> dash.Dash:
    """Build the app: migrate the database, mount the API, register the pages."""
    settings = settings or get_settings()
    engine = engine or db_engine.get_engine()
    db_engine.set_engine(engine)
    migrate.upgrade(engine)

    server = Flask(__name__)
    server.config.update(COMPRESS_MIN_SIZE=1024, COMPRESS_ALGORITHM_STREAMING=["br", "gzip", "deflate"],
                         COMPRESS_MIMETYPES=["text/html", "text/css", "application/json", "text/csv",
                                             "application/javascript", "application/geo+json", "text/javascript"])
    server.config["AQI_SETTINGS"] = settings
    Compress(server)

    from dashboard import api, auth, embed, health, monitoring, security

    metrics.configure(settings.redis_url)
    monitoring.init_app(server)
    api.init_app(server)
    embed.init_app(server)
    auth.init_app(server)
    server.register_blueprint(health.blueprint)
    if settings.cache_warm_on_start:
        # In the background: the first requests must not wait for it.
        threading.Thread(target=_warm, name="cache-warm", daemon=True).start()

    app = dash.Dash(
        __name__, server=server, use_pages=True,
        pages_folder=str(ROOT / "dashboard" / "pages"), assets_folder=str(ROOT / "assets"),
        title="AQI Predictor", update_title=None, suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = _shell
    app.callback(Output("nav-collapse", "is_open"), Input("nav-toggler", "n_clicks"),
                 State("nav-collapse", "is_open"), prevent_initial_call=True)(lambda _n, is_open: not is_open)
    security.init_app(server, settings, app.csp_hashes)
    first_admin = ensure_first_admin(engine)
    if first_admin:
        # Printed once, never stored in clear: the only time anyone sees this password.
        print(f"Created the first admin user '{first_admin[0]}' with password: {first_admin[1]}  "
              "(change it: python app.py users create NAME --role admin)", flush=True)
    return app


def _warm() -> None:
    cache = get_cache()
    if cache.client is not None and not cache.client.set("aqi:lock:warm-on-start", 1, nx=True, ex=60):
        return  # with Redis one worker's warming serves all of them
    try:
        for entry in warm_cache():
            log.info("cache warmed: %s", entry)
    except Exception:  # warming is an optimisation: never let it take the server down
        log.exception("cache warming failed")


def _shell() -> html.Div:
    from dashboard.auth import current_role, may

    links = [dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
             for page in dash.page_registry.values() if may(page.get("access", "access_map"))]
    role = current_role()
    links.append(dbc.NavItem(dbc.NavLink(f"Sign out ({role})" if role else "Sign in", external_link=True,
                                         href="/logout" if role else "/login", id="nav-auth")))
    # On a phone the links fold behind a toggler.
    navbar = dbc.Navbar(dbc.Container([
        dbc.NavbarBrand("AQI Predictor", href="/"),
        dbc.NavbarToggler(id="nav-toggler", n_clicks=0),
        dbc.Collapse(dbc.Nav(links, navbar=True, className="ms-auto"), id="nav-collapse", navbar=True,
                     is_open=False),
    ], fluid=True), color="dark", dark=True, expand="md", className="mb-2 py-1")
    return html.Div([navbar, dbc.Container(dash.page_container, fluid=True), dcc.Location(id="url")])

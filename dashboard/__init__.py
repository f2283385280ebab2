"""The Dash application factory."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from flask import Flask
from flask_compress import Compress

from core.context import Context, build
from core.settings import ROOT, Settings
from dashboard import access, api, auth, embed, export, health, monitoring, security
from dashboard.context import EXTENSION
from dashboard.components.validation import PageSkeletons


def create_app(settings: Settings | None = None, ctx: Context | None = None) -> dash.Dash:
    """Build the app on a context (built from settings when not given): no migration, seeding or warming here."""
    ctx = ctx or build(settings)
    settings = ctx.settings

    server = Flask(__name__)
    server.config.update(COMPRESS_MIN_SIZE=1024, COMPRESS_ALGORITHM_STREAMING=["br", "gzip", "deflate"],
                         COMPRESS_MIMETYPES=["text/html", "text/css", "application/json", "text/csv",
                                             "application/javascript", "application/geo+json", "text/javascript"])
    server.extensions[EXTENSION] = ctx
    Compress(server)

    monitoring.init_app(server)
    api.init_app(server)
    embed.init_app(server)
    auth.init_app(server)
    server.register_blueprint(health.blueprint)
    server.register_blueprint(export.blueprint)

    app = dash.Dash(
        __name__, server=server, use_pages=True,
        pages_folder=str(ROOT / "dashboard" / "pages"), assets_folder=str(ROOT / "assets"),
        title="AQI Predictor", update_title=None, enable_mcp=False,  # no second callback endpoint
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        # Dash checks every callback's ids against a validation layout it builds by calling each page's layout()
        # with no arguments; routing also passes the pathname, so a page called without it returns its static
        # skeleton (no database, no sign-in) and misspelled ids show up in the dev tools.
        routing_callback_inputs={"pathname": State("_pages_location", "pathname")}, plugins=[PageSkeletons()],
    )
    app.layout = _shell
    toggle = access.public(lambda _n, is_open: not is_open)  # the navbar is on every page
    app.callback(Output("nav-collapse", "is_open"), Input("nav-toggler", "n_clicks"),
                 State("nav-collapse", "is_open"), prevent_initial_call=True)(toggle)
    access.init_app(app)
    security.init_app(server, settings, app.csp_hashes)
    # Page modules run again for each app, but Dash hands their callbacks to whichever app serves a request
    # first: claim them now, so several apps in one process (tests, benches) each keep their own.
    with server.test_request_context():
        app._setup_server()
    return app


def _shell() -> html.Div:
    links = [dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
             for page in dash.page_registry.values() if access.permits(access.page_access(page))]
    role = auth.current_role()
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

"""The Dash application factory."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from flask import Flask, Response, request
from flask_compress import Compress
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import RequestEntityTooLarge

from core.context import Context, build
from core.settings import ROOT, Settings
from dashboard import access, api, auth, embed, export, health, monitoring, security
from dashboard.api.errors import error_response, pool_timeout_response
from dashboard.context import EXTENSION
from dashboard.components.validation import PageSkeletons

MAX_REQUEST_BYTES = 1 << 20  # the biggest callback request (a map update) is a few KB


def create_app(settings: Settings | None = None, ctx: Context | None = None) -> dash.Dash:
    """Build the app on a context (built from settings when not given): no migration, seeding or warming here."""
    ctx = ctx or build(settings)
    settings = ctx.settings

    server = Flask(__name__)
    server.config.update(COMPRESS_MIN_SIZE=1024, COMPRESS_ALGORITHM_STREAMING=["br", "gzip", "deflate"],
                         COMPRESS_MIMETYPES=["text/html", "text/css", "application/json", "text/csv",
                                             "application/javascript", "application/geo+json", "text/javascript"],
                         MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    server.extensions[EXTENSION] = ctx
    Compress(server)
    server.register_error_handler(RequestEntityTooLarge, _too_large)
    server.register_error_handler(PoolTimeout, _pool_timeout)

    monitoring.init_app(server)
    api.init_app(server)
    embed.init_app(server)
    auth.init_app(server)
    server.register_blueprint(health.blueprint)
    export.init_app(server)

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
    monitoring.track_callbacks(server, lambda: app.callback_map)
    security.init_app(server, settings, app.csp_hashes)
    # Page modules run again for each app, but Dash hands their callbacks to whichever app serves a request
    # first: claim them now, so several apps in one process (tests, benches) each keep their own.
    with server.test_request_context():
        app._setup_server()
    return app


def _too_large(_exc: RequestEntityTooLarge) -> Response:
    return error_response(413, "too_large", f"the request body is over {MAX_REQUEST_BYTES // 1024} KB")


def _pool_timeout(_exc: PoolTimeout) -> Response:
    """503 with Retry-After when no database connection frees up in time: JSON under /api, plain elsewhere."""
    response = pool_timeout_response()
    if not request.path.startswith("/api/"):
        response.set_data("The server is busy; try again in a few seconds.\n")
        response.mimetype = "text/plain"
    return response


def _shell() -> html.Div:
    links = [dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
             for page in dash.page_registry.values() if access.permits(access.page_access(page))]
    role = auth.current_role()
    # Signing out is a POST carrying the CSRF token (the button's own name and value): a form, not a link.
    links.append(dbc.NavItem(html.Form(html.Button(
        f"Sign out ({role})", type="submit", name="csrf_token", value=auth.csrf_token(), id="nav-auth",
        className="nav-link btn btn-link"), action="/logout", method="post", className="d-flex")) if role
        else dbc.NavItem(dbc.NavLink("Sign in", external_link=True, href="/login", id="nav-auth")))
    # On a phone the links fold behind a toggler.
    navbar = dbc.Navbar(dbc.Container([
        dbc.NavbarBrand("AQI Predictor", href="/"),
        dbc.NavbarToggler(id="nav-toggler", n_clicks=0),
        dbc.Collapse(dbc.Nav(links, navbar=True, className="ms-auto"), id="nav-collapse", navbar=True,
                     is_open=False),
    ], fluid=True), color="dark", dark=True, expand="md", className="mb-2 py-1")
    return html.Div([navbar, dbc.Container(dash.page_container, fluid=True), dcc.Location(id="url")])

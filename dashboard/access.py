"""One access table: each page, Flask route (API, export, embed, health…) and shared callback, the role it
needs, and the callbacks it owns.

A callback or route the table does not name is refused. Roles are checked where the work is done (the
callback function, the route's view, the page's layout), never by matching the request path, so mounting the
app under a URL prefix changes nothing. A response whose role is not public is marked Cache-Control: private,
so no shared cache hands it to someone else.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dash
from dash import html
from flask import Flask, Response, abort, g, has_request_context, request

from core.settings import Settings
from core.users import RANK, allows, required_role
from dashboard import context
from dashboard.api.errors import APIError, error_response
from dashboard.api.routes import ROUTES
from dashboard.auth import PUBLIC, current_role

# A page that names no setting is a dashboard view like the map: it needs what the map needs.
PAGE_DEFAULT = "access_map"
# Dash's page router renders whichever page the URL names: each layout it calls is guarded itself.
ROUTER_MODULE = "dash.dash"
# The API's JSON 404 for unknown paths (dashboard.api.views) answers anyone.
PUBLIC_ENDPOINTS = ("api.not_found",)
# Flask routes outside the API's registry and Dash's own routes: endpoint -> access.
FLASK_ROUTES = {
    "export.measurements_csv": "access_map",
    "embed.city_view": "access_map",
    "embed.station_view": "access_map",
    "embed.alerts_form": "access_map",
    "health.healthz": PUBLIC,
    "health.readyz": PUBLIC,
    "monitoring.prometheus_metrics": PUBLIC,  # gated by its own check: internal addresses or the bearer token
    # Signing in and out, and one's own password: open to anyone, the views check who is asking.
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "auth.password": PUBLIC,
}
# Routes that take a POST without changing the app's data: a user's own session and password.
SIGN_IN_ENDPOINTS = ("auth.login", "auth.logout", "auth.password")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# The only other state changes open to the public, each validated by its view: asking for alerts (a pending
# subscription, rate-limited per address) and a subscription's own confirm and unsubscribe links (the token in
# the URL is the credential).
PUBLIC_WRITES = ("api.create_subscription", "api.confirm_subscription", "api.unsubscribe", "embed.alerts_form")
# Anything that changes state needs an admin, whatever the page settings say.
STATE_CHANGING = "admin"
MARK = "aqi_access"  # attribute naming the access of a callback (or Flask view) defined outside a page module
NEEDED = "aqi_role_needed"  # flask.g: the highest role what this request ran needs (Cache-Control follows it)


@dataclass(frozen=True)
class Entry:
    kind: str  # page, route, shared, router
    access: str  # a settings field naming the role (access_admin) or a role itself (public, admin)
    callbacks: tuple[str, ...] = ()  # the callback_map keys it owns

    def role(self, settings: Settings) -> str:
        return role(self.access, settings)


def role(access: str, settings: Settings) -> str:
    return required_role(access, settings)


def permits(access: str) -> bool:
    """Whether the signed-in user (or anonymous) has the role `access` names, in this request's app."""
    if not has_request_context():  # Dash calling a layout while the app is built: nobody is asking
        return False
    return allows(current_role(), role(access, context.settings()))


def requires(access: str) -> Callable:
    """Declare the access of a callback defined outside a page module (page callbacks follow their page)."""
    def mark(func: Callable) -> Callable:
        setattr(func, MARK, access)
        return func

    return mark


public = requires(PUBLIC)


def page_access(page: dict) -> str:
    return page.get("access", PAGE_DEFAULT)


def callback_owner(func: Callable) -> tuple[str, str, str] | None:
    """(owner, kind, access) of a callback function, from its mark or the module defining it; None: nobody."""
    # Dash keeps functools.wraps wrappers: the module and the mark are the user's function's.
    module = func.__module__
    if hasattr(func, MARK):
        return f"{module}.{func.__qualname__}", "shared", getattr(func, MARK)
    if module in dash.page_registry:
        return module, "page", page_access(dash.page_registry[module])
    if module == ROUTER_MODULE:
        return module, "router", PUBLIC
    return None


def table(app: dash.Dash) -> dict[str, Entry]:
    """Pages (dash.page_registry), Flask routes (the API's registry, FLASK_ROUTES, Dash's own, marked views)
    and shared callbacks, each with its access."""
    owned: dict[str, list[str]] = {}
    entries = {module: Entry("page", page_access(page)) for module, page in dash.page_registry.items()}
    for key, spec in app.callback_map.items():
        found = callback_owner(spec["callback"]) if "callback" in spec else None
        if found:
            owner, kind, access = found
            entries.setdefault(owner, Entry(kind, access))
            owned.setdefault(owner, []).append(key)
    entries |= {f"api.{r.endpoint}": Entry("route", STATE_CHANGING if r.method != "GET"
                                           and f"api.{r.endpoint}" not in PUBLIC_WRITES else r.access)
                for r in ROUTES if r.access}
    entries |= {endpoint: Entry("route", PUBLIC) for endpoint in PUBLIC_ENDPOINTS}
    entries |= flask_routes(app)
    return {name: Entry(e.kind, e.access, tuple(owned.get(name, ()))) for name, e in entries.items()}


def flask_routes(app: dash.Dash) -> dict[str, Entry]:
    """The server's routes outside the API registry that have an access; a route changing state needs admin."""
    server: Flask = app.server
    methods: dict[str, set[str]] = {}
    for rule in server.url_map.iter_rules():
        methods.setdefault(rule.endpoint, set()).update(rule.methods or ())
    entries = {}
    for endpoint, view in server.view_functions.items():
        if endpoint.startswith("api."):
            continue  # the API's registry names them
        if view.__module__.partition(".")[0] == "dash":
            # Dash's own routes (index, layout, dependencies, callbacks, component files): each page layout and
            # each callback is guarded itself.
            entries[endpoint] = Entry("dash", PUBLIC)
            continue
        if endpoint == "static" or endpoint.endswith(".static"):  # Flask's and blueprints' files: no data
            entries[endpoint] = Entry("route", PUBLIC)
            continue
        access = getattr(view, MARK, None) or FLASK_ROUTES.get(endpoint)
        if access is None:
            continue
        if methods.get(endpoint, set()) - SAFE_METHODS and endpoint not in (*SIGN_IN_ENDPOINTS, *PUBLIC_WRITES):
            access = STATE_CHANGING
        entries[endpoint] = Entry("route", access)
    return entries


def sign_in_prompt(what: str, needed: str, path: str) -> html.Div:
    """What a page shows to someone whose role may not see it."""
    who = f"as {'an' if needed[0] in 'aeiou' else 'a'} {needed}" if needed != PUBLIC else ""
    return html.Div([html.H4("Sign in required"),
                     html.P([f"To see {what}, ", html.A(f"sign in {who}".strip(), href=f"/login?next={path}"), "."])],
                    id="auth-required", className="mt-4")


def init_app(app: dash.Dash) -> None:
    """Guard every page layout, Flask route and callback of a built app by the table."""
    for page in dash.page_registry.values():
        page["layout"] = _guarded_layout(page)
    server: Flask = app.server
    entries = table(app)
    guard_routes(server, {name: e for name, e in entries.items() if e.kind in ("route", "dash")})
    server.after_request(private_unless_public)
    app.callback_map = Callbacks(app.callback_map)
    lock = threading.Lock()

    def seal() -> None:
        # Dash moves the page callbacks (and adds its router) into callback_map on the first request.
        if not all(_is_guarded(spec) for spec in app.callback_map.values()):
            with lock:
                for spec in app.callback_map.values():
                    if not _is_guarded(spec):
                        found = callback_owner(spec["callback"])
                        spec["callback"] = _guarded_callback(spec["callback"], found[2] if found else None)

    def seal_before_dispatch() -> None:
        if request.path.endswith("_dash-update-component"):  # the one route that runs callbacks
            seal()

    seal()
    server.before_request(seal_before_dispatch)  # after Dash's own first-request set-up, registered in dash.Dash()


class Callbacks(dict):
    """The app's callback map: a request for an output no callback has is refused like one nobody may use."""

    def __missing__(self, key: str) -> Any:
        wanted = set(_output_ids(key))
        accesses = {found[2] for known, spec in self.items() if "callback" in spec
                    and (found := callback_owner(spec["callback"])) and wanted & set(_output_ids(known))}
        if not accesses or not all(permits(a) for a in accesses):
            abort(_refusal())
        abort(error_response(404, "not_found", f"no callback has the output {key}"))


def _output_ids(key: str) -> list[str]:
    """Component ids in a callback_map key ("..a.children...b.value.." or "a.children"; ids may be JSON)."""
    return [part.rsplit(".", 1)[0] for part in key.strip(".").split("...")]


def _is_guarded(spec: dict) -> bool:
    return "callback" not in spec or getattr(spec["callback"], "aqi_guarded", False)


def _refusal(access: str | None = None):
    message = (f"this needs the {role(access, context.settings())} role" if access
               else "no access rule covers this callback")
    return error_response(403, "forbidden", message)


def guard_routes(server: Flask, entries: dict[str, Entry]) -> None:
    """Wrap every view of the server by its entry's access; a view without an entry refuses everyone."""
    for endpoint, view in list(server.view_functions.items()):
        entry = entries.get(endpoint)
        if entry is not None and entry.kind == "dash":
            continue  # Dash's pages and callbacks are guarded one by one
        guard = _guarded_view if endpoint.startswith("api.") else _guarded_route
        server.view_functions[endpoint] = guard(view, entry.access if entry else None)


def private_unless_public(response: Response) -> Response:
    """Cache-Control: private when what answered needs a role (shared caches would serve it to anyone)."""
    if g.get(NEEDED, PUBLIC) != PUBLIC and not response.cache_control.no_store:
        response.cache_control.public = False
        response.cache_control.private = True
    return response


def _need(access: str | None) -> None:
    """Note that this request ran something needing `access` (a router and the page it renders: the higher)."""
    if access is not None:
        needed = role(access, context.settings())
        if RANK[needed] > RANK[g.get(NEEDED, PUBLIC)]:
            setattr(g, NEEDED, needed)


def _guarded_route(view: Callable, access: str | None) -> Callable:
    @functools.wraps(view)
    def guarded(**kwargs):
        _need(access)
        if access is None or not permits(access):
            abort(_plain_refusal(access))
        return view(**kwargs)

    return guarded


def _plain_refusal(access: str | None) -> Response:
    if access is None:
        status, message = 403, "Forbidden: no access rule covers this address."
    elif current_role() is None:
        status, message = 401, f"Sign in at /login as {role(access, context.settings())} or higher."
    else:
        status, message = 403, f"Forbidden: this needs the {role(access, context.settings())} role."
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def _guarded_callback(func: Callable, access: str | None) -> Callable:
    @functools.wraps(func)
    def guarded(*args, **kwargs):
        _need(access)
        if access is None or not permits(access):
            abort(_refusal(access))
        return func(*args, **kwargs)

    guarded.aqi_guarded = True
    return guarded


def _guarded_view(view: Callable, access: str | None) -> Callable:
    @functools.wraps(view)
    def guarded(**kwargs):
        _need(access)
        authorize(access)
        return view(**kwargs)

    return guarded


def authorize(access: str | None) -> None:
    """401 without credentials, 403 with a role that may not, 403 for a route without a role."""
    if access is None:
        raise APIError(403, "forbidden", "no access rule covers this endpoint")
    if permits(access):
        return
    needed = role(access, context.settings())
    if current_role() is None:
        raise APIError(401, "unauthorized", f"sign in (session or HTTP Basic) as {needed} or higher")
    raise APIError(403, "forbidden", f"this needs the {needed} role; you are {current_role()}")


def _guarded_layout(page: dict) -> Callable:
    layout, access = page["layout"], page_access(page)
    if getattr(layout, "aqi_guarded", False):
        return layout

    def guarded(**kwargs):
        # Called with no arguments, it is Dash building its validation layout (ids only, no data); routing
        # always passes the pathname.
        if kwargs:
            _need(access)
        if kwargs and not permits(access):
            return sign_in_prompt(f"the {page['name']} page", role(access, context.settings()),
                                  page["relative_path"])
        return layout(**kwargs) if callable(layout) else layout

    guarded.aqi_guarded = True
    return guarded

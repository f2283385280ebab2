"""Sign-in and sessions (Flask-Login), API credentials (tokens, HTTP Basic), CSRF, and the signed-in user's role.

Browsers sign in with the form and carry a session cookie; API clients send `Authorization: Bearer <token>`
(or HTTP Basic), accepted under /api/ only. Failed attempts of either kind are counted per account and per
client address. A state change made with the cookie must carry a CSRF token or come from this site's own pages
(`Sec-Fetch-Site`/`Origin`: Dash's callback requests carry no token).
"""
from __future__ import annotations

import logging
import math
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from limits import parse
from redis.exceptions import RedisError

from core import tokens, users
from dashboard import context
from dashboard.api.errors import error_response

log = logging.getLogger(__name__)
blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()

PUBLIC = "public"  # the role everyone has, signed in or not
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SEEN_EVERY_S = 60  # the idle clock moves at most once a minute, so not every response rewrites the cookie
ATTEMPTS = "signin_attempts"  # server.extensions key
READ_SCOPE, WRITE_SCOPE = "read", "jobs"  # what a token needs for a safe method, for any other


class WebUser(UserMixin):
    """The signed-in user; `credential` says how (session, basic, token), `scopes` bound a token."""

    def __init__(self, user: dict, credential: str = "session", scopes: frozenset[str] | None = None) -> None:
        self.user_id, self.name, self.role = user["id"], user["name"], user["role"]
        self.session_version = user["session_version"]
        self.must_change_password = user["must_change_password"]
        self.credential, self.scopes = credential, scopes

    def get_id(self) -> str:
        # The session stores this: a bumped version (sign-out, new password, disabled) voids every copy of it.
        return f"{self.user_id}:{self.session_version}"


@login_manager.user_loader
def _load(session_id: str) -> WebUser | None:
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = users.get_user(context.current().engine, int(user_id))
    return WebUser(user) if user and user["session_version"] == int(version) else None


@login_manager.request_loader
def _api_user(_request) -> WebUser | None:
    """The user an API token or HTTP Basic credentials named (checked before the view by _api_credentials)."""
    return g.get("api_user")


def anonymous() -> bool:
    """No signed-in session and no API credential: known without asking Flask-Login to load a user."""
    session.accessed = True  # the answer depends on the cookie all the same (Vary: Cookie)
    return "_user_id" not in session and g.get("api_user") is None


def current_role() -> str | None:
    """The signed-in user's role; None when anonymous or outside a request (Dash building a layout at start)."""
    if not has_request_context() or anonymous():
        return None
    return current_user.role if current_user.is_authenticated else None


class Attempts:
    """Failed sign-ins, counted per account and per client address in one Flask-Limiter (Redis when configured)."""

    def __init__(self, server: Flask, rate: str, storage_uri: str) -> None:
        self.limiter = Limiter(get_remote_address, storage_uri=storage_uri, key_prefix="aqi-signin",
                               strategy="moving-window")
        self.limiter.init_app(server)  # opens the storage; no route limit is declared on it
        self.item = parse(rate)

    def _keys(self, name: str | None) -> list[tuple[str, ...]]:
        keys = [("aqi-signin", "address", get_remote_address())]
        return keys + [("aqi-signin", "account", name.casefold())] if name else keys

    def wait_s(self, name: str | None) -> int:
        """Seconds until `name` (None: a token, no account) may try again from this address; 0: now."""
        try:
            for key in self._keys(name):
                if not self.limiter.limiter.test(self.item, *key):
                    reset, _remaining = self.limiter.limiter.get_window_stats(self.item, *key)
                    return max(1, math.ceil(reset - time.time()))
        except RedisError:  # like the API's limit: an unreachable Redis must not lock everyone out
            log.warning("sign-in limit not checked: Redis unreachable", exc_info=True)
        return 0

    def failed(self, name: str | None) -> None:
        try:
            for key in self._keys(name):
                self.limiter.limiter.hit(self.item, *key)
        except RedisError:
            log.warning("failed sign-in not counted: Redis unreachable", exc_info=True)


def _attempts() -> Attempts:
    return current_app.extensions[ATTEMPTS]


def safe_target(target: str | None) -> str:
    """`target` when it is a path on this site, else "/" (browsers drop tabs and read backslashes as slashes)."""
    if not target or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    return target if target.startswith("/") and not parts.scheme and not parts.netloc else "/"


def init_app(server: Flask) -> None:
    settings = server.extensions[context.EXTENSION].settings
    server.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by _guard: forms by token, Dash's callbacks by origin
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session (idle and absolute timeouts)
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_absolute_timeout_h),
        # A page's parallel requests would each re-send the session as they read it, the last one winning:
        # the cookie is written only when the session changes (the idle clock moves once a minute).
        SESSION_REFRESH_EACH_REQUEST=False)
    csrf.init_app(server)
    login_manager.init_app(server)
    login_manager.login_view = "auth.login"
    server.extensions[ATTEMPTS] = Attempts(server, settings.login_rate_limit, settings.limits_storage_uri)
    server.before_request(_guard)
    server.register_blueprint(blueprint)


def _guard() -> Response | None:
    """Before every request: end an expired session, check API credentials, refuse cross-site cookie requests,
    and hold a user who must change their password to that."""
    _expire_session()
    return _api_credentials() or _refuse_cross_site() or _require_password_change()


def _expire_session() -> None:
    if "_user_id" not in session:
        return
    settings, now = context.settings(), time.time()
    if (now - session.get("signed_in_at", 0) > settings.session_absolute_timeout_h * 3600
            or now - session.get("seen_at", 0) > settings.session_idle_timeout_min * 60):
        logout_user()
        session.clear()
    elif now - session["seen_at"] >= SEEN_EVERY_S:
        session["seen_at"] = int(now)


def _api_credentials() -> Response | None:
    """Under /api/ only: a Bearer token or HTTP Basic; bad ones are refused (401) and counted as failed sign-ins."""
    header = request.headers.get("Authorization")
    if request.blueprint != "api" or not header:
        return None
    scheme, _, value = header.partition(" ")
    engine = context.current().engine
    if scheme.lower() == "bearer":
        if wait := _attempts().wait_s(None):
            return _throttled_json(wait)
        found = tokens.verify_token(engine, value.strip())
        if found is None:
            _attempts().failed(None)
            return _unauthorized("this API token is unknown, revoked, or its user disabled")
        user, scopes = found
        needed = READ_SCOPE if request.method in SAFE_METHODS else WRITE_SCOPE
        if needed not in scopes:
            return error_response(403, "insufficient_scope", f"this token lacks the '{needed}' scope "
                                                             f"(it has: {', '.join(sorted(scopes))})")
        g.api_user = WebUser(user, "token", scopes)
        return None
    basic = request.authorization
    if basic is None or basic.type != "basic" or not basic.username:
        return _unauthorized("send Authorization: Bearer <API token> (python app.py users token create NAME)")
    if wait := _attempts().wait_s(basic.username):
        return _throttled_json(wait)
    user = users.authenticate(engine, basic.username, basic.password or "")
    if user is None:
        _attempts().failed(basic.username)
        return _unauthorized("unknown user name or wrong password")
    g.api_user = WebUser(user, "basic")
    return None


def _unauthorized(message: str) -> Response:
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="aqi"'  # not Basic: no browser password dialog
    return response


def _throttled_json(wait: int) -> Response:
    response = error_response(429, "rate_limited", f"too many failed sign-ins for this account or from this "
                                                   f"address: retry after {wait} s")
    response.headers["Retry-After"] = str(wait)
    return response


def _refuse_cross_site() -> Response | None:
    """A state change made with the session cookie needs this site's origin or a CSRF token (X-CSRFToken)."""
    if request.method in SAFE_METHODS or request.blueprint == "auth":  # the forms check their token themselves
        return None
    if not (current_user.is_authenticated and current_user.credential == "session"):
        return None  # anonymous, or a token / Basic credentials, which a browser never adds by itself
    if _same_origin() or _valid_csrf_header():
        return None
    return error_response(403, "cross_site_refused", "a request signed in by cookie must come from this site's "
                                                     "pages or carry the X-CSRFToken header; scripts use API tokens")


def _same_origin() -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:  # every current browser sends it, and no page can forge it
        return site == "same-origin"
    return request.headers.get("Origin") == request.host_url.rstrip("/")


def _valid_csrf_header() -> bool:
    if not request.headers.get("X-CSRFToken"):
        return False
    try:
        csrf.protect()
    except CSRFError:
        return False
    return True


def _require_password_change() -> Response | None:
    if request.blueprint == "auth":
        return None
    safe = request.method in SAFE_METHODS and request.blueprint != "api"
    page = safe and request.accept_mimetypes.best == "text/html"  # a navigation, not an asset (*/* too)
    if safe and not page:
        return None  # assets and Dash's layout: the page they belong to redirects
    if anonymous() or not (current_user.is_authenticated and current_user.must_change_password
            and current_user.credential != "token"):
        return None
    if page:
        return redirect(url_for("auth.password", next=safe_target(request.full_path.rstrip("?"))))
    return error_response(403, "password_change_required", "change the password first, at /password")


def csrf_token() -> str:
    """This session's CSRF token, for a form a page builds itself (the navbar's sign-out button)."""
    return generate_csrf()


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }} · AQI Predictor</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/00-bootstrap.min.css"></head>
<body class="bg-light"><main class="container" style="max-width: 420px; margin-top: 10vh">
<h1 class="h4 mb-3">{{ title }}</h1>
{% if notice %}<div class="alert alert-warning" role="status" id="login-notice">{{ notice }}</div>{% endif %}
{% if error %}<div class="alert alert-danger" role="alert" id="login-error">{{ error }}</div>{% endif %}
<form method="post" action="{{ action }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
{% for field, label, kind, complete, value in fields %}
<div class="mb-2"><label class="form-label" for="{{ field }}">{{ label }}</label>
<input class="form-control" id="{{ field }}" name="{{ field }}" type="{{ kind }}" autocomplete="{{ complete }}"
 required value="{{ value }}"></div>
{% endfor %}
<button class="btn btn-primary w-100 mt-2" type="submit" id="login-submit">{{ title }}</button></form>
<p class="mt-3 small"><a class="link-dark" href="/">Back to the map</a></p></main></body></html>"""


def _sign_in_page(target: str, error: str | None = None, status: int = 200, name: str = "") -> tuple:
    fields = [("name", "User name", "text", "username", name),
              ("password", "Password", "password", "current-password", "")]
    return render_template_string(PAGE, title="Sign in", action=url_for("auth.login", next=target), fields=fields,
                                  error=error, notice=None), status


def _password_page(target: str, error: str | None = None, status: int = 200) -> tuple:
    fields = [("current", "Current password", "password", "current-password", ""),
              ("new", "New password (at least 10 characters)", "password", "new-password", ""),
              ("confirm", "New password again", "password", "new-password", "")]
    notice = ("This password was given to you once: choose your own to go on."
              if current_user.must_change_password else None)
    return render_template_string(PAGE, title="Change password", action=url_for("auth.password", next=target),
                                  fields=fields, error=error, notice=notice), status


def _throttled_page(page, wait: int) -> tuple:
    body, status = page(f"Too many failed sign-ins for this account or from this address: try again in {wait} s.",
                        429)
    return body, status, {"Retry-After": str(wait)}


def _start_session(user: WebUser) -> None:
    session.clear()  # nothing from before sign-in (its CSRF token) carries over
    login_user(user)
    session.permanent = True  # the cookie itself expires with the absolute timeout
    session["signed_in_at"] = session["seen_at"] = int(time.time())
    generate_csrf()  # in the sign-in response's cookie, before the page's parallel requests read the session


@blueprint.errorhandler(CSRFError)
def _form_expired(_exc: CSRFError):
    message = "This form expired or did not come from this site: please try again."
    target = safe_target(request.args.get("next"))
    if request.endpoint == "auth.password" and current_user.is_authenticated:
        return _password_page(target, message, 400)
    return _sign_in_page(target, message, 400)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    target = safe_target(request.args.get("next"))
    if request.method == "GET":
        return _sign_in_page(target)
    csrf.protect()
    name, attempts = request.form.get("name", ""), _attempts()
    if wait := attempts.wait_s(name):
        return _throttled_page(lambda error, status: _sign_in_page(target, error, status, name), wait)
    user = users.authenticate(context.current().engine, name, request.form.get("password", ""))
    if user is None:
        attempts.failed(name)
        return _sign_in_page(target, "Unknown user name or wrong password.", 401, name)
    _start_session(WebUser(user))
    return redirect(url_for("auth.password", next=target) if user["must_change_password"] else target)


@blueprint.route("/password", methods=["GET", "POST"])
def password():
    target = safe_target(request.args.get("next"))
    if not current_user.is_authenticated or current_user.credential != "session":
        return redirect(url_for("auth.login", next=url_for("auth.password", next=target)))
    if request.method == "GET":
        return _password_page(target)
    csrf.protect()
    form, attempts = request.form, _attempts()
    if form.get("new", "") != form.get("confirm", ""):
        return _password_page(target, "The two new passwords differ.", 400)
    if wait := attempts.wait_s(current_user.name):
        return _throttled_page(lambda error, status: _password_page(target, error, status), wait)
    engine = context.current().engine
    try:
        users.change_password(engine, current_user.user_id, form.get("current", ""), form.get("new", ""))
    except users.WrongPassword as exc:
        attempts.failed(current_user.name)
        return _password_page(target, f"{str(exc).capitalize()}.", 401)
    except ValueError as exc:
        return _password_page(target, f"{str(exc).capitalize()}.", 400)
    _start_session(WebUser(users.get_user(engine, current_user.user_id)))  # this session goes on; others end
    return redirect(target)


@blueprint.route("/logout", methods=["POST"])
def logout():
    csrf.protect()
    if current_user.is_authenticated:
        # A session cookie cannot be recalled: a new version voids this one and any copy of it.
        users.end_sessions(context.current().engine, current_user.user_id)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))

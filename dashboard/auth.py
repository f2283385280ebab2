"""Sign-in (Flask-Login, session cookie or HTTP Basic for API clients) and the signed-in user's role."""
from __future__ import annotations

from flask import Blueprint, Flask, redirect, render_template_string, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from core.users import authenticate, get_user
from dashboard import context

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()

PUBLIC = "public"  # the role everyone has, signed in or not


class WebUser(UserMixin):
    def __init__(self, user: dict) -> None:
        self.id, self.name, self.role = user["id"], user["name"], user["role"]


@login_manager.user_loader
def _load(user_id: str) -> WebUser | None:
    user = get_user(context.current().engine, int(user_id))
    return WebUser(user) if user else None


@login_manager.request_loader
def _basic_auth(req) -> WebUser | None:
    """API clients and scripts may send HTTP Basic credentials instead of a session cookie."""
    auth = req.authorization
    if auth and auth.type == "basic" and auth.username and auth.password:
        user = authenticate(context.current().engine, auth.username, auth.password)
        return WebUser(user) if user else None
    return None


def current_role() -> str | None:
    """The signed-in user's role; None when anonymous or outside a request (Dash building a layout at start)."""
    return current_user.role if current_user and current_user.is_authenticated else None


def init_app(server: Flask) -> None:
    login_manager.init_app(server)
    login_manager.login_view = "auth.login"
    limiter = server.extensions.get("api_limiter")
    if limiter is not None:  # the same limiter (Redis storage when configured) guards sign-in attempts
        limiter.limit(server.extensions["aqi"].settings.login_rate_limit, methods=["POST"])(blueprint)
    server.register_blueprint(blueprint)


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · AQI Predictor</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/00-bootstrap.min.css"></head>
<body class="bg-light"><main class="container" style="max-width: 420px; margin-top: 10vh">
<h1 class="h4 mb-3">Sign in</h1>
{% if error %}<div class="alert alert-danger" role="alert" id="login-error">{{ error }}</div>{% endif %}
<form method="post" action="{{ url_for('auth.login', next=next) }}">
<div class="mb-2"><label class="form-label" for="name">User name</label>
<input class="form-control" id="name" name="name" autocomplete="username" required value="{{ name }}"></div>
<div class="mb-3"><label class="form-label" for="password">Password</label>
<input class="form-control" id="password" name="password" type="password" autocomplete="current-password" required>
</div><button class="btn btn-primary w-100" type="submit" id="login-submit">Sign in</button></form>
<p class="mt-3 small"><a href="/">Back to the map</a></p></main></body></html>"""


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    target = request.args.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # never redirect off-site
    if request.method == "GET":
        return render_template_string(PAGE, error=None, next=target, name="")
    name = request.form.get("name", "")
    user = authenticate(context.current().engine, name, request.form.get("password", ""))
    if user is None:
        return render_template_string(PAGE, error="Unknown user name or wrong password.", next=target,
                                      name=name), 401
    login_user(WebUser(user))
    return redirect(target)


@blueprint.route("/logout", methods=["GET", "POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))

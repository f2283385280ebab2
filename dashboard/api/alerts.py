"""Public alert subscriptions: subscribe (202, pending until the e-mail is confirmed), the confirm and
unsubscribe links (a page with a button, and the POST it sends: RFC 8058 one-click), and each subscription's
JSON and Atom feeds. The token in a link is its credential; nothing here needs an account."""
from __future__ import annotations

from typing import Literal

import logging

from flask import Response, current_app, render_template, request
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from pydantic import Field

from core.alerts import feeds, subscriptions
from core.aqi.standards import STANDARD_CODES
from dashboard import context
from dashboard.api.errors import APIError
from dashboard.api.responses import HTML, JSON, json_response
from dashboard.api.routes import route
from dashboard.api.schemas import Body, Query
from dashboard.auth import PUBLIC

log = logging.getLogger(__name__)
TOKEN = r"^[A-Za-z0-9_-]{20,64}$"
ATOM = "application/atom+xml"
JSON_FEED = "application/feed+json"


class SubscriptionRequest(Body):
    email: str | None = Field(None, max_length=254, description="Where alerts are e-mailed (double opt-in).")
    webhook_url: str | None = Field(None, max_length=2048, description="An https URL on a public address that "
                                                                        "receives signed JSON POSTs.")
    city: str | None = Field(None, max_length=120, description="A city's name (its worst station counts).")
    station_id: int | None = Field(None, ge=1, le=2**31 - 1, description="A station's id.")
    standard: Literal[STANDARD_CODES] = Field(description="AQI standard.")  # type: ignore[valid-type]
    category: str = Field(max_length=80, description="The threshold: a category name of the standard, e.g. "
                                                     "'Unhealthy for Sensitive Groups'; alerts at it or worse.")
    kind: Literal["observed", "forecast"] = Field(description="observed: the NowCast crosses the threshold; "
                                                              "forecast: tomorrow's daily forecast reaches it.")


class Subscription(Body):
    id: int
    status: Literal["pending", "active", "paused", "unsubscribed"]
    kind: str
    channel: Literal["email", "webhook"]
    standard: str
    category: str
    city_id: int | None
    station_id: int | None
    feeds: dict[str, str] | None = Field(None, description="The subscription's JSON Feed and Atom feed URLs "
                                         "(e-mail: in the confirmation e-mail, not here).")
    unsubscribe: str | None = Field(None, description="Its unsubscribe URL (e-mail: in every message).")
    secret: str | None = Field(None, description="Webhooks only, shown this once: the HMAC-SHA256 key of "
                                                 "X-AQI-Signature (t=<unix>,v1=<hex of HMAC(\"t.body\")>).")


class SubscriptionOne(Body):
    data: Subscription


class TokenPath(Query):
    token: str = Field(pattern=TOKEN)


def _enabled() -> None:
    if not context.settings().alerts_enabled:
        raise APIError(404, "not_found", "alerts are not enabled on this server")


def _limiter() -> FixedWindowRateLimiter:
    """This app's counter of new subscriptions: in Redis when configured (every worker and host counts together)."""
    if "alert_limiter" not in current_app.extensions:
        storage = storage_from_string(context.settings().limits_storage_uri)
        current_app.extensions["alert_limiter"] = FixedWindowRateLimiter(storage)
    return current_app.extensions["alert_limiter"]


def _limited(key: str) -> None:
    """settings.alert_rate_limit per `key` (a client address, a mailbox or a URL): a 429 beyond it."""
    rate = context.settings().alert_rate_limit
    try:
        admitted = all(_limiter().hit(limit, "aqi-alerts", key) for limit in parse_many(rate))
    except Exception:  # the counter's store is down: subscribing still works (each is confirmed by e-mail)
        log.warning("alert rate limit not counted: its store failed", exc_info=True)
        return
    if not admitted:
        raise APIError(429, "rate_limited", f"too many new subscriptions from this address or for this target: "
                                            f"the limit is {rate}")


def create(body: SubscriptionRequest) -> dict:
    """Rate-limited per client address and per target, then checked and stored (shared with the embed's form)."""
    _limited(f"client:{request.remote_addr}")
    request_ = subscriptions.Request(body.email, body.webhook_url, body.city, body.station_id, body.standard,
                                     body.category, body.kind)
    ctx = context.current()
    try:
        columns = subscriptions.check(ctx, request_)
    except subscriptions.InvalidSubscription as exc:
        raise APIError(400, "invalid_subscription", str(exc)) from None
    _limited(f"{columns['channel']}:{columns['target']}")
    return subscriptions.store(ctx, columns)


@route("/alerts/subscriptions", summary="Ask for AQI alerts by e-mail or webhook (no account needed)",
       body=SubscriptionRequest, content={JSON: SubscriptionOne}, cache=0, errors=(400, 404), method="POST",
       access=PUBLIC, status=202)
def create_subscription(body: SubscriptionRequest) -> Response:
    """202 with the subscription. An e-mail subscription stays pending until the link in its confirmation
    e-mail is followed; a webhook one is active at once and its signing secret is in this answer only. Limited
    to settings.alert_rate_limit per client address and per e-mail address or URL."""
    _enabled()
    return json_response({"data": create(body)}, 202)


def _page(title: str, message: str, action: str | None = None, button: str = "", status: int = 200) -> Response:
    html = render_template("embed/alerts_page.html", title=title, message=message, action=action, button=button,
                           nonce="")
    return Response(html, status=status, mimetype=HTML)


def _answer(row, title: str, message: str) -> Response:
    if row is None:
        raise APIError(404, "not_found", "no subscription has this link (it may have been deleted)")
    if request.accept_mimetypes.best == HTML:
        return _page(title, message)
    return json_response({"data": subscriptions.public_view(context.current(), row)})


@route("/alerts/confirm/{token}", summary="The confirmation link's page: a button that confirms",
       path_params=TokenPath, content={HTML: {"type": "string"}}, cache=0, errors=(404,), access=PUBLIC)
def confirm_page(token: str) -> Response:
    """Following the link changes nothing (mail scanners follow links): its button sends the POST."""
    _enabled()
    return _page("Confirm your air-quality alerts", "Press the button to start receiving the alerts you asked for.",
                 request.path, "Confirm")


@route("/alerts/confirm/{token}", summary="Confirm an e-mail subscription (double opt-in)", path_params=TokenPath,
       content={JSON: SubscriptionOne}, cache=0, errors=(404,), method="POST", access=PUBLIC)
def confirm_subscription(token: str) -> Response:
    """The pending subscription becomes active (again: no change)."""
    _enabled()
    return _answer(subscriptions.confirm(context.current(), token), "Alerts confirmed",
                   "You will be told when the air reaches the level you chose.")


@route("/alerts/unsubscribe/{token}", summary="The unsubscribe link's page: a button that unsubscribes",
       path_params=TokenPath, content={HTML: {"type": "string"}}, cache=0, errors=(404,), access=PUBLIC)
def unsubscribe_page(token: str) -> Response:
    """Following the link changes nothing: its button sends the POST."""
    _enabled()
    return _page("Stop these air-quality alerts", "Press the button to stop these alerts.", request.path,
                 "Unsubscribe")


@route("/alerts/unsubscribe/{token}", summary="Unsubscribe (RFC 8058 one-click: List-Unsubscribe=One-Click)",
       path_params=TokenPath, content={JSON: SubscriptionOne}, cache=0, errors=(404,), method="POST",
       access=PUBLIC)
def unsubscribe(token: str) -> Response:
    """Mail clients POST `List-Unsubscribe=One-Click` here from the List-Unsubscribe header; nothing more is sent."""
    _enabled()
    return _answer(subscriptions.unsubscribe(context.current(), token), "Unsubscribed",
                   "You will receive no more of these alerts.")


@route("/alerts/feeds/{token}.json", summary="A subscription's alerts as a JSON Feed 1.1, newest first",
       path_params=TokenPath, content={JSON_FEED: {"type": "object"}}, cache=0, errors=(404,), access=PUBLIC)
def json_feed(token: str) -> Response:
    """Each item's `_aqi` has the place, category, colour, health message, UTC and local time and the value."""
    _enabled()
    feed = feeds.json_feed(context.current(), token)
    if feed is None:
        raise APIError(404, "not_found", "no subscription has this feed")
    return json_response(feed, mimetype=JSON_FEED)


@route("/alerts/feeds/{token}.atom", summary="A subscription's alerts as an Atom feed, newest first",
       path_params=TokenPath, content={ATOM: {"type": "string"}}, cache=0, errors=(404,), access=PUBLIC)
def atom_feed(token: str) -> Response:
    """The same alerts as the JSON feed, in Atom (RFC 4287)."""
    _enabled()
    feed = feeds.atom_feed(context.current(), token)
    if feed is None:
        raise APIError(404, "not_found", "no subscription has this feed")
    return Response(feed, mimetype=ATOM)

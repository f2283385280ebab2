"""Subscriptions: validated on the way in, pending until an e-mail is confirmed (double opt-in), then active;
paused, resumed or deleted by admins, ended by their own unsubscribe link."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core import catalog
from core.aqi.standards import STANDARD_CODES, standard
from core.alerts import messages, outbox, webhooks
from core.context import Context
from core.db.models import AlertSubscription

EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                   r"[A-Za-z]{2,63}")
KINDS = ("observed", "forecast")
FORECAST_STANDARDS = ("us_epa",)  # the stored forecasts' daily rule (core.forecast.service) is the US one
STATUSES = ("pending", "active", "paused", "unsubscribed")
ADMIN_STATUSES = {"pause": ("active", "paused"), "resume": ("paused", "active")}


class InvalidSubscription(ValueError):
    """A subscription request that names nothing real or asks for what cannot be sent; the message says why."""


@dataclass(frozen=True)
class Request:
    """A subscription request as the API receives it (exactly one of email / webhook_url, of city / station_id)."""

    email: str | None
    webhook_url: str | None
    city: str | None
    station_id: int | None
    standard: str
    category: str
    kind: str


def category_position(code: str, name: str) -> int:
    """Position of the standard's category called `name` (any case); InvalidSubscription otherwise."""
    names = [c.name for c in standard(code).categories]
    found = next((i for i, n in enumerate(names) if n.lower() == name.strip().lower()), None)
    if found is None:
        raise InvalidSubscription(f"category: {code} has no category {name!r}; it has: {', '.join(names)}")
    if found == 0:
        raise InvalidSubscription(f"category: {names[0]!r} is the best category: choose one of "
                                  f"{', '.join(names[1:])}")
    return found


def _place(ctx: Context, request: Request) -> tuple[int | None, int | None]:
    """(city_id, station_id) of the place, checked against the catalogue."""
    if (request.city is None) == (request.station_id is None):
        raise InvalidSubscription("give exactly one of city or station_id")
    if request.city is not None:
        city = next((c for c in catalog.cities(ctx) if c["name"] == request.city), None)
        if city is None:
            raise InvalidSubscription(f"city: no city named {request.city!r}")
        return city["id"], None
    try:
        catalog.station(ctx, request.station_id)
    except catalog.UnknownStation:
        raise InvalidSubscription(f"station_id: no station with id {request.station_id}") from None
    return None, request.station_id


def _target(ctx: Context, request: Request) -> tuple[str, str]:
    """(channel, target): a plausible e-mail address, or a webhook URL reaching only public addresses."""
    if (request.email is None) == (request.webhook_url is None):
        raise InvalidSubscription("give exactly one of email or webhook_url")
    if request.email is not None:
        address = request.email.strip()
        if len(address) > 254 or not EMAIL.fullmatch(address):
            raise InvalidSubscription("email: not an e-mail address")
        local, _, domain = address.rpartition("@")
        return "email", f"{local}@{domain.lower()}"
    try:
        webhooks.resolve_target(request.webhook_url, ctx.settings.webhook_allow_networks)
    except webhooks.RefusedTarget as exc:
        raise InvalidSubscription(f"webhook_url: {exc}") from None
    return "webhook", request.webhook_url


def check(ctx: Context, request: Request) -> dict:
    """The subscription's columns for a valid request; InvalidSubscription naming the first problem."""
    if request.standard not in STANDARD_CODES:
        raise InvalidSubscription(f"standard: unknown {request.standard!r}; use one of: {', '.join(STANDARD_CODES)}")
    if request.kind not in KINDS:
        raise InvalidSubscription(f"kind: use one of: {', '.join(KINDS)}")
    if request.kind == "forecast" and request.standard not in FORECAST_STANDARDS:
        raise InvalidSubscription(f"standard: forecast alerts follow {', '.join(FORECAST_STANDARDS)} (the daily "
                                  "forecast's rule); observed alerts take any standard")
    position = category_position(request.standard, request.category)
    city_id, station_id = _place(ctx, request)
    channel, target = _target(ctx, request)
    return {"channel": channel, "target": target, "city_id": city_id, "station_id": station_id,
            "standard": request.standard, "category": position, "kind": request.kind}


def subscribe(ctx: Context, request: Request) -> dict:
    """Check and store a request (see store); InvalidSubscription naming the first problem."""
    return store(ctx, check(ctx, request))


def store(ctx: Context, columns: dict) -> dict:
    """Store checked columns: e-mail pending (a confirmation is enqueued), webhook active with its secret.

    Returns the subscription as `public_view`, plus the webhook's secret, shown this once.
    """
    now = datetime.now(timezone.utc)
    email = columns["channel"] == "email"
    row = AlertSubscription(**columns, status="pending" if email else "active", token=secrets.token_urlsafe(32),
                            secret=None if email else secrets.token_hex(32), created_at=now,
                            confirmed_at=None if email else now, below_hours=0)
    with ctx.session() as session:
        session.add(row)
        session.flush()
        if email:
            outbox.enqueue(session, "email", row.target, messages.confirmation(ctx, row), f"confirm:{row.id}")
        session.commit()
    if email:  # the links carry the token that confirms: only the mailbox may learn it
        return public_view(ctx, row, links=False)
    return {**public_view(ctx, row), "secret": row.secret}


def public_view(ctx: Context, row: AlertSubscription, links: bool = True) -> dict:
    """What the subscriber may see of their subscription: no target, no secret; its feed and unsubscribe links
    (they carry its token) only with `links`."""
    base = ctx.settings.public_url
    view = {"id": row.id, "status": row.status, "kind": row.kind, "channel": row.channel, "standard": row.standard,
            "category": standard(row.standard).categories[row.category].name,
            "city_id": row.city_id, "station_id": row.station_id}
    if links:
        view |= {"feeds": {"json": f"{base}/api/v1/alerts/feeds/{row.token}.json",
                           "atom": f"{base}/api/v1/alerts/feeds/{row.token}.atom"},
                 "unsubscribe": f"{base}/api/v1/alerts/unsubscribe/{row.token}"}
    return view


def by_token(session: Session, token: str) -> AlertSubscription | None:
    """The subscription a link's token names (None: none, or not a token's shape)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", token):
        return None
    return session.scalar(select(AlertSubscription).where(AlertSubscription.token == token))


def confirm(ctx: Context, token: str) -> AlertSubscription | None:
    """A pending subscription becomes active (an active one stays so); None for an unknown token."""
    with ctx.session() as session:
        row = by_token(session, token)
        if row is None or row.status == "unsubscribed":
            return None
        if row.status == "pending":
            row.status, row.confirmed_at = "active", datetime.now(timezone.utc)
            session.commit()
        return row


def unsubscribe(ctx: Context, token: str) -> AlertSubscription | None:
    """End a subscription (its events and messages stay for the record); None for an unknown token."""
    with ctx.session() as session:
        row = by_token(session, token)
        if row is None:
            return None
        row.status = "unsubscribed"
        session.commit()
        return row


def set_status(ctx: Context, subscription_id: int, action: str) -> bool:
    """Admin: `pause` an active subscription or `resume` a paused one; False when it is not in that state."""
    before, after = ADMIN_STATUSES[action]
    with ctx.session() as session:
        result = session.execute(update(AlertSubscription).where(AlertSubscription.id == subscription_id,
                                                                 AlertSubscription.status == before)
                                 .values(status=after))
        session.commit()
    return result.rowcount == 1


def remove(ctx: Context, subscription_id: int) -> bool:
    """Admin: delete a subscription with its events; False when there is none."""
    with ctx.session() as session:
        result = session.execute(delete(AlertSubscription).where(AlertSubscription.id == subscription_id))
        session.commit()
    return result.rowcount == 1


def listing(ctx: Context, status: str | None = None, limit: int = 200) -> list[dict]:
    """Admin: subscriptions newest first, with their target and place names."""
    places = {("city", c["id"]): c["name"] for c in catalog.cities(ctx)}
    places |= {("station", s["id"]): f"{s['name']} ({s['city']})" for s in catalog.stations(ctx)}
    query = select(AlertSubscription).order_by(AlertSubscription.id.desc()).limit(limit)
    if status is not None:
        query = query.where(AlertSubscription.status == status)
    with ctx.session() as session:
        rows = session.scalars(query).all()
    return [{"id": r.id, "status": r.status, "kind": r.kind, "channel": r.channel, "target": r.target,
             "place": places.get(("city", r.city_id) if r.city_id else ("station", r.station_id), "?"),
             "standard": r.standard, "category": standard(r.standard).categories[r.category].name,
             "created_at": r.created_at, "in_episode": r.episode_start is not None} for r in rows]


def counts(ctx: Context) -> dict[str, int]:
    """Subscriptions per status."""
    with ctx.session() as session:
        rows = session.execute(select(AlertSubscription.status, func.count()).group_by(AlertSubscription.status))
        return {status: n for status, n in rows}

"""What an alert says: the place, the category with its colour and health message, the local time and the value;
rendered for e-mail (text, HTML, List-Unsubscribe) or as a webhook's JSON body."""
from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from core import catalog
from core.aqi.standards import standard
from core.context import Context
from core.db.models import AlertEvent, AlertSubscription
from core.db.queries import utc

HEADLINES = {"alert": "{place}: air quality is {category}",
             "clear": "{place}: all clear, air quality is back below {threshold}",
             "forecast": "{place}: {category} air quality forecast for {day}"}


def place_of(ctx: Context, row: AlertSubscription) -> dict:
    """{"name", "timezone"} of the subscription's city or station."""
    if row.city_id is not None:
        city = next(c for c in catalog.cities(ctx) if c["id"] == row.city_id)
        return {"name": city["name"], "timezone": city["timezone"]}
    station = catalog.station(ctx, row.station_id)
    return {"name": f"{station['name']}, {station['city']}", "timezone": station["timezone"]}


def unsubscribe_url(ctx: Context, row: AlertSubscription) -> str:
    return f"{ctx.settings.public_url}/api/v1/alerts/unsubscribe/{row.token}"


def feed_url(ctx: Context, row: AlertSubscription) -> str:
    return f"{ctx.settings.public_url}/api/v1/alerts/feeds/{row.token}.atom"


def mail_headers(ctx: Context, row: AlertSubscription) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe with RFC 8058 one-click POST."""
    return {"List-Unsubscribe": f"<{unsubscribe_url(ctx, row)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def confirmation(ctx: Context, row: AlertSubscription) -> dict:
    """The double opt-in e-mail: nothing is sent to this address until its link is followed."""
    place = place_of(ctx, row)
    threshold = standard(row.standard).categories[row.category].name
    link = f"{ctx.settings.public_url}/api/v1/alerts/confirm/{row.token}"
    what = "forecast for the next day" if row.kind == "forecast" else "measured (NowCast)"
    text = (f"Someone (we hope you) asked for air-quality alerts for {place['name']} when the {what} air quality "
            f"is {threshold} or worse ({standard(row.standard).name}).\n\nConfirm: {link}\n\n"
            f"If this was not you, ignore this message: nothing more will be sent.\n"
            f"Once confirmed, your alerts are also in a feed: {feed_url(ctx, row)}\n"
            f"Unsubscribe: {unsubscribe_url(ctx, row)}\n")
    html = (f"<p>Someone (we hope you) asked for air-quality alerts for <b>{escape(place['name'])}</b> when the "
            f"{what} air quality is <b>{escape(threshold)}</b> or worse ({escape(standard(row.standard).name)}).</p>"
            f'<p><a href="{escape(link)}">Confirm the subscription</a></p><p>If this was not you, ignore this '
            f'message. <a href="{escape(unsubscribe_url(ctx, row))}">Unsubscribe</a></p>')
    return {"subject": f"Confirm air-quality alerts for {place['name']}", "text": text, "html": html,
            "headers": mail_headers(ctx, row)}


def facts(ctx: Context, event: AlertEvent, row: AlertSubscription) -> dict:
    """The event as plain data: what every rendering says."""
    scale = standard(row.standard)
    category = scale.categories[event.category]
    place = place_of(ctx, row)
    hour = utc(event.hour)
    local = hour.astimezone(ZoneInfo(place["timezone"]))
    day = utc(event.episode).date().isoformat() if event.kind == "forecast" else None
    headline = HEADLINES[event.kind].format(place=place["name"], category=category.name, day=day,
                                            threshold=scale.categories[row.category].name)
    return {"event": event.kind, "event_id": event.id, "subscription_id": row.id, "place": place["name"],
            "timezone": place["timezone"], "standard": scale.name, "index_label": scale.index_label,
            "category": category.name, "color": category.color, "health_message": category.health_message,
            "threshold": scale.categories[row.category].name, "value": event.value,
            "measure": "forecast daily index" if event.kind == "forecast" else "NowCast index",
            "time": hour.isoformat().replace("+00:00", "Z"), "local_time": local.strftime("%Y-%m-%d %H:%M %Z"),
            "forecast_day": day, "headline": headline, "unsubscribe": unsubscribe_url(ctx, row)}


def _mail(ctx: Context, f: dict, row: AlertSubscription) -> dict:
    value = "no value" if f["value"] is None else f"{f['index_label']} {f['value']:.0f}"
    when = (f"for {f['forecast_day']} (forecast made {f['local_time']})" if f["forecast_day"]
            else f"at {f['local_time']}")
    text = (f"{f['headline']}\n\n{f['category']} ({f['standard']}): {f['measure']} {value} {when}.\n\n"
            f"{f['health_message']}\n\nUnsubscribe: {f['unsubscribe']}\n")
    html = (f"<h2>{escape(f['headline'])}</h2><p><span style=\"display:inline-block;width:1em;height:1em;"
            f"background:{f['color']};border:1px solid #555\"></span> <b>{escape(f['category'])}</b> "
            f"({escape(f['standard'])}): {escape(f['measure'])} {escape(value)} {escape(when)}.</p>"
            f"<p>{escape(f['health_message'])}</p><p><a href=\"{escape(f['unsubscribe'])}\">Unsubscribe</a></p>")
    return {"subject": f["headline"], "text": text, "html": html, "headers": mail_headers(ctx, row)}


def render_event(ctx: Context, event_id: int, channel: str) -> dict:
    """The outbox payload of an alert event for `channel`; LookupError when its subscription is gone or ended."""
    with ctx.session() as session:
        event = session.get(AlertEvent, event_id)
        row = session.get(AlertSubscription, event.subscription_id) if event else None
    if row is None or row.status not in ("active",):
        raise LookupError(f"alert event {event_id}: the subscription is gone, paused or ended")
    f = facts(ctx, event, row)
    if channel == "email":
        return _mail(ctx, f, row)
    return {"body": f, "secret": row.secret}


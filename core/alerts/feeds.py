"""A subscription's alerts as feeds a portal can poll: JSON Feed 1.1 and Atom (RFC 4287), newest first."""
from __future__ import annotations

from xml.etree import ElementTree as ET

from sqlalchemy import select

from core.alerts import messages, subscriptions
from core.context import Context
from core.db.models import AlertEvent

FEED_ITEMS = 50
ATOM = "http://www.w3.org/2005/Atom"


def feed_items(ctx: Context, token: str) -> tuple[dict, list[dict]] | None:
    """(subscription's public view, the facts of its newest events); None for an unknown token."""
    with ctx.session() as session:
        row = subscriptions.by_token(session, token)
        if row is None or row.status == "unsubscribed":
            return None
        events = session.scalars(select(AlertEvent).where(AlertEvent.subscription_id == row.id)
                                 .order_by(AlertEvent.id.desc()).limit(FEED_ITEMS)).all()
    return subscriptions.public_view(ctx, row), [messages.facts(ctx, e, row) for e in events]


def json_feed(ctx: Context, token: str) -> dict | None:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1); each item's `_aqi` holds the alert's facts."""
    found = feed_items(ctx, token)
    if found is None:
        return None
    view, items = found
    return {"version": "https://jsonfeed.org/version/1.1", "title": f"Air-quality alerts #{view['id']}",
            "home_page_url": ctx.settings.public_url, "feed_url": view["feeds"]["json"],
            "items": [{"id": f"{view['feeds']['json']}#event-{f['event_id']}", "title": f["headline"],
                       "content_text": f"{f['category']}: {f['health_message']}", "date_published": f["time"],
                       "_aqi": f} for f in items]}


def atom_feed(ctx: Context, token: str) -> bytes | None:
    """The same alerts as an Atom feed (UTF-8 XML)."""
    found = feed_items(ctx, token)
    if found is None:
        return None
    view, items = found
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def child(parent, tag: str, value: str | None = None, **attributes) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        element.text = value
        return element

    child(feed, "id", view["feeds"]["atom"])
    child(feed, "title", f"Air-quality alerts #{view['id']}")
    child(feed, "updated", items[0]["time"] if items else "1970-01-01T00:00:00Z")
    child(feed, "link", rel="self", href=view["feeds"]["atom"])
    child(child(feed, "author"), "name", "AQI alerts")
    for f in items:
        entry = child(feed, "entry")
        child(entry, "id", f"{view['feeds']['atom']}#event-{f['event_id']}")
        child(entry, "title", f["headline"])
        child(entry, "updated", f["time"])
        child(entry, "summary", f"{f['category']} ({f['local_time']}): {f['health_message']}")
        child(entry, "category", term=f["category"])
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)

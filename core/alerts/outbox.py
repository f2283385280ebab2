"""The durable outbox: messages enqueued once (unique dedupe key), claimed by one deliverer, retried, dead-lettered.

Payloads by channel: `email` {"subject", "text", "html"?, "headers"?} sent to `target` (an address);
`webhook` {"body": {...}, "secret"?} POSTed to `target` (a URL); or {"event_id": N} for a public alert, rendered
from the database when it is sent (core.alerts.messages), so evaluation never renders a message.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.alerts import DeliveryError, mail, messages, webhooks
from core.db.models import DeliveryAttempt, OutboxMessage

log = logging.getLogger(__name__)
CHANNELS = ("email", "webhook")
LEASE = timedelta(minutes=5)  # longer than any send's timeout: then a crashed deliverer's rows are taken over
MAX_DELAY_S = 3600


def enqueue(session: Session, channel: str, target: str, payload: dict, dedupe_key: str) -> bool:
    """Add a message in the caller's transaction; False when `dedupe_key` was already enqueued (nothing added)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; use one of: {', '.join(CHANNELS)}")
    now = datetime.now(timezone.utc)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxMessage).values(
        channel=channel, target=target, payload=json.dumps(payload), dedupe_key=dedupe_key, state="pending",
        attempts=0, due_at=now, created_at=now).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return session.execute(statement.returning(OutboxMessage.id)).first() is not None


def _due(now: datetime):
    return or_(and_(OutboxMessage.state.in_(("pending", "failed")), OutboxMessage.due_at <= now),
               and_(OutboxMessage.state == "sending", OutboxMessage.claimed_until < now))


def claim(session: Session, limit: int, now: datetime) -> list[OutboxMessage]:
    """Take up to `limit` due rows for this deliverer (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer)."""
    due_ids = (select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.due_at, OutboxMessage.id)
               .limit(limit).with_for_update(skip_locked=True))
    # The outer condition is checked again on each row once locked: a row another deliverer took is skipped.
    statement = (update(OutboxMessage).where(OutboxMessage.id.in_(due_ids), _due(now))
                 .values(state="sending", claimed_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
                 .returning(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.target, OutboxMessage.payload,
                            OutboxMessage.attempts))
    rows = session.execute(statement).all()
    session.commit()
    return rows


def send(ctx, channel: str, target: str, payload: dict) -> None:
    """Send one message now; DeliveryError when it did not go out."""
    if "event_id" in payload:
        payload = messages.render_event(ctx, payload["event_id"], channel)
    if channel == "email":
        mail.send_mail(ctx.settings, target, payload["subject"], payload["text"], payload.get("html"),
                       payload.get("headers"))
    else:
        webhooks.post_json(target, payload["body"], payload.get("secret"), ctx.settings.webhook_timeout_s,
                           allow_networks=ctx.settings.webhook_allow_networks)


def backoff(settings, attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failures: base × 2^(attempts−1), at most an hour."""
    return timedelta(seconds=min(settings.alert_retry_base_s * 2 ** (attempts - 1), MAX_DELAY_S))


def deliver_due(ctx, limit: int = 100, now: datetime | None = None) -> dict:
    """Claim the due messages, send each, and record every attempt: sent, failed (retried later) or dead.

    Returns {"claimed", "sent", "failed", "dead", "dropped"} (dropped: a public alert whose subscription was
    paused or ended before it went out). Safe to run in any number of workers and hosts at once.
    """
    now = now or datetime.now(timezone.utc)
    counts = {"claimed": 0, "sent": 0, "failed": 0, "dead": 0, "dropped": 0}
    with ctx.session() as session:
        rows = claim(session, limit, now)
    counts["claimed"] = len(rows)
    # Stop before the lease can end mid-send: past it, another deliverer may claim (and send) the same rows.
    slowest_send = timedelta(seconds=max(ctx.settings.smtp_timeout_s, ctx.settings.webhook_timeout_s))
    lease_end = datetime.now(timezone.utc) + LEASE - slowest_send
    for index, row in enumerate(rows):
        if datetime.now(timezone.utc) >= lease_end:
            counts["released"] = _release(ctx, rows[index:])
            break
        error, state = None, "sent"
        try:
            send(ctx, row.channel, row.target, json.loads(row.payload))
        except DeliveryError as exc:
            error = str(exc)[:500]
            state = "dead" if row.attempts >= ctx.settings.alert_max_attempts else "failed"
        except LookupError as exc:  # its subscription was paused, ended or deleted meanwhile: nothing to send
            error, state = str(exc)[:500], "dropped"
        counts[state] += 1
        finished = datetime.now(timezone.utc)
        with ctx.session() as session:
            session.add(DeliveryAttempt(outbox_id=row.id, at=finished, ok=error is None, error=error))
            # Only this claim's row (a re-claim counts another attempt): never another deliverer's.
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.state == "sending",
                                                        OutboxMessage.attempts == row.attempts)
                            .values(state=state, last_error=error, claimed_until=None,
                                    sent_at=finished if state == "sent" else None,
                                    due_at=now + backoff(ctx.settings, row.attempts) if state == "failed"
                                    else OutboxMessage.due_at))
            session.commit()
        if error:
            log.warning("outbox %s: %s attempt %s %s: %s", row.id, row.channel, row.attempts, state, error)
    return counts


def _release(ctx, rows) -> int:
    """Hand claimed, unsent rows back at once, their attempt not counted."""
    with ctx.session() as session:
        for row in rows:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.state == "sending",
                                                        OutboxMessage.attempts == row.attempts)
                            .values(state="pending", claimed_until=None, attempts=OutboxMessage.attempts - 1))
        session.commit()
    return len(rows)


def dead_letters(session: Session, limit: int = 200) -> list[OutboxMessage]:
    """Dead messages, newest first (the admin page shows them)."""
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.state == "dead")
                                .order_by(OutboxMessage.id.desc()).limit(limit)))


def retry(session: Session, message_id: int) -> bool:
    """Put a dead message back in the queue with a fresh attempt budget; False if it is not dead."""
    result = session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                         OutboxMessage.state == "dead")
                             .values(state="pending", attempts=0, due_at=datetime.now(timezone.utc)))
    session.commit()
    return result.rowcount == 1

"""Operator alerting on the performance panel's checks, with Grafana's alert states.

Each check (core.thresholds) is one rule: Normal → Pending (breached, for less than the pending period) →
Firing → Recovering (back within target, for less than keep-firing-for) → Normal (a Resolved notification).
A Pending rule whose check recovers goes back to Normal without a word; a Recovering rule breached again
fires on, in the same episode, without a new notification. The check's grade gives the severity (warning,
critical); a rise to critical while firing is notified once. A firing rule nobody acknowledged is notified
again every repeat interval. A notification a silence held is sent ("firing") at the first evaluation after
the silence ends, as Alertmanager does, if the rule still fires.

No Data: a check without samples counts as within target (Grafana's "Normal" option for No Data), so quiet
traffic resolves an alert rather than raising one. Error: when the checks cannot be read at all, the
evaluation raises, every rule keeps its last state (Grafana's "Keep Last State") and the failed run is in
the job history.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import feeds, thresholds
from core.alerts import outbox
from core.db.models import OperatorAlertAck, OperatorAlertEvent, OperatorAlertRule, OperatorAlertSilence
from core.metrics import METRICS
from core.settings import Settings
from core.times import iso, now as utc_now, utc

BREACHED = ("warning", "critical")
SEVERITY_RANK = {None: 0, "warning": 1, "critical": 2}
NEVER = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert still firing
SILENCE_CHOICES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "resolved": None}
MAX_REASON = 300
PANEL_TTL_S = 2.0  # the panel's view of the rules is read at most this often per process, for every operator
HISTORY_ROWS = 20


class AlertActionError(ValueError):
    """A silence or acknowledgement that cannot be done (unknown rule, nothing firing, bad duration)."""


@dataclass(frozen=True)
class Rule:
    name: str
    pending_for: timedelta
    keep_firing_for: timedelta
    repeat_every: timedelta  # zero: no reminders


@dataclass(frozen=True)
class RuleState:
    state: str = "normal"
    since: datetime | None = None  # when it entered `state`
    severity: str | None = None
    episode: int = 0  # firing episodes so far
    fired_at: datetime | None = None
    notified_at: datetime | None = None  # None while firing: a silence held the last notification
    acknowledged: bool = False  # this episode was acknowledged


@dataclass(frozen=True)
class Observation:
    status: str  # the check's grade: ok | warning | critical | no_data
    value: float | None = None


@dataclass(frozen=True)
class Notification:
    kind: str  # firing | escalated | reminder | resolved
    rule: str
    severity: str
    episode: int
    at: datetime
    fired_at: datetime
    value: float | None
    key: str  # the same transition always gives the same key: the outbox sends it once


def rule_for(settings: Settings, name: str) -> Rule:
    """The rule of a check, with the settings' timings or its `operator_alert_overrides` entry."""
    pending, keep = settings.operator_alert_pending_s, settings.operator_alert_keep_firing_s
    for item in filter(None, (part.strip() for part in settings.operator_alert_overrides.split(","))):
        check, _, timings = item.partition("=")
        if check == name:
            pending, keep = (int(part) for part in timings.split("/"))
    return Rule(name, timedelta(seconds=pending), timedelta(seconds=keep),
                timedelta(seconds=settings.operator_alert_repeat_s))


def transition(rule: Rule, state: RuleState, observation: Observation,
               now: datetime) -> tuple[RuleState, Notification | None]:
    """The rule's next state after one evaluation, and the notification that step sends (None: none)."""
    breached = observation.status in BREACHED
    severity = observation.status if breached else None
    if state.state == "normal":
        if not breached:
            return state, None
        if rule.pending_for <= timedelta(0):
            return _fire(rule, state, severity, observation, now)
        return replace(state, state="pending", since=now, severity=severity), None
    if state.state == "pending":
        if not breached:
            return replace(state, state="normal", since=now, severity=None), None
        worst = _worst(state.severity, severity)
        if now - state.since >= rule.pending_for:
            return _fire(rule, state, worst, observation, now)
        return replace(state, severity=worst), None
    if not breached:  # firing or recovering, back within target
        if state.state == "recovering" and now - state.since < rule.keep_firing_for:
            return state, None
        if state.state == "firing" and rule.keep_firing_for > timedelta(0):
            return replace(state, state="recovering", since=now), None
        resolved = replace(state, state="normal", since=now, severity=None, notified_at=now, acknowledged=False)
        if state.notified_at is None:  # its firing was never heard (held by a silence): nothing to resolve
            return resolved, None
        return resolved, _notification(rule, "resolved", state.severity, state, observation, now, "")
    firing = state if state.state == "firing" else replace(state, state="firing", since=now)
    if SEVERITY_RANK[severity] > SEVERITY_RANK[state.severity]:
        escalated = replace(firing, severity=severity, notified_at=now)
        return escalated, _notification(rule, "escalated", severity, escalated, observation, now, severity)
    if state.notified_at is None and not state.acknowledged:  # held by a silence: say it now
        heard = replace(firing, notified_at=now)
        return heard, _notification(rule, "firing", firing.severity, heard, observation, now, iso(now))
    reminder_due = (state.state == "firing" and not state.acknowledged and rule.repeat_every > timedelta(0)
                    and now - state.notified_at >= rule.repeat_every)
    if reminder_due:
        reminded = replace(firing, notified_at=now)
        return reminded, _notification(rule, "reminder", firing.severity, firing, observation, now,
                                       iso(state.notified_at))
    return firing, None


def _fire(rule: Rule, state: RuleState, severity: str, observation: Observation,
          now: datetime) -> tuple[RuleState, Notification]:
    fired = RuleState("firing", now, severity, state.episode + 1, now, now, False)
    return fired, _notification(rule, "firing", severity, fired, observation, now, "")


def _worst(a: str | None, b: str | None) -> str | None:
    return a if SEVERITY_RANK[a] >= SEVERITY_RANK[b] else b


def _notification(rule: Rule, kind: str, severity: str, state: RuleState, observation: Observation,
                  now: datetime, discriminator: str) -> Notification:
    key = f"operator:{rule.name}:{state.episode}:{kind}" + (f":{discriminator}" if discriminator else "")
    return Notification(kind, rule.name, severity, state.episode, now, state.fired_at, observation.value, key)


# -- evaluation ---------------------------------------------------------------------------------------------

def current_checks(ctx) -> list[thresholds.Check]:
    """The panel's checks over its default five minutes, feed lags included: one read of the metrics store."""
    window = METRICS.window(thresholds.HISTORY_S)
    return (thresholds.evaluate(ctx.settings, ctx.cache, window)
            + thresholds.feed_checks(ctx.settings, feeds.freshness(ctx.engine)))


def evaluate_rules(ctx, now: datetime | None = None, checks: list[thresholds.Check] | None = None) -> dict:
    """Move every rule one step with the current checks and enqueue each notification once; counts of rules,
    transitions, messages queued and notifications held by a silence.

    The rule rows are locked (SELECT … FOR UPDATE) for the whole step, so evaluators on several workers or
    hosts take turns: the second sees the first's new states and has nothing left to send. A rule already
    evaluated after `now` (an evaluator that waited for the lock with older checks) is left as it is.
    """
    now = utc(now or utc_now())
    checks = current_checks(ctx) if checks is None else checks
    observations = {c.key: Observation(c.status, c.value) for c in checks}
    labels = {c.key: c for c in checks}
    summary = {"rules": 0, "transitions": 0, "messages": 0, "silenced": 0}
    with ctx.session() as session, session.begin():
        _ensure_rows(session, list(observations), now)
        rows = session.scalars(select(OperatorAlertRule).order_by(OperatorAlertRule.rule).with_for_update()).all()
        acknowledged = _acknowledged(session, rows)
        silences = _open_silences(session, now)
        for row in rows:
            if utc(row.evaluated_at) > now:
                continue
            old = RuleState(row.state, utc(row.since), row.severity, row.episode,
                            row.fired_at and utc(row.fired_at), row.notified_at and utc(row.notified_at),
                            (row.rule, row.episode) in acknowledged)
            observation = observations.get(row.rule, Observation("no_data"))
            new, notification = transition(rule_for(ctx.settings, row.rule), old, observation, now)
            silenced = notification is not None and _silenced(silences, row.rule)
            if silenced and new.state == "firing":
                new = replace(new, notified_at=None)  # held: sent once the silence is over
            _store(row, new, observation, now)
            summary["rules"] += 1
            if new.state == "normal" and old.state != "normal":  # "until resolved" silences end with it
                session.execute(update(OperatorAlertSilence).where(
                    OperatorAlertSilence.rule == row.rule, OperatorAlertSilence.until.is_(None),
                    OperatorAlertSilence.ended_at.is_(None)).values(ended_at=now))
            if new.state == old.state and notification is None:
                continue
            session.add(OperatorAlertEvent(rule=row.rule, at=now, from_state=old.state, to_state=new.state,
                                           severity=notification.severity if notification else new.severity,
                                           value=observation.value, episode=new.episode,
                                           notification=notification and notification.kind, silenced=silenced))
            summary["transitions"] += new.state != old.state
            if notification is None:
                continue
            if silenced:
                summary["silenced"] += 1
            else:
                summary["messages"] += _enqueue(session, ctx.settings, notification, labels.get(row.rule))
    forget_panel_view()
    return summary


def _ensure_rows(session: Session, names: list[str], now: datetime) -> None:
    """A Normal row for each check that has none yet (concurrent evaluators: the first insert wins)."""
    if not names:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(OperatorAlertRule).values(
        [{"rule": name, "state": "normal", "since": now, "episode": 0, "evaluated_at": now} for name in sorted(names)]
    ).on_conflict_do_nothing(index_elements=["rule"]))


def _store(row: OperatorAlertRule, state: RuleState, observation: Observation, now: datetime) -> None:
    row.state, row.since, row.severity, row.episode = state.state, state.since, state.severity, state.episode
    row.fired_at, row.notified_at = state.fired_at, state.notified_at
    row.value, row.evaluated_at = observation.value, now


def _acknowledged(session: Session, rows: list[OperatorAlertRule]) -> set[tuple[str, int]]:
    if not rows:
        return set()
    found = session.execute(select(OperatorAlertAck.rule, OperatorAlertAck.episode).where(
        OperatorAlertAck.rule.in_([r.rule for r in rows]))).all()
    current = {(r.rule, r.episode) for r in rows}
    return {tuple(f) for f in found} & current


def _open_silences(session: Session, now: datetime) -> list[OperatorAlertSilence]:
    return list(session.scalars(select(OperatorAlertSilence).where(
        OperatorAlertSilence.ended_at.is_(None),
        or_(OperatorAlertSilence.until.is_(None), OperatorAlertSilence.until > now))))


def _silenced(silences: list[OperatorAlertSilence], rule: str) -> bool:
    return any(s.rule is None or s.rule == rule for s in silences)


def _enqueue(session: Session, settings: Settings, notification: Notification, check) -> int:
    """Queue the notification for the webhook and each address; how many messages were new."""
    targets = [("webhook", settings.operator_alert_webhook_url)] if settings.operator_alert_webhook_url else []
    targets += [("email", address.strip()) for address in settings.operator_alert_emails.split(",")
                if address.strip()]
    queued = 0
    for channel, target in targets:
        if channel == "webhook":
            payload = {"body": webhook_payload(settings, notification, check)}
            if settings.operator_alert_webhook_secret:
                payload["secret"] = settings.operator_alert_webhook_secret
        else:
            payload = email_payload(settings, notification, check)
        digest = hashlib.blake2b(target.encode(), digest_size=8).hexdigest()
        queued += outbox.enqueue(session, channel, target, payload, f"{notification.key}:{channel}:{digest}")
    return queued


def _labels(notification: Notification) -> dict:
    return {"alertname": notification.rule, "severity": notification.severity, "service": "aqi-dashboard"}


def _describe(notification: Notification, check) -> tuple[str, str]:
    """(summary, description) of a notification, from the check it is about (None: a check gone since)."""
    what = {"firing": "firing", "escalated": "now critical", "reminder": "still firing",
            "resolved": "resolved"}[notification.kind]
    if check is None:
        return f"[{notification.severity}] {notification.rule} {what}", f"{notification.rule}: no data."
    figure = "no data" if notification.value is None else f"{notification.value:.4g} {check.unit}"
    limits = f" (warning at {check.warn:g}, critical at {check.crit:g})" if check.warn is not None else ""
    return (f"[{notification.severity}] {check.label} {what}",
            f"{check.label}: {figure}{limits}. {check.recommendation}")


def webhook_payload(settings: Settings, notification: Notification, check) -> dict:
    """Alertmanager's webhook JSON (version 4), which Grafana's and most receivers read."""
    status = "resolved" if notification.kind == "resolved" else "firing"
    summary, description = _describe(notification, check)
    labels = _labels(notification)
    fingerprint = hashlib.blake2b(notification.rule.encode(), digest_size=8).hexdigest()
    alert = {"status": status, "labels": labels,
             "annotations": {"summary": summary, "description": description, "notification": notification.kind},
             "startsAt": iso(notification.fired_at),
             "endsAt": iso(notification.at) if status == "resolved" else NEVER,
             "generatorURL": f"{settings.public_url}/performance", "fingerprint": fingerprint}
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{notification.rule}"}}', "truncatedAlerts": 0,
            "status": status, "receiver": "aqi-operators", "groupLabels": {"alertname": notification.rule},
            "commonLabels": labels, "commonAnnotations": alert["annotations"],
            "externalURL": settings.public_url, "alerts": [alert]}


def email_payload(settings: Settings, notification: Notification, check) -> dict:
    summary, description = _describe(notification, check)
    text = (f"{description}\n\nEpisode {notification.episode}, firing since {iso(notification.fired_at)}; "
            f"this message at {iso(notification.at)}.\nSilence or acknowledge it on "
            f"{settings.public_url}/performance\n")
    return {"subject": f"AQI dashboard: {summary}", "text": text}


# -- silences and acknowledgements ----------------------------------------------------------------------------

def known_rule(ctx, rule: str) -> bool:
    """Whether a rule (a check key) exists: the panel's checks, or a row already evaluated."""
    if len(rule) > 64:
        return False
    if rule in {key for key, *_ in thresholds.LATENCY_CHECKS} | {"cache_hit_rate", "db_pool"}:
        return True
    with ctx.session() as session:
        return session.get(OperatorAlertRule, rule) is not None


def silence(ctx, rule: str | None, duration: str, by: str, reason: str = "",
            now: datetime | None = None) -> int:
    """Mute a rule's notifications (None: every rule) for `duration` (1h, 4h, resolved); the silence's id."""
    now = utc(now or utc_now())
    if duration not in SILENCE_CHOICES:
        raise AlertActionError(f"duration must be one of {', '.join(SILENCE_CHOICES)}")
    if rule is not None and not known_rule(ctx, rule):
        raise AlertActionError(f"no alert rule named {rule[:64]!r}")
    if rule is None and SILENCE_CHOICES[duration] is None:
        raise AlertActionError("silencing every rule needs an end time (1h or 4h)")
    span = SILENCE_CHOICES[duration]
    with ctx.session() as session, session.begin():
        if span is None:  # open until a resolution: only for an episode under way, or it mutes the next one
            state = session.scalar(select(OperatorAlertRule.state).where(OperatorAlertRule.rule == rule))
            if state in (None, "normal"):
                raise AlertActionError(f"{rule} is not pending or firing: silence it for 1h or 4h instead")
        row = OperatorAlertSilence(rule=rule, created_at=now, until=now + span if span else None,
                                   created_by=by[:80], reason=reason[:MAX_REASON])
        session.add(row)
        session.flush()
        silence_id = row.id
    forget_panel_view()
    return silence_id


def acknowledge(ctx, rule: str, by: str, now: datetime | None = None) -> int:
    """Acknowledge the rule's current firing episode (its number): no reminders until it resolves."""
    now = utc(now or utc_now())
    with ctx.session() as session:
        row = session.get(OperatorAlertRule, rule)
        if row is None:
            raise AlertActionError(f"no alert rule named {rule[:64]!r}")
        if row.state not in ("firing", "recovering"):
            raise AlertActionError(f"{rule} is {row.state}: only a firing rule can be acknowledged")
        episode = row.episode
    try:
        with ctx.session() as session, session.begin():
            session.add(OperatorAlertAck(rule=rule, episode=episode, acknowledged_by=by[:80], acknowledged_at=now))
    except IntegrityError:
        pass  # acknowledged already (by someone else, or a double click): the first stands
    forget_panel_view()
    return episode


# -- what the panel shows -------------------------------------------------------------------------------------

_panel_lock = threading.Lock()
_panel_cache: dict = {}


def forget_panel_view() -> None:
    with _panel_lock:
        _panel_cache.clear()


def panel_view(ctx, now: datetime | None = None) -> dict:
    """Every rule's state, open silence and acknowledgement, and the recent history; read at most every
    PANEL_TTL_S per process (two queries), however many operators refresh."""
    key = id(ctx.engine)
    with _panel_lock:
        cached = _panel_cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    view = read_panel_view(ctx, now)
    with _panel_lock:
        _panel_cache[key] = (time.monotonic() + PANEL_TTL_S, view)
    return view


def read_panel_view(ctx, now: datetime | None = None) -> dict:
    now = utc(now or utc_now())
    open_silence = or_(OperatorAlertSilence.until.is_(None), OperatorAlertSilence.until > now)
    with ctx.session() as session:
        rows = session.execute(
            select(OperatorAlertRule, OperatorAlertSilence, OperatorAlertAck)
            .outerjoin(OperatorAlertSilence, (OperatorAlertSilence.ended_at.is_(None)) & open_silence
                       & or_(OperatorAlertSilence.rule.is_(None), OperatorAlertSilence.rule == OperatorAlertRule.rule))
            .outerjoin(OperatorAlertAck, (OperatorAlertAck.rule == OperatorAlertRule.rule)
                       & (OperatorAlertAck.episode == OperatorAlertRule.episode))
            .order_by(OperatorAlertRule.rule, OperatorAlertSilence.until.desc().nulls_first())).all()
        history = session.scalars(select(OperatorAlertEvent).order_by(OperatorAlertEvent.at.desc(),
                                                                      OperatorAlertEvent.id.desc())
                                  .limit(HISTORY_ROWS)).all()
    rules: dict[str, dict] = {}
    for rule, silence_row, ack in rows:
        if rule.rule in rules:  # more than one open silence: the longest came first
            continue
        firing = rule.state in ("firing", "recovering")
        rules[rule.rule] = {
            "rule": rule.rule, "state": rule.state, "since": utc(rule.since), "severity": rule.severity,
            "episode": rule.episode,
            "silenced_until": None if silence_row is None else (silence_row.until and utc(silence_row.until)),
            "silenced": silence_row is not None,
            "silenced_by": silence_row.created_by if silence_row else None,
            "acknowledged_by": ack.acknowledged_by if ack and firing else None}
    return {"rules": rules,
            "history": [{"at": utc(e.at), "rule": e.rule, "from": e.from_state, "to": e.to_state,
                         "severity": e.severity, "value": e.value, "notification": e.notification,
                         "silenced": e.silenced} for e in history]}


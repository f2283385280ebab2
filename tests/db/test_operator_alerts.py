"""Operator alerting on real PostgreSQL: rule states, two evaluators at once, silences, acknowledgements, and
notifications delivered once to a real webhook receiver and a real SMTP server."""
import json
import re
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select, text

from core import context
from core.alerts import operator, outbox
from core.alerts.operator import AlertActionError
from core.db import migrate
from core.db.models import (
    JobRun,
    OperatorAlertAck,
    OperatorAlertEvent,
    OperatorAlertRule,
    OperatorAlertSilence,
    OutboxMessage,
)
from core.jobs import schedule
from core.metrics import METRICS, LocalSink
from core.thresholds import Check
from core.users import create_user
from dashboard.cli import cli
from tests.conftest import private_database, settings_for_tests

T0 = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
EMAILS = ("ops@example.org", "oncall@example.org")


@pytest.fixture(scope="module")
def alerts_db():
    """A database of this module's own: deliveries here never meet other tests' outbox rows."""
    with private_database("aqi_opalerts") as url:
        yield url


@pytest.fixture()
def alerts_ctx(alerts_db, httpserver, smtp_server):
    """A context whose operator alerts go to this test's webhook receiver and SMTP server; empty alert tables."""
    built = []

    def build(**overrides):
        settings = settings_for_tests(**{
            "database_url": alerts_db, "operator_alert_webhook_url": httpserver.url_for("/hooks/aqi"),
            "operator_alert_emails": ",".join(EMAILS), "webhook_allow_networks": "127.0.0.0/8",
            "smtp_url": smtp_server.url, "operator_alert_pending_s": 120, "operator_alert_keep_firing_s": 300,
            **overrides})
        ctx = context.build(settings)
        built.append(ctx)
        return ctx

    ctx = build()
    migrate.upgrade(ctx.engine)
    with ctx.session() as session, session.begin():
        for model in (OperatorAlertEvent, OperatorAlertAck, OperatorAlertSilence, OperatorAlertRule, OutboxMessage,
                      JobRun):
            session.execute(delete(model))
    operator.forget_panel_view()
    yield build
    for ctx in built:
        ctx.close()


def check(status: str, value: float | None = 1500.0, key: str = "api_p95") -> Check:
    return Check(key, "API p95", value, "ms", status, 500.0, 1000.0, "Slowest: GET /api/v1/slow.")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rule(ctx, name="api_p95") -> OperatorAlertRule:
    with ctx.session() as session:
        return session.get(OperatorAlertRule, name)


def events(ctx) -> list[OperatorAlertEvent]:
    with ctx.session() as session:
        return list(session.scalars(select(OperatorAlertEvent).order_by(OperatorAlertEvent.id)))


def queued(ctx) -> list[OutboxMessage]:
    with ctx.session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def fire(ctx, start=0):
    """Breach at `start` and again past the pending period: the rule fires at start + 120 s."""
    operator.evaluate_rules(ctx, at(start), [check("critical")])
    return operator.evaluate_rules(ctx, at(start + 120), [check("critical")])


def test_a_breach_fires_after_the_pending_period_and_is_delivered_once_by_webhook_and_email(
        alerts_ctx, httpserver, smtp_server):
    ctx = alerts_ctx(operator_alert_webhook_secret="s3cret")
    operator.evaluate_rules(ctx, at(0), [check("warning", 700.0)])
    assert rule(ctx).state == "pending" and queued(ctx) == []
    operator.evaluate_rules(ctx, at(60), [check("critical")])
    assert rule(ctx).state == "pending" and queued(ctx) == []
    summary = operator.evaluate_rules(ctx, at(120), [check("critical")])
    assert summary == {"rules": 1, "transitions": 1, "messages": 3, "silenced": 0}
    row = rule(ctx)
    assert (row.state, row.severity, row.episode) == ("firing", "critical", 1)

    httpserver.expect_oneshot_request("/hooks/aqi", method="POST").respond_with_data("ok")
    delivered = outbox.deliver_due(ctx)
    assert (delivered["claimed"], delivered["sent"]) == (3, 3)
    request, _response = httpserver.log[0]
    body = json.loads(request.data)
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "aqi-operators"
    alert = body["alerts"][0]
    assert alert["labels"] == {"alertname": "api_p95", "severity": "critical", "service": "aqi-dashboard"}
    assert alert["startsAt"] == "2026-12-01T12:02:00Z" and alert["endsAt"] == operator.NEVER
    assert "1500 ms" in alert["annotations"]["description"]
    assert request.headers["X-AQI-Signature"].startswith("t=")
    assert sorted(m["X-Envelope-To"] for m in smtp_server.received) == sorted(EMAILS)
    assert smtp_server.received[0]["Subject"] == "AQI dashboard: [critical] API p95 firing"

    operator.evaluate_rules(ctx, at(180), [check("critical")])  # still firing: nothing new
    assert len(queued(ctx)) == 3 and outbox.deliver_due(ctx)["claimed"] == 0


def test_recovery_waits_for_keep_firing_for_then_sends_resolved(alerts_ctx):
    ctx = alerts_ctx()
    fire(ctx)
    operator.evaluate_rules(ctx, at(180), [check("ok", 40.0)])
    assert rule(ctx).state == "recovering"
    operator.evaluate_rules(ctx, at(479), [check("no_data", None)])  # No Data counts as within target
    assert rule(ctx).state == "recovering" and len(queued(ctx)) == 3
    operator.evaluate_rules(ctx, at(480), [check("ok", 40.0)])
    assert rule(ctx).state == "normal"
    resolved = [json.loads(m.payload) for m in queued(ctx)[3:]]
    assert len(resolved) == 3
    webhook = next(p["body"] for p in resolved if "body" in p)
    assert webhook["status"] == "resolved" and webhook["alerts"][0]["endsAt"] == "2026-12-01T12:08:00Z"
    assert [(e.from_state, e.to_state, e.notification) for e in events(ctx)] == [
        ("normal", "pending", None), ("pending", "firing", "firing"), ("firing", "recovering", None),
        ("recovering", "normal", "resolved")]


def waiting_on_a_lock(ctx) -> bool:
    with ctx.engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND wait_event_type = 'Lock'")) > 0


def test_two_evaluators_at_once_send_one_notification(alerts_ctx, monkeypatch):
    first, second, watcher = alerts_ctx(), alerts_ctx(), alerts_ctx()  # two workers (or hosts), one database
    operator.evaluate_rules(first, at(0), [check("critical")])
    read_rules, second_read = operator._open_silences, threading.Event()
    arrived = []

    def open_silences(session, now):
        # The first evaluator stays inside its transaction until the second has read the rules too, or is
        # waiting for the first's lock: without the lock both would see Pending and both would fire.
        arrived.append(now)
        if len(arrived) == 1:
            deadline = time.monotonic() + 20
            while not (second_read.is_set() or waiting_on_a_lock(watcher)) and time.monotonic() < deadline:
                second_read.wait(0.01)
        else:
            second_read.set()
        return read_rules(session, now)

    monkeypatch.setattr(operator, "_open_silences", open_silences)
    errors = []

    def evaluate(ctx):
        try:
            operator.evaluate_rules(ctx, at(120), [check("critical")])
        except Exception as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=evaluate, args=(ctx,)) for ctx in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(arrived) == 2
    assert [e.notification for e in events(first)] == [None, "firing"]  # one transition, not two
    assert len(queued(first)) == 3 and rule(first).episode == 1


def test_a_silenced_rule_changes_state_but_sends_nothing(alerts_ctx):
    ctx = alerts_ctx()
    operator.silence(ctx, "api_p95", "1h", "ops-anna", "deploying", now=at(0))
    fire(ctx)
    assert rule(ctx).state == "firing" and queued(ctx) == []
    assert events(ctx)[-1].silenced is True and events(ctx)[-1].notification == "firing"
    view = operator.read_panel_view(ctx, at(130))
    assert view["rules"]["api_p95"]["silenced_until"] == at(3600)
    assert view["rules"]["api_p95"]["silenced_by"] == "ops-anna"


def test_silencing_every_rule_holds_each_rules_notifications(alerts_ctx):
    ctx = alerts_ctx()
    operator.silence(ctx, None, "4h", "ops-anna", now=at(0))
    checks = [check("critical"), check("critical", key="db_p95")]
    operator.evaluate_rules(ctx, at(0), checks)
    summary = operator.evaluate_rules(ctx, at(120), checks)
    assert summary["silenced"] == 2 and summary["messages"] == 0 and queued(ctx) == []
    with pytest.raises(AlertActionError, match="needs an end time"):
        operator.silence(ctx, None, "resolved", "ops-anna")


def test_a_silence_until_resolved_ends_with_the_episode(alerts_ctx):
    ctx = alerts_ctx(operator_alert_keep_firing_s=0)
    with pytest.raises(AlertActionError, match="not pending or firing"):  # it would mute the next episode
        operator.silence(ctx, "api_p95", "resolved", "ops-anna", now=at(0))
    operator.evaluate_rules(ctx, at(0), [check("critical")])  # pending
    operator.silence(ctx, "api_p95", "resolved", "ops-anna", now=at(10))
    operator.evaluate_rules(ctx, at(120), [check("critical")])  # fires, held
    operator.evaluate_rules(ctx, at(180), [check("ok", 40.0)])  # resolved, silenced: the silence ends
    assert queued(ctx) == [] and rule(ctx).state == "normal"
    with ctx.session() as session:
        assert session.scalar(select(OperatorAlertSilence.ended_at)) == at(180)
    fire(ctx, start=240)  # the next episode is heard
    assert rule(ctx).episode == 2 and len(queued(ctx)) == 3


def test_a_pending_rule_back_to_normal_ends_its_until_resolved_silence(alerts_ctx):
    ctx = alerts_ctx()
    operator.evaluate_rules(ctx, at(0), [check("critical")])
    operator.silence(ctx, "api_p95", "resolved", "ops-anna", now=at(10))
    operator.evaluate_rules(ctx, at(60), [check("ok", 40.0)])  # never fired: back to Normal silently
    fire(ctx, start=600)  # the next episode is heard
    assert rule(ctx).episode == 1 and len(queued(ctx)) == 3


def test_a_notification_held_by_a_silence_is_sent_once_the_silence_ends(alerts_ctx):
    ctx = alerts_ctx(operator_alert_keep_firing_s=0)
    operator.silence(ctx, "api_p95", "1h", "ops-anna", now=at(0))
    fire(ctx)
    operator.evaluate_rules(ctx, at(1800), [check("critical")])  # still silenced: still held
    assert queued(ctx) == [] and rule(ctx).notified_at is None
    operator.evaluate_rules(ctx, at(3600), [check("critical")])  # the silence is over: said now, once
    operator.evaluate_rules(ctx, at(3660), [check("critical")])
    subjects = [json.loads(m.payload).get("subject") for m in queued(ctx)]
    assert len(subjects) == 3 and subjects[-1] == "AQI dashboard: [critical] API p95 firing"
    operator.evaluate_rules(ctx, at(3720), [check("ok", 40.0)])
    assert len(queued(ctx)) == 6  # and its resolution


def test_a_firing_never_heard_resolves_without_a_message(alerts_ctx):
    ctx = alerts_ctx(operator_alert_keep_firing_s=0)
    operator.silence(ctx, "api_p95", "1h", "ops-anna", now=at(0))
    fire(ctx)
    operator.evaluate_rules(ctx, at(4000), [check("ok", 40.0)])  # after the silence, but nothing was said
    assert rule(ctx).state == "normal" and queued(ctx) == []


def test_an_evaluator_older_than_the_last_evaluation_changes_nothing(alerts_ctx):
    ctx = alerts_ctx(operator_alert_keep_firing_s=0)
    fire(ctx)  # firing at 120
    summary = operator.evaluate_rules(ctx, at(90), [check("ok", 40.0)])  # waited for the lock, stale checks
    assert summary["rules"] == 0 and rule(ctx).state == "firing" and len(queued(ctx)) == 3


def test_an_acknowledged_firing_rule_sends_no_reminders_until_it_resolves(alerts_ctx):
    ctx = alerts_ctx(operator_alert_repeat_s=3600, operator_alert_keep_firing_s=0)
    fire(ctx)
    assert operator.acknowledge(ctx, "api_p95", "ops-ben", now=at(130)) == 1
    assert operator.acknowledge(ctx, "api_p95", "ops-cleo", now=at(131)) == 1  # a second click changes nothing
    operator.evaluate_rules(ctx, at(120 + 3 * 3600), [check("critical")])
    assert len(queued(ctx)) == 3  # no reminder
    assert operator.read_panel_view(ctx)["rules"]["api_p95"]["acknowledged_by"] == "ops-ben"
    operator.evaluate_rules(ctx, at(120 + 3 * 3600 + 60), [check("ok", 40.0)])
    assert [json.loads(m.payload).get("subject") for m in queued(ctx)[3:]][-1].endswith("API p95 resolved")
    assert operator.read_panel_view(ctx)["rules"]["api_p95"]["acknowledged_by"] is None
    fire(ctx, start=5 * 3600)  # a new episode: unacknowledged, so reminded again
    operator.evaluate_rules(ctx, at(5 * 3600 + 120 + 3600), [check("critical")])
    assert [e.notification for e in events(ctx)][-1] == "reminder"


def test_an_unacknowledged_firing_rule_is_reminded(alerts_ctx):
    ctx = alerts_ctx(operator_alert_repeat_s=3600)
    fire(ctx)
    operator.evaluate_rules(ctx, at(120 + 3600), [check("critical")])
    assert len(queued(ctx)) == 6 and json.loads(queued(ctx)[-1].payload)["subject"].endswith("still firing")


def test_acknowledging_needs_a_firing_rule_and_silencing_a_known_rule(alerts_ctx):
    ctx = alerts_ctx()
    operator.evaluate_rules(ctx, at(0), [check("critical")])  # pending
    with pytest.raises(AlertActionError, match="only a firing rule"):
        operator.acknowledge(ctx, "api_p95", "ops-ben")
    with pytest.raises(AlertActionError, match="no alert rule"):
        operator.acknowledge(ctx, "no_such_rule", "ops-ben")
    with pytest.raises(AlertActionError, match="no alert rule"):
        operator.silence(ctx, "x" * 500, "1h", "ops-ben")
    with pytest.raises(AlertActionError, match="duration"):
        operator.silence(ctx, "api_p95", "forever", "ops-ben")
    with ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(OperatorAlertSilence)) == 0
        assert session.scalar(select(func.count()).select_from(OperatorAlertAck)) == 0


def test_the_scheduled_job_reads_the_panels_checks_and_records_its_run(alerts_ctx, monkeypatch):
    ctx = alerts_ctx()
    monkeypatch.setattr(METRICS, "sink", LocalSink())  # only this test's samples
    for _ in range(20):
        METRICS.record("api", "GET /api/v1/slow", 1500.0)
    run_id = schedule.run_scheduled(ctx, "operator_alerts")
    with ctx.session() as session:
        run = session.get(JobRun, run_id)
    assert run.status == "succeeded" and json.loads(run.summary)["transitions"] >= 1
    states = {name: r["state"] for name, r in operator.read_panel_view(ctx)["rules"].items()}
    assert states["api_p95"] == "pending" and states["inference_p95"] == "normal"  # no samples: No Data → Normal
    assert "operator-alerts" in schedule.beat_schedule(ctx)
    latest = schedule.run_scheduled(ctx, "operator_alerts")  # a minute later: the history keeps the newest only
    with ctx.session() as session:
        assert session.scalars(select(JobRun.id).where(JobRun.job == "operator_alerts")).all() == [latest]


def test_the_panel_view_is_read_once_per_interval(alerts_ctx):
    ctx = alerts_ctx()
    fire(ctx)
    view = operator.panel_view(ctx)
    assert view["rules"]["api_p95"]["state"] == "firing"
    assert [h["notification"] for h in view["history"]] == ["firing", None]  # newest first
    with ctx.session() as session, session.begin():
        session.execute(delete(OperatorAlertEvent))
    assert operator.panel_view(ctx) is view  # cached
    operator.acknowledge(ctx, "api_p95", "ops-ben")  # an action drops it
    assert operator.panel_view(ctx)["history"] == []


def sign_in(client, name: str, password: str) -> None:
    """The sign-in form as a browser posts it, with its CSRF token."""
    form = client.get("/login?next=/performance").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post("/login?next=/performance",
                       data={"name": name, "password": password, "csrf_token": token}).status_code == 302


def click_silence(client, check: str, duration: str):
    """The panel's Silence button as Dash posts its click (both pattern-matching inputs, one clicked)."""
    button = {"check": check, "duration": duration, "type": "perf-alert-silence"}
    body = {"output": "perf-alert-notice.children", "outputs": {"id": "perf-alert-notice", "property": "children"},
            "inputs": [[{"id": button, "property": "n_clicks", "value": 1}], []],
            "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
            "state": []}
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                       headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})


@pytest.mark.parametrize("role, status", [("analyst", 403), ("operator", 200)])
def test_only_an_operator_may_silence_even_where_analysts_may_see_the_panel(app_with, pg_ctx, role, status):
    name, password = f"silencer-{role}-{uuid.uuid4().hex[:6]}", "a long test password"
    create_user(pg_ctx.engine, name, role, password)
    client = app_with(access_performance="analyst").server.test_client()
    assert client.get("/performance").status_code == 200
    sign_in(client, name, password)
    response = click_silence(client, "db_p95", "4h")
    assert response.status_code == status
    with pg_ctx.session() as session, session.begin():
        made = session.scalars(select(OperatorAlertSilence).where(OperatorAlertSilence.created_by == name)).all()
        assert [(s.rule, s.until - s.created_at) for s in made] == ([("db_p95", timedelta(hours=4))]
                                                                   if status == 200 else [])
        session.execute(delete(OperatorAlertSilence).where(OperatorAlertSilence.created_by == name))


def test_the_panel_refuses_a_silence_for_a_check_it_does_not_show(app, pg_ctx):
    name, password = f"silencer-{uuid.uuid4().hex[:6]}", "a long test password"
    create_user(pg_ctx.engine, name, "operator", password)
    client = app.server.test_client()
    sign_in(client, name, password)
    response = click_silence(client, "'; DROP TABLE users; --", "1h")
    assert response.status_code == 200 and "Unknown check" in response.get_data(as_text=True)
    assert click_silence(client, "db_p95", "forever").get_data(as_text=True).count("Unknown silence duration") == 1
    with pg_ctx.session() as session:
        assert session.scalars(select(OperatorAlertSilence).where(OperatorAlertSilence.created_by == name)).all() == []


def test_the_cli_evaluates_shows_and_silences(alerts_ctx):
    ctx = alerts_ctx()
    fire(ctx)

    def invoke(*args):
        return CliRunner().invoke(cli, ["operator-alerts", *args], obj=ctx.settings)

    shown = invoke("status")
    assert shown.exit_code == 0 and "api_p95                  firing     critical" in shown.output
    assert "pending -> firing (firing)" in shown.output
    silenced = invoke("silence", "--all", "--for", "1h", "--reason", "maintenance", "--by", "ops-anna")
    assert silenced.exit_code == 0 and "every rule for 1h" in silenced.output
    assert "silenced until" in invoke("status").output
    refused = invoke("silence", "--all", "--for", "resolved")
    assert refused.exit_code == 1 and "error: silencing every rule needs an end time" in refused.output
    assert invoke("silence", "--for", "1h").exit_code == 2  # neither a rule nor --all
    assert invoke("silence", "no_such_rule", "--for", "1h").output.startswith("error: no alert rule")
    evaluated = invoke("evaluate")
    assert evaluated.exit_code == 0 and evaluated.output.startswith("operator_alerts: succeeded")

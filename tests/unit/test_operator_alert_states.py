"""The operator alert state machine, step by step: Grafana's Normal → Pending → Firing → Recovering → Normal."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from core.alerts.operator import Observation, Rule, RuleState, rule_for, transition
from core.settings import load_settings

T0 = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
RULE = Rule("api_p95", pending_for=timedelta(seconds=120), keep_firing_for=timedelta(seconds=300),
            repeat_every=timedelta(hours=4))
OK, NO_DATA = Observation("ok", 10.0), Observation("no_data")
WARN, CRIT = Observation("warning", 700.0), Observation("critical", 1500.0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def firing(since=0, severity="warning", notified=0, acknowledged=False, episode=1) -> RuleState:
    return RuleState("firing", at(since), severity, episode, at(since), at(notified), acknowledged)


def recovering(since, severity="warning", acknowledged=False) -> RuleState:
    return RuleState("recovering", at(since), severity, 1, at(0), at(0), acknowledged)


def test_normal_stays_normal_within_target_and_without_data():
    start = RuleState("normal", at(0))
    for observation in (OK, NO_DATA):
        assert transition(RULE, start, observation, at(60)) == (start, None)


@pytest.mark.parametrize("observation", [WARN, CRIT])
def test_a_breach_makes_a_normal_rule_pending_without_a_notification(observation):
    state, note = transition(RULE, RuleState("normal", at(0)), observation, at(60))
    assert (state.state, state.since, state.severity, note) == ("pending", at(60), observation.status, None)


def test_pending_fires_once_the_pending_period_has_passed():
    pending = RuleState("pending", at(0), "warning")
    assert transition(RULE, pending, WARN, at(119)) == (pending, None)
    state, note = transition(RULE, pending, WARN, at(120))
    assert (state.state, state.episode, state.fired_at, state.notified_at) == ("firing", 1, at(120), at(120))
    assert (note.kind, note.severity, note.episode, note.key) == ("firing", "warning", 1, "operator:api_p95:1:firing")


def test_pending_keeps_its_worst_severity_and_fires_with_it():
    pending = RuleState("pending", at(0), "critical")
    state, note = transition(RULE, pending, WARN, at(60))
    assert (state.state, state.severity, note) == ("pending", "critical", None)
    assert transition(RULE, state, WARN, at(150))[1].severity == "critical"


@pytest.mark.parametrize("observation", [OK, NO_DATA])
def test_pending_that_recovers_goes_back_to_normal_silently(observation):
    state, note = transition(RULE, RuleState("pending", at(0), "warning"), observation, at(60))
    assert (state.state, state.since, state.severity, note) == ("normal", at(60), None, None)


def test_a_zero_pending_period_fires_on_the_first_breach():
    rule = Rule("db_pool", timedelta(0), timedelta(seconds=300), timedelta(hours=4))
    state, note = transition(rule, RuleState("normal", at(0), episode=3), CRIT, at(10))
    assert (state.state, state.episode, note.kind, note.key) == ("firing", 4, "firing", "operator:db_pool:4:firing")


def test_firing_stays_firing_while_breached_without_repeating_itself():
    state = firing()
    assert transition(RULE, state, WARN, at(600)) == (state, None)


def test_firing_escalates_to_critical_once():
    state, note = transition(RULE, firing(), CRIT, at(60))
    assert (state.severity, state.notified_at, note.kind, note.key) == (
        "critical", at(60), "escalated", "operator:api_p95:1:escalated:critical")
    assert transition(RULE, state, CRIT, at(120)) == (state, None)
    assert transition(RULE, state, WARN, at(180)) == (state, None)  # severity never drops within an episode


def test_an_unacknowledged_firing_rule_is_reminded_every_repeat_interval():
    state = firing()
    assert transition(RULE, state, WARN, at(4 * 3600 - 1)) == (state, None)
    reminded, note = transition(RULE, state, WARN, at(4 * 3600))
    assert (reminded.notified_at, note.kind, note.key) == (
        at(4 * 3600), "reminder", "operator:api_p95:1:reminder:2026-12-01T12:00:00Z")
    assert transition(RULE, reminded, WARN, at(8 * 3600))[1].key.endswith("2026-12-01T16:00:00Z")


def test_an_acknowledged_firing_rule_gets_no_reminders_but_still_escalates():
    state = firing(acknowledged=True)
    assert transition(RULE, state, WARN, at(10 * 3600)) == (state, None)
    assert transition(RULE, state, CRIT, at(10 * 3600))[1].kind == "escalated"


def test_no_reminders_with_a_zero_repeat_interval():
    rule = Rule("api_p95", RULE.pending_for, RULE.keep_firing_for, timedelta(0))
    assert transition(rule, firing(), WARN, at(48 * 3600))[1] is None


@pytest.mark.parametrize("observation", [OK, NO_DATA])
def test_firing_back_within_target_is_recovering_and_still_quiet(observation):
    state, note = transition(RULE, firing(), observation, at(600))
    assert (state.state, state.since, state.severity, state.episode, note) == ("recovering", at(600), "warning", 1,
                                                                               None)


def test_recovering_resolves_after_keep_firing_for():
    state = recovering(since=600, acknowledged=True)
    assert transition(RULE, state, OK, at(899)) == (state, None)
    resolved, note = transition(RULE, state, OK, at(900))
    assert (resolved.state, resolved.severity, resolved.acknowledged, resolved.episode) == ("normal", None, False, 1)
    assert (note.kind, note.severity, note.fired_at, note.key) == ("resolved", "warning", at(0),
                                                                   "operator:api_p95:1:resolved")


def test_recovering_breached_again_fires_on_in_the_same_episode_without_a_notification():
    state, note = transition(RULE, recovering(since=600), WARN, at(700))
    assert (state.state, state.since, state.episode, state.fired_at, note) == ("firing", at(700), 1, at(0), None)


def test_recovering_breached_harder_escalates():
    state, note = transition(RULE, recovering(since=600), CRIT, at(700))
    assert (state.state, state.severity, note.kind) == ("firing", "critical", "escalated")


def test_recovering_sends_no_reminder():
    state = recovering(since=0)
    assert transition(RULE, state, WARN, at(5 * 3600))[1] is None


def test_a_firing_rule_whose_notification_a_silence_held_says_so_at_the_next_evaluation():
    held = replace(firing(severity="critical"), notified_at=None)
    heard, note = transition(RULE, held, CRIT, at(3600))
    assert (heard.notified_at, note.kind, note.severity, note.key) == (
        at(3600), "firing", "critical", "operator:api_p95:1:firing:2026-12-01T13:00:00Z")
    assert transition(RULE, heard, CRIT, at(3660)) == (heard, None)
    assert transition(RULE, replace(held, acknowledged=True), CRIT, at(3600))[1] is None  # someone has it


def test_a_firing_never_heard_resolves_silently():
    rule = Rule("api_p95", RULE.pending_for, timedelta(0), RULE.repeat_every)
    state, note = transition(rule, replace(firing(), notified_at=None), OK, at(60))
    assert (state.state, note) == ("normal", None)


def test_a_zero_keep_firing_for_resolves_at_once():
    rule = Rule("api_p95", RULE.pending_for, timedelta(0), RULE.repeat_every)
    state, note = transition(rule, firing(), OK, at(60))
    assert (state.state, note.kind) == ("normal", "resolved")


def test_a_new_episode_after_resolution_has_a_new_number_and_key():
    state = RuleState("normal", at(0), episode=1)
    pending, _ = transition(RULE, state, WARN, at(10))
    fired, note = transition(RULE, pending, WARN, at(130))
    assert (fired.episode, fired.acknowledged, note.key) == (2, False, "operator:api_p95:2:firing")


def test_the_whole_lifecycle_sends_exactly_firing_then_resolved():
    state, sent = RuleState("normal", at(0)), []
    timeline = [WARN] * 5 + [OK] * 7 + [OK] * 3  # one evaluation a minute
    for minute, observation in enumerate(timeline):
        state, note = transition(RULE, state, observation, at(60 * minute))
        sent += [note.kind] if note else []
    assert sent == ["firing", "resolved"] and state.state == "normal"


def test_rule_timings_come_from_the_settings_and_their_overrides():
    settings = load_settings(operator_alert_pending_s=60, operator_alert_keep_firing_s=90,
                             operator_alert_overrides="db_pool=0/30,feed:openaq=600/0")
    assert rule_for(settings, "api_p95").pending_for == timedelta(seconds=60)
    assert rule_for(settings, "db_pool").keep_firing_for == timedelta(seconds=30)
    assert rule_for(settings, "feed:openaq").pending_for == timedelta(seconds=600)


@pytest.mark.parametrize("field, value", [("operator_alert_overrides", "db_pool=fast"),
                                          ("operator_alert_emails", "ops@example.org, not-an-address"),
                                          ("operator_alert_webhook_url", "ftp://hooks.example.org/x"),
                                          ("operator_alert_pending_s", -1)])
def test_bad_alert_settings_are_refused_by_name(field, value):
    from core.settings import SettingsError

    with pytest.raises(SettingsError, match=field):
        load_settings(**{field: value})

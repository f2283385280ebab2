"""The operator panel in a real browser: tiles coloured by status, tables filled from the metrics store."""
from core.metrics import METRICS, LocalSink


def tile(check: str, part: str) -> str:
    """A CSS selector for a part (perf-status, perf-advice…) of a check's tile (a pattern-matching id)."""
    return f"""[id='{{"check":"{check}","type":"perf-tile"}}'] .{part}"""


def test_panel_shows_each_figure_with_its_status(dash_duo, app, monkeypatch, operator_login, shot):
    monkeypatch.setattr(METRICS, "sink", LocalSink())  # only this test's samples: other tests time fast requests
    for _ in range(20):  # a slow endpoint: p95 above the 1,000 ms critical threshold
        METRICS.record("api", "GET /api/v1/slow", 1500.0)
    dash_duo.start_server(app)
    operator_login(dash_duo, "/performance")
    dash_duo.wait_for_text_to_equal(tile("api_p95", "perf-status"), "Critical", timeout=20)
    # The panel re-renders every few seconds: read through waits, which retry a replaced element.
    dash_duo.wait_for_contains_text(tile("api_p95", "perf-advice"), "GET /api/v1/slow")
    dash_duo.wait_for_text_to_equal(tile("inference_p95", "perf-status"), "No data")
    dash_duo.wait_for_contains_text("#perf-timer-table", "GET /api/v1/slow")
    dash_duo.wait_for_contains_text("#perf-breaches", "API p95")
    dash_duo.wait_for_contains_text("#perf-cache-backend", "in-process")
    shot("performance")


def test_panel_asks_anonymous_visitors_to_sign_in(dash_duo, app):
    dash_duo.start_server(app)
    dash_duo.driver.get(dash_duo.server_url + "/performance")
    dash_duo.wait_for_contains_text("#auth-required", "sign in as an operator", timeout=20)
    assert not dash_duo.find_elements('[id*="perf-tile"]')


def test_an_operator_acknowledges_and_silences_a_firing_rule_from_its_tile(dash_duo, app, pg_ctx, operator_login,
                                                                          browser_users, shot):
    from datetime import timedelta

    from sqlalchemy import delete

    from core.alerts import operator
    from core.db.models import OperatorAlertAck, OperatorAlertEvent, OperatorAlertRule, OperatorAlertSilence
    from core.thresholds import Check
    from core.times import now

    with pg_ctx.session() as session, session.begin():
        for model in (OperatorAlertEvent, OperatorAlertAck, OperatorAlertSilence, OperatorAlertRule):
            session.execute(delete(model))
    slow = [Check("api_p95", "API p95", 1500.0, "ms", "critical", 500.0, 1000.0, "Slowest: GET /api/v1/slow.")]
    operator.evaluate_rules(pg_ctx, now() - timedelta(seconds=180), slow)  # Pending …
    operator.evaluate_rules(pg_ctx, now(), slow)  # … and Firing once the pending period has passed
    dash_duo.start_server(app)
    operator_login(dash_duo, "/performance")
    state = """[id='{"check":"api_p95","type":"perf-alert-state"}']"""
    dash_duo.wait_for_contains_text(state, "Firing", timeout=20)
    dash_duo.wait_for_contains_text("#perf-alert-history-table", "Pending → Firing")

    dash_duo.find_element("""[id='{"check":"api_p95","type":"perf-alert-ack"}']""").click()
    dash_duo.wait_for_contains_text("#perf-alert-notice", "Acknowledged api_p95")
    dash_duo.wait_for_contains_text(state, f"acknowledged by {browser_users['operator']}", timeout=20)

    dash_duo.find_element("""[id='{"check":"api_p95","duration":"1h","type":"perf-alert-silence"}']""").click()
    dash_duo.wait_for_contains_text("#perf-alert-notice", "Silenced api_p95 (1 h)")
    dash_duo.wait_for_contains_text(state, "silenced until", timeout=20)
    assert operator.read_panel_view(pg_ctx)["rules"]["api_p95"]["silenced_by"] == browser_users["operator"]
    shot("performance-alerting")
    dash_duo.wait_for_contains_text("""[id='{"check":"db_p95","type":"perf-alert-state"}']""", "Not evaluated yet")

"""The alert subscriptions admin page in a real browser: pause, resume and delete a subscription, retry a dead
letter; refused to an operator."""
import uuid

from dash.testing.wait import until
from sqlalchemy import update

from core.alerts import outbox, subscriptions
from core.db.models import AlertSubscription, OutboxMessage


def _subscription(app) -> int:
    ctx = app.server.extensions["aqi"]
    request = subscriptions.Request(f"{uuid.uuid4().hex[:8]}@example.org", None, "Delhi", None, "us_epa",
                                    "Unhealthy", "observed")
    return subscriptions.subscribe(ctx, request)["id"]


def _dead_letter(app) -> int:
    ctx = app.server.extensions["aqi"]
    key = uuid.uuid4().hex
    with ctx.session() as session:
        outbox.enqueue(session, "email", "gone@example.org", {"subject": "s", "text": "t"}, key)
        session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key == key)
                        .values(state="dead", attempts=8, last_error="SMTP 127.0.0.1: refused"))
        session.commit()
        return session.query(OutboxMessage.id).filter_by(dedupe_key=key).scalar()


def _token(app, subscription_id: int) -> str:
    with app.server.extensions["aqi"].session() as session:
        return session.get(AlertSubscription, subscription_id).token


def test_admin_pauses_resumes_and_deletes_a_subscription_and_retries_a_dead_letter(dash_duo, app, admin_login):
    subscription, dead = _subscription(app), _dead_letter(app)
    subscriptions.confirm(app.server.extensions["aqi"], _token(app, subscription))
    dash_duo.start_server(app)
    admin_login(dash_duo, "/admin/alerts")
    pause = f'[id*="alerts-admin-action"][id*="\\"id\\":{subscription}"][id*="pause"]'
    dash_duo.wait_for_element(pause, timeout=20).click()
    dash_duo.wait_for_contains_text("#alerts-admin-result", f"Subscription {subscription}: paused.", timeout=20)
    resume = pause.replace("pause", "resume")
    dash_duo.wait_for_element(resume, timeout=20).click()
    dash_duo.wait_for_contains_text("#alerts-admin-result", f"Subscription {subscription}: resumed.", timeout=20)
    retry = f'[id*="alerts-admin-action"][id*="\\"id\\":{dead}"][id*="retry"]'
    dash_duo.wait_for_element(retry, timeout=20).click()
    dash_duo.wait_for_contains_text("#alerts-admin-result", f"Message {dead} queued again.", timeout=20)
    delete = pause.replace("pause", "delete")
    dash_duo.wait_for_element(delete, timeout=20).click()
    dash_duo.wait_for_contains_text("#alerts-admin-result", f"Subscription {subscription} deleted.", timeout=20)
    until(lambda: not dash_duo.find_elements(delete), timeout=20)


def test_the_alerts_admin_page_is_refused_to_an_operator(dash_duo, app, operator_login):
    dash_duo.start_server(app)
    operator_login(dash_duo, "/admin/alerts")
    dash_duo.wait_for_contains_text("#auth-required", "sign in as an admin", timeout=20)
    assert not dash_duo.find_elements('[id*="alerts-admin-action"]')

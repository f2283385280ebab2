"""The public alert API on the seeded database: subscribe, the double opt-in and one-click unsubscribe links,
feeds, bad input as 400s that store nothing, the per-address rate limit, and the access table's exceptions."""
import pytest
from sqlalchemy import delete, func, select

from core.alerts import outbox
from core.db.models import AlertEvent, AlertSubscription, DeliveryAttempt, OutboxMessage
from dashboard import access

GOOD = {"email": "resident@example.org", "city": "Delhi", "standard": "us_epa",
        "category": "Unhealthy for Sensitive Groups", "kind": "observed"}


@pytest.fixture()
def alerts_app(app_with, smtp_server):
    app = app_with(alert_rate_limit="1000/hour", smtp_url=smtp_server.url, public_url="https://aqi.example")
    ctx = app.server.extensions["aqi"]
    with ctx.session() as session:
        for model in (DeliveryAttempt, OutboxMessage, AlertEvent, AlertSubscription):
            session.execute(delete(model))
        session.commit()
    return app


def post(client, body, **kwargs):
    return client.post("/api/v1/alerts/subscriptions", json=body, **kwargs)


def stored(app) -> int:
    with app.server.extensions["aqi"].session() as session:
        return session.scalar(select(func.count()).select_from(AlertSubscription))


def token_of(app, subscription_id: int) -> str:
    with app.server.extensions["aqi"].session() as session:
        return session.get(AlertSubscription, subscription_id).token


def test_subscribe_answers_202_pending_and_mails_a_confirmation_link(alerts_app, smtp_server):
    client = alerts_app.server.test_client()
    response = post(client, GOOD)
    assert response.status_code == 202
    data = response.get_json()["data"]
    assert data["status"] == "pending" and data["category"] == "Unhealthy for Sensitive Groups"
    assert "secret" not in data and "feeds" not in data and "unsubscribe" not in data  # the token: mailbox only
    outbox.deliver_due(alerts_app.server.extensions["aqi"])
    [mail] = smtp_server.received
    token = token_of(alerts_app, data["id"])
    assert token not in response.get_data(as_text=True)
    assert f"https://aqi.example/api/v1/alerts/confirm/{token}" in mail.get_body(("plain",)).get_content()
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_following_the_link_changes_nothing_its_button_confirms(alerts_app):
    client = alerts_app.server.test_client()
    subscription = post(client, GOOD).get_json()["data"]
    token = token_of(alerts_app, subscription["id"])
    page = client.get(f"/api/v1/alerts/confirm/{token}")
    assert page.status_code == 200 and b'method="post"' in page.data
    assert b"Confirm" in page.data
    with alerts_app.server.extensions["aqi"].session() as session:
        assert session.get(AlertSubscription, subscription["id"]).status == "pending"
    confirmed = client.post(f"/api/v1/alerts/confirm/{token}")
    assert confirmed.status_code == 200 and confirmed.get_json()["data"]["status"] == "active"


def test_one_click_unsubscribe_by_post_as_rfc_8058_sends(alerts_app):
    client = alerts_app.server.test_client()
    subscription = post(client, GOOD).get_json()["data"]
    token = token_of(alerts_app, subscription["id"])
    response = client.post(f"/api/v1/alerts/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and response.get_json()["data"]["status"] == "unsubscribed"
    assert client.post(f"/api/v1/alerts/confirm/{token}").status_code == 404  # ended stays ended


def test_unknown_or_malformed_tokens_are_404s(alerts_app):
    client = alerts_app.server.test_client()
    assert client.post("/api/v1/alerts/unsubscribe/" + "x" * 43).status_code == 404
    assert client.get("/api/v1/alerts/feeds/short.json").status_code == 404


@pytest.mark.parametrize("change, message", [
    ({"email": "not-an-address"}, "email: not an e-mail address"),
    ({"email": "a@b@example.org"}, "email: not an e-mail address"),
    ({"city": "Atlantis"}, "city: no city named 'Atlantis'"),
    ({"city": None, "station_id": 999999}, "station_id: no station with id 999999"),
    ({"category": "Purple"}, "us_epa has no category 'Purple'"),
    ({"standard": "eea", "category": "Unhealthy"}, "eea has no category 'Unhealthy'"),
    ({"category": "Good"}, "is the best category"),
    ({"standard": "eea", "category": "Poor", "kind": "forecast"}, "forecast alerts follow us_epa"),
    ({"email": None, "webhook_url": "http://93.184.215.14/hook"}, "must be https"),
    ({"email": None, "webhook_url": "https://127.0.0.1/hook"}, "non-public address"),
    ({"email": None, "webhook_url": "https://10.0.0.8/hook"}, "non-public address"),
    ({"email": None, "webhook_url": "https://169.254.169.254/"}, "non-public address"),
    ({"webhook_url": "https://93.184.215.14/hook"}, "exactly one of email or webhook_url"),
    ({"station_id": 1}, "exactly one of city or station_id"),
    ({"standard": "aqi_x"}, "standard"),
    ({"kind": "hourly"}, "kind"),
    ({"extra": 1}, "extra"),
])
def test_bad_input_is_a_400_naming_the_problem_and_stores_nothing(alerts_app, change, message):
    client = alerts_app.server.test_client()
    response = post(client, {**GOOD, **change})
    assert response.status_code == 400
    assert message in response.get_json()["error"]["message"]
    assert stored(alerts_app) == 0


def test_a_body_that_is_not_a_json_object_is_a_400(alerts_app):
    client = alerts_app.server.test_client()
    for response in (client.post("/api/v1/alerts/subscriptions", data="email=x"),
                     client.post("/api/v1/alerts/subscriptions", json=[1, 2])):
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_body"


def test_a_webhook_subscription_is_active_and_shows_its_secret_once(app_with):
    app = app_with(alert_rate_limit="1000/hour", webhook_allow_networks="127.0.0.1/32")
    client = app.server.test_client()
    body = {**GOOD, "email": None, "webhook_url": "http://127.0.0.1:9/hook"}
    data = post(client, body).get_json()["data"]
    assert data["status"] == "active" and len(data["secret"]) == 64
    token = token_of(app, data["id"])
    assert "secret" not in client.post(f"/api/v1/alerts/confirm/{token}").get_json()["data"]


def test_subscriptions_are_rate_limited_per_client_address_and_per_target(app_with):
    app = app_with(alert_rate_limit="2/hour")
    client = app.server.test_client()
    assert [post(client, {**GOOD, "email": f"n{i}@example.org"}).status_code for i in range(3)] == [202, 202, 429]
    other = app.server.test_client()
    for n in range(2):
        assert post(other, GOOD, environ_base={"REMOTE_ADDR": f"10.9.0.{n}"}).status_code == 202
    refused = post(other, GOOD, environ_base={"REMOTE_ADDR": "10.9.0.7"})  # a new address, the same mailbox
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"


def test_feeds_list_the_subscriptions_alerts(alerts_app):
    client = alerts_app.server.test_client()
    data = post(client, GOOD).get_json()["data"]
    token = token_of(alerts_app, data["id"])
    feed = client.get(f"/api/v1/alerts/feeds/{token}.json")
    assert feed.status_code == 200 and feed.mimetype == "application/feed+json"
    assert feed.get_json()["version"] == "https://jsonfeed.org/version/1.1" and feed.get_json()["items"] == []
    atom = client.get(f"/api/v1/alerts/feeds/{token}.atom")
    assert atom.mimetype == "application/atom+xml" and b"<feed xmlns=\"http://www.w3.org/2005/Atom\"" in atom.data
    # The URL carries the subscription's token: no shared cache may keep it.
    assert feed.headers["Cache-Control"] == atom.headers["Cache-Control"] == "no-store"


def test_disabled_alerts_answer_404(app_with):
    client = app_with(alerts_enabled=False).server.test_client()
    assert post(client, GOOD).status_code == 404


def test_only_the_named_alert_writes_are_public_every_other_write_needs_an_admin(alerts_app):
    table = access.table(alerts_app)
    assert {table[name].access for name in access.PUBLIC_WRITES} == {"public", "access_map"}
    writes = [name for name, entry in table.items() if name.startswith("api.") and name not in access.PUBLIC_WRITES
              and any(r.method != "GET" and f"api.{r.endpoint}" == name for r in access.ROUTES)]
    assert writes and {table[name].access for name in writes} == {"admin"}


def test_the_openapi_document_describes_the_subscription_body(alerts_app):
    document = alerts_app.server.test_client().get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/alerts/subscriptions"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/SubscriptionRequest") and "security" not in operation


PORTAL = "https://portal.example.org"


def test_the_embed_shows_get_alerts_only_when_framed_by_a_listed_origin(app_with):
    client = app_with(alert_embed_origins=PORTAL).server.test_client()
    framed = client.get("/embed/city/Delhi", headers={"Referer": f"{PORTAL}/air"})
    assert b'id="embed-alerts"' in framed.data and b"/embed/alerts?city=Delhi" in framed.data
    assert "Referer" in framed.headers["Vary"]
    elsewhere = client.get("/embed/city/Delhi", headers={"Referer": "https://other.example/air"})
    assert b'id="embed-alerts"' not in elsewhere.data
    assert b'id="embed-alerts"' not in app_with().server.test_client().get(
        "/embed/city/Delhi", headers={"Referer": f"{PORTAL}/air"}).data


def test_the_embed_form_subscribes_pending_and_may_post_only_to_itself(alerts_app, smtp_server):
    client = alerts_app.server.test_client()
    form = client.get("/embed/alerts?city=Delhi&standard=us_epa")
    assert form.status_code == 200 and b'name="email"' in form.data and b"Unhealthy for Sensitive Groups" in form.data
    assert "form-action 'self'" in form.headers["Content-Security-Policy"]
    sent = client.post("/embed/alerts", data={"city": "Delhi", "standard": "us_epa", "email": "form@example.org",
                                              "category": "Unhealthy", "kind": "forecast"})
    assert sent.status_code == 202 and b"Check your inbox" in sent.data
    with alerts_app.server.extensions["aqi"].session() as session:
        row = session.scalar(select(AlertSubscription).where(AlertSubscription.target == "form@example.org"))
    assert (row.status, row.kind, row.category) == ("pending", "forecast", 3)


def test_the_embed_form_refuses_bad_input_with_a_message_and_stores_nothing(alerts_app):
    client = alerts_app.server.test_client()
    bad = client.post("/embed/alerts", data={"city": "Delhi", "standard": "us_epa", "email": "nope",
                                             "category": "Unhealthy", "kind": "observed"})
    assert bad.status_code == 400 and b"not an e-mail address" in bad.data
    assert client.get("/embed/alerts?city=Atlantis").status_code == 404
    assert stored(alerts_app) == 0


def test_with_redis_every_worker_counts_against_the_same_limit(app_with, private_redis):
    first, second = (app_with(alert_rate_limit="2/hour", redis_url=private_redis.url).server.test_client()
                     for _ in range(2))
    codes = [post(client, {**GOOD, "email": f"shared{n}@example.org"}).status_code
             for n, client in enumerate((first, second, first))]
    assert codes == [202, 202, 429]

"""Delivery through real servers: aiosmtpd for e-mail, pytest-httpserver for webhooks, the outbox on PostgreSQL."""
import hashlib
import hmac
import json
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select
from werkzeug import Response

from core.alerts import DeliveryError, mail, outbox, webhooks
from core.db.models import AlertEvent, AlertSubscription, DeliveryAttempt, OutboxMessage
from tests.conftest import SMTPServer


@pytest.fixture()
def alerts_ctx(pg_context, smtp_server):
    """A context whose SMTP server and webhook receiver are local, on an empty outbox."""
    ctx = pg_context(smtp_url=smtp_server.url, webhook_allow_networks="127.0.0.1/32", alert_retry_base_s=30,
                     alert_max_attempts=3)
    with ctx.session() as session:
        for model in (DeliveryAttempt, OutboxMessage, AlertEvent, AlertSubscription):
            session.execute(delete(model))
        session.commit()
    return ctx


def _mail(ctx, to="resident@example.org", key=None) -> bool:
    with ctx.session() as session:
        added = outbox.enqueue(session, "email", to, {"subject": "Air quality", "text": "Unhealthy tomorrow",
                                                      "headers": {"X-Test": "1"}}, key or uuid.uuid4().hex)
        session.commit()
    return added


def test_send_mail_reaches_the_server_with_text_html_and_headers(pg_context, smtp_server):
    settings = pg_context(smtp_url=smtp_server.url).settings
    mail.send_mail(settings, "a@example.org", "Subject ü", "plain body", "<p>html body</p>",
                   {"List-Unsubscribe": "<https://x.example/u/1>"})
    [message] = smtp_server.received
    assert message["To"] == "a@example.org" and message["Subject"] == "Subject ü"
    assert message["List-Unsubscribe"] == "<https://x.example/u/1>"
    assert message.get_body(("plain",)).get_content().strip() == "plain body"
    assert message.get_body(("html",)).get_content().strip() == "<p>html body</p>"


def test_send_mail_to_a_stopped_server_raises_delivery_error(pg_context, smtp_server):
    smtp_server.stop()
    with pytest.raises(DeliveryError, match="SMTP 127.0.0.1"):
        mail.send_mail(pg_context(smtp_url=smtp_server.url).settings, "a@example.org", "s", "t")


def test_credentials_are_never_sent_without_tls(pg_context, smtp_server):
    url = smtp_server.url.replace("smtp://", "smtp://user:secret@")
    with pytest.raises(DeliveryError, match="offers no STARTTLS"):
        mail.send_mail(pg_context(smtp_url=url).settings, "a@example.org", "s", "t")
    assert smtp_server.received == []


def test_post_json_signs_the_body_with_hmac_sha256(httpserver):
    seen = []

    def receive(request):
        seen.append((request.headers["X-AQI-Signature"], request.get_data()))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receive)
    webhooks.post_json(httpserver.url_for("/hook"), {"aqi": 160, "place": "Delhi"}, "s3cret", 5,
                       allow_networks="127.0.0.1/32")
    [(header, body)] = seen
    stamp, given = (part.split("=", 1)[1] for part in header.split(","))
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(given, expected)
    assert json.loads(body) == {"aqi": 160, "place": "Delhi"}


def test_post_json_non_2xx_and_redirects_are_delivery_errors(httpserver):
    httpserver.expect_request("/down").respond_with_data("no", status=503)
    httpserver.expect_request("/moved").respond_with_data("", status=302, headers={"Location": "http://10.0.0.1/"})
    for path, status in (("/down", "503"), ("/moved", "302")):
        with pytest.raises(DeliveryError, match=status):
            webhooks.post_json(httpserver.url_for(path), {}, None, 5, allow_networks="127.0.0.1/32")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "https://127.0.0.1/x", "https://localhost/x",
                                 "https://10.1.2.3/x", "https://169.254.169.254/latest", "https://[::1]/x",
                                 "https://[::ffff:192.168.0.1]/x", "https://100.64.0.1/x", "https://0.0.0.0/x",
                                 "https://[64:ff9b::7f00:1]/x", "https://[2002:a00:1::1]/x",  # NAT64, 6to4
                                 "ftp://example.org/x", "https://user:pw@example.org/x"])
def test_private_loopback_link_local_reserved_and_non_https_targets_are_refused(url):
    with pytest.raises(webhooks.RefusedTarget):
        webhooks.post_json(url, {}, None, 1)


def test_a_public_https_target_passes_the_address_check():
    host, port, addresses = webhooks.resolve_target("https://93.184.215.14/hook")
    assert (host, port) == ("93.184.215.14", 443) and all(a.is_global for a in addresses)


def test_enqueue_is_once_per_dedupe_key(alerts_ctx):
    assert _mail(alerts_ctx, key="same") is True
    assert _mail(alerts_ctx, key="same") is False
    with alerts_ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_deliver_due_sends_each_message_once_and_records_the_attempt(alerts_ctx, smtp_server):
    _mail(alerts_ctx, "one@example.org")
    _mail(alerts_ctx, "two@example.org")
    assert outbox.deliver_due(alerts_ctx) == {"claimed": 2, "sent": 2, "failed": 0, "dead": 0, "dropped": 0}
    assert outbox.deliver_due(alerts_ctx) == {"claimed": 0, "sent": 0, "failed": 0, "dead": 0, "dropped": 0}
    assert sorted(m["To"] for m in smtp_server.received) == ["one@example.org", "two@example.org"]
    with alerts_ctx.session() as session:
        assert set(session.scalars(select(OutboxMessage.state))) == {"sent"}
        assert session.scalar(select(func.count()).where(DeliveryAttempt.ok)) == 2


class DyingSMTPServer(SMTPServer):
    """Goes down by itself once it has received `survive` messages (in the middle of a delivery run)."""

    survive = 3

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if len(self.received) == self.survive:
            threading.Thread(target=self.stop).start()  # not from its own event loop
        return answer


def test_rows_the_lease_no_longer_covers_are_handed_back_unsent(alerts_ctx, smtp_server, monkeypatch):
    _mail(alerts_ctx, "one@example.org")
    _mail(alerts_ctx, "two@example.org")
    # A lease no longer than the slowest send: another deliverer could take the rows mid-batch, so none is sent.
    monkeypatch.setattr(outbox, "LEASE", timedelta(seconds=alerts_ctx.settings.smtp_timeout_s))
    assert outbox.deliver_due(alerts_ctx) == {"claimed": 2, "sent": 0, "failed": 0, "dead": 0, "dropped": 0,
                                              "released": 2}
    with alerts_ctx.session() as session:
        assert set(session.scalars(select(OutboxMessage.state))) == {"pending"}
        assert set(session.scalars(select(OutboxMessage.attempts))) == {0}  # no attempt was made
    monkeypatch.undo()
    assert outbox.deliver_due(alerts_ctx)["sent"] == 2
    assert sorted(m["To"] for m in smtp_server.received) == ["one@example.org", "two@example.org"]


def test_smtp_killed_mid_run_messages_wait_then_go_out_once_none_lost(pg_context):
    server = DyingSMTPServer()
    server.start()
    ctx = pg_context(smtp_url=server.url, alert_retry_base_s=30)
    with ctx.session() as session:
        for model in (DeliveryAttempt, OutboxMessage):
            session.execute(delete(model))
        session.commit()
    addresses = [f"r{n}@example.org" for n in range(8)]
    for address in addresses:
        _mail(ctx, address)
    now = datetime.now(timezone.utc)
    first = outbox.deliver_due(ctx, now=now)  # one run: the server dies after the third message
    assert first["claimed"] == 8 and first["sent"] >= 3 and first["failed"] >= 1
    assert first["sent"] + first["failed"] == 8
    assert outbox.deliver_due(ctx, now=now)["claimed"] == 0  # the rest wait for their backoff
    server.survive = 0
    server.start()
    second = outbox.deliver_due(ctx, now=now + timedelta(seconds=31))
    assert second["sent"] == first["failed"]
    assert outbox.deliver_due(ctx, now=now + timedelta(hours=2))["claimed"] == 0
    assert sorted(m["To"] for m in server.received) == sorted(addresses)  # every one, none twice
    with ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 8 + first["failed"]
    server.stop()


def test_backoff_doubles_and_the_last_failure_is_dead_lettered(alerts_ctx, smtp_server):
    smtp_server.stop()
    _mail(alerts_ctx, "nobody@example.org")
    now = datetime.now(timezone.utc)
    assert outbox.deliver_due(alerts_ctx, now=now)["failed"] == 1
    with alerts_ctx.session() as session:
        due = session.scalar(select(OutboxMessage.due_at))
    assert due == now + timedelta(seconds=30)
    assert outbox.deliver_due(alerts_ctx, now=now + timedelta(seconds=31))["failed"] == 1
    assert outbox.deliver_due(alerts_ctx, now=now + timedelta(seconds=31 + 61))["dead"] == 1
    with alerts_ctx.session() as session:
        [dead] = outbox.dead_letters(session)
        assert dead.attempts == 3 and "SMTP" in dead.last_error
        assert outbox.retry(session, dead.id) is True
    smtp_server.start()
    assert outbox.deliver_due(alerts_ctx)["sent"] == 1


def test_webhook_messages_go_through_the_outbox_signed(alerts_ctx, httpserver):
    bodies = []
    httpserver.expect_request("/portal").respond_with_handler(
        lambda request: bodies.append(request.headers.get("X-AQI-Signature")) or Response("ok"))
    with alerts_ctx.session() as session:
        outbox.enqueue(session, "webhook", httpserver.url_for("/portal"), {"body": {"a": 1}, "secret": "k"}, "w1")
        session.commit()
    assert outbox.deliver_due(alerts_ctx)["sent"] == 1
    assert len(bodies) == 1 and bodies[0].startswith("t=")


def test_unknown_channel_is_refused(alerts_ctx):
    with alerts_ctx.session() as session, pytest.raises(ValueError, match="unknown channel"):
        outbox.enqueue(session, "sms", "+1", {}, "k")

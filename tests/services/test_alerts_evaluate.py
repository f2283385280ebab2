"""When alerts fire, on a private PostgreSQL database whose NowCast each test sets: episodes with hysteresis, the
all clear, cities' worst station, tomorrow's forecast, and exactly once with four workers at the same hour."""
import hashlib
import hmac
import json
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

import pandas as pd
import pytest
from sqlalchemy import delete, func, select
from werkzeug import Response

from core import context
from core.alerts import evaluate as ev
from core.alerts import feeds, messages, outbox, subscriptions
from core.db import migrate
from core.jobs import runner, schedule
from core.db.bulk import upsert_measurements
from core.db.models import (AlertCondition, AlertEvaluation, AlertEvent, AlertSubscription, City, DeliveryAttempt,
                            Forecast, Measurement, OutboxMessage, Station)
from tests.conftest import private_database, settings_for_tests

T0 = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)  # 07:00 in New York: the forecast's morning window
USG, UNHEALTHY, MODERATE, GOOD = 40.0, 80.0, 20.0, 5.0  # PM2.5 µg/m³: NowCast of a constant series


@pytest.fixture(scope="module")
def alert_db():
    """A private database with two cities: Testville (New York time, two stations) and Otherton (one)."""
    with private_database("aqi_alerts") as url:
        ctx = context.build(settings_for_tests(database_url=url))
        migrate.upgrade(ctx.engine)
        add_places(ctx)
        ctx.close()
        yield url


def add_places(ctx) -> None:
    with ctx.session() as session:
        testville = City(name="Testville", country="US", timezone="America/New_York", lat=40.7, lon=-74.0)
        otherton = City(name="Otherton", country="IN", timezone="Asia/Kolkata", lat=28.6, lon=77.2)
        session.add_all([testville, otherton])
        session.flush()
        for code, city in (("TV-1", testville), ("TV-2", testville), ("OT-1", otherton)):
            session.add(Station(code=code, name=f"Station {code}", city_id=city.id, lat=city.lat, lon=city.lon,
                                kind="reference", source="simulator", active=True))
        session.commit()


@pytest.fixture()
def actx(alert_db, smtp_server):
    ctx = context.build(settings_for_tests(database_url=alert_db, smtp_url=smtp_server.url,
                                           webhook_allow_networks="127.0.0.1/32", public_url="https://aqi.example"))
    with ctx.session() as session:
        for model in (DeliveryAttempt, OutboxMessage, AlertEvent, AlertSubscription, AlertCondition,
                      AlertEvaluation, Measurement, Forecast):
            session.execute(delete(model))
        session.commit()
    yield ctx
    ctx.close()


def station_id(ctx, code: str) -> int:
    with ctx.session() as session:
        return session.scalar(select(Station.id).where(Station.code == code))


def set_pm25(ctx, hour: datetime, values: dict[str, float]) -> None:
    """The 12 hours up to `hour` at a constant PM2.5 per station (its NowCast is then that value)."""
    rows = [{"station_id": station_id(ctx, code), "parameter": "pm25", "ts": hour - timedelta(hours=back),
             "value": value, "unit": "µg/m³", "quality": 0} for code, value in values.items() for back in range(12)]
    with ctx.engine.begin() as conn:
        upsert_measurements(conn, pd.DataFrame(rows))


def subscribe(ctx, email: str, category="Unhealthy for Sensitive Groups", kind="observed", **place) -> int:
    request = subscriptions.Request(email=email, webhook_url=None, city=place.get("city"),
                                    station_id=place.get("station_id"), standard="us_epa", category=category,
                                    kind=kind)
    view = subscriptions.subscribe(ctx, request)
    with ctx.session() as session:
        token = session.get(AlertSubscription, view["id"]).token
    assert subscriptions.confirm(ctx, token).status == "active"
    return view["id"]


def events(ctx, subscription: int) -> list[tuple[str, int]]:
    with ctx.session() as session:
        return [(e.kind, e.category) for e in session.scalars(
            select(AlertEvent).where(AlertEvent.subscription_id == subscription).order_by(AlertEvent.id))]


def run_hours(ctx, start: datetime, series: list[float], code="TV-1") -> datetime:
    hour = start
    for value in series:
        set_pm25(ctx, hour, {code: value})
        ev.evaluate(ctx, hour)
        hour += timedelta(hours=1)
    return hour


def test_an_episode_alerts_once_and_a_flapping_station_does_not_spam(actx):
    sub = subscribe(actx, "a@example.org", station_id=station_id(actx, "TV-1"))
    run_hours(actx, T0, [MODERATE, USG, USG, MODERATE, USG, MODERATE, USG, MODERATE, MODERATE])
    assert events(actx, sub) == [("alert", 2), ("clear", 1)]


def test_all_clear_needs_two_hours_below_or_a_fall_of_two_categories(actx):
    sub = subscribe(actx, "b@example.org", station_id=station_id(actx, "TV-1"))
    end = run_hours(actx, T0, [USG, MODERATE])
    assert events(actx, sub) == [("alert", 2)]  # one hour below is not the end of the episode
    end = run_hours(actx, end, [MODERATE])
    assert events(actx, sub) == [("alert", 2), ("clear", 1)]
    run_hours(actx, end, [UNHEALTHY, GOOD])  # two categories below USG: clear at once
    assert events(actx, sub) == [("alert", 2), ("clear", 1), ("alert", 3), ("clear", 0)]


def test_hours_without_an_index_change_nothing(actx):
    sub = subscribe(actx, "c@example.org", station_id=station_id(actx, "TV-1"))
    end = run_hours(actx, T0, [USG])
    ev.evaluate(actx, end + timedelta(hours=5))  # no readings at all then: no index, no all clear
    with actx.session() as session:
        row = session.get(AlertSubscription, sub)
    assert row.episode_start is not None and row.below_hours == 0 and events(actx, sub) == [("alert", 2)]


def test_a_city_follows_its_worst_station_and_others_are_untouched(actx):
    city_sub = subscribe(actx, "d@example.org", city="Testville")
    other = subscribe(actx, "e@example.org", city="Otherton")
    set_pm25(actx, T0, {"TV-1": MODERATE, "TV-2": UNHEALTHY, "OT-1": MODERATE})
    assert ev.evaluate(actx, T0)["observed"] == 1
    assert events(actx, city_sub) == [("alert", 3)] and events(actx, other) == []


def test_an_hour_is_evaluated_once_even_when_asked_again(actx):
    sub = subscribe(actx, "f@example.org", station_id=station_id(actx, "TV-1"))
    set_pm25(actx, T0, {"TV-1": USG})
    assert ev.evaluate(actx, T0)["observed"] == 1
    assert ev.evaluate(actx, T0)["observed"] is None  # taken already
    with actx.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.dedupe_key.like("alert-event:%"))) == 1
    assert events(actx, sub) == [("alert", 2)]


def test_paused_and_pending_subscriptions_are_not_evaluated(actx):
    paused = subscribe(actx, "g@example.org", station_id=station_id(actx, "TV-1"))
    assert subscriptions.set_status(actx, paused, "pause")
    pending = subscriptions.subscribe(actx, subscriptions.Request(
        "h@example.org", None, None, station_id(actx, "TV-1"), "us_epa", "Moderate", "observed"))
    run_hours(actx, T0, [UNHEALTHY])
    assert events(actx, paused) == [] and events(actx, pending["id"]) == []


def test_the_alert_message_says_place_category_colour_advice_local_time_and_value(actx, smtp_server):
    sub = subscribe(actx, "i@example.org", station_id=station_id(actx, "TV-1"))
    run_hours(actx, T0, [UNHEALTHY])
    outbox.deliver_due(actx)
    alert = next(m for m in smtp_server.received if m["To"] == "i@example.org" and "Confirm" not in m["Subject"])
    text = alert.get_body(("plain",)).get_content()
    assert alert["Subject"] == "Station TV-1, Testville: air quality is Unhealthy"
    assert "NowCast index AQI 168" in text and "2026-11-20 07:00 EST" in text
    assert "Some members of the general public may experience health effects" in text
    assert "#FF0000" in alert.get_body(("html",)).get_content()
    with actx.session() as session:
        token = session.get(AlertSubscription, sub).token
    assert alert["List-Unsubscribe"] == f"<https://aqi.example/api/v1/alerts/unsubscribe/{token}>"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_confirmation_mail_carries_the_link_and_nothing_else_goes_before_it(actx, smtp_server):
    view = subscriptions.subscribe(actx, subscriptions.Request(
        "j@example.org", None, "Testville", None, "us_epa", "Unhealthy", "observed"))
    run_hours(actx, T0, [UNHEALTHY])
    outbox.deliver_due(actx)
    [confirmation] = [m for m in smtp_server.received if m["To"] == "j@example.org"]
    with actx.session() as session:
        token = session.get(AlertSubscription, view["id"]).token
    assert f"https://aqi.example/api/v1/alerts/confirm/{token}" in confirmation.get_body(("plain",)).get_content()
    assert view["status"] == "pending"


def forecast_rows(ctx, code: str, issued: datetime, pm25: float) -> None:
    with ctx.session() as session:
        for horizon in range(1, 73):
            for parameter, value in (("pm25", pm25), ("o3", 20.0)):
                session.add(Forecast(station_id=station_id(ctx, code), parameter=parameter, issued_at=issued,
                                     horizon=horizon, target_ts=issued + timedelta(hours=horizon), p10=value,
                                     p50=value, p90=value, model_version="t"))
        session.commit()


def test_forecast_alerts_once_a_day_in_the_morning_for_tomorrow(actx):
    sub = subscribe(actx, "k@example.org", category="Unhealthy", kind="forecast", city="Testville")
    calm = subscribe(actx, "l@example.org", category="Very Unhealthy", kind="forecast", city="Testville")
    before = T0 - timedelta(hours=1)  # 06:00 in New York: before the morning window
    forecast_rows(actx, "TV-1", before, UNHEALTHY)
    assert ev.evaluate(actx, before)["forecast"] == 0
    forecast_rows(actx, "TV-1", T0, UNHEALTHY)
    assert ev.evaluate(actx, T0)["forecast"] == 1
    forecast_rows(actx, "TV-1", T0 + timedelta(hours=1), UNHEALTHY)
    assert ev.evaluate(actx, T0 + timedelta(hours=1))["forecast"] == 0  # that day is done
    with actx.session() as session:
        [event] = session.scalars(select(AlertEvent).where(AlertEvent.subscription_id == sub)).all()
        row = session.get(AlertSubscription, sub)
    assert (event.kind, event.category, event.value) == ("forecast", 3, 168.0)
    assert messages.facts(actx, event, row)["forecast_day"] == "2026-11-21"
    assert events(actx, calm) == []


def test_four_workers_evaluating_and_delivering_the_same_hours_send_each_message_once(actx, smtp_server, alert_db):
    addresses = [f"w{n}@example.org" for n in range(20)]
    for n, address in enumerate(addresses):
        subscribe(actx, address, **({"city": "Testville"} if n % 2 else {"station_id": station_id(actx, "TV-2")}))
    outbox.deliver_due(actx, limit=1000)  # the confirmations
    smtp_server.received.clear()
    # Unhealthy until T0 + 1 h, then clean air: the NowCast falls over the following hours.
    set_pm25(actx, T0 + timedelta(hours=1), {"TV-2": UNHEALTHY, "TV-1": GOOD})
    set_pm25(actx, T0 + timedelta(hours=13), {"TV-2": GOOD, "TV-1": GOOD})
    hours = [T0 + timedelta(hours=h) for h in range(14)]
    barrier = threading.Barrier(4)
    errors = []

    def worker() -> None:
        ctx = context.build(actx.settings)  # its own engine and pool
        try:
            barrier.wait()
            for hour in hours:
                ev.evaluate(ctx, hour)
                outbox.deliver_due(ctx, limit=7)
            while outbox.deliver_due(ctx, limit=7)["claimed"]:
                pass
        except Exception as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            ctx.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent = Counter((m["To"], m["Subject"].split(": ", 1)[1]) for m in smtp_server.received)
    assert len(sent) == 40 and set(sent.values()) == {1}  # an alert and an all clear each, none twice
    with actx.session() as session:
        assert set(session.scalars(select(OutboxMessage.state))) == {"sent"}


def test_on_sqlite_the_same_episode_is_alerted_cleared_and_delivered_once(sqlite_ctx, smtp_server):
    ctx = context.build(sqlite_ctx.settings.model_copy(update={"smtp_url": smtp_server.url}), engine=sqlite_ctx.engine)
    add_places(ctx)
    sub = subscribe(ctx, "lite@example.org", station_id=station_id(ctx, "TV-1"))
    run_hours(ctx, T0, [USG, MODERATE, MODERATE])
    assert ev.evaluate(ctx, T0)["observed"] is None  # an older hour than one already evaluated
    assert events(ctx, sub) == [("alert", 2), ("clear", 1)]
    assert outbox.deliver_due(ctx)["sent"] == 3  # the confirmation, the alert and the all clear
    assert outbox.deliver_due(ctx)["claimed"] == 0
    assert sorted(m["Subject"] for m in smtp_server.received) == [
        "Confirm air-quality alerts for Station TV-1, Testville",
        "Station TV-1, Testville: air quality is Unhealthy for Sensitive Groups",
        "Station TV-1, Testville: all clear, air quality is back below Unhealthy for Sensitive Groups"]


def test_the_beat_runs_alerts_at_25_and_delivery_every_five_minutes_unless_disabled(pg_context):
    entries = schedule.beat_schedule(pg_context())
    assert entries["public-alerts"]["schedule"].minute == {25} and entries["public-alerts"]["args"] == ("alerts",)
    assert entries["alert-delivery"]["schedule"] == 300
    assert not {"public-alerts", "alert-delivery"} & set(schedule.beat_schedule(pg_context(alerts_enabled=False)))


def test_the_alerts_job_evaluates_the_newest_hour_and_sends_as_a_job_run(actx, smtp_server):
    subscribe(actx, "job@example.org", station_id=station_id(actx, "TV-1"))
    set_pm25(actx, T0, {"TV-1": UNHEALTHY})
    run = runner.get_run(actx.engine, schedule.run_scheduled(actx, "alerts"))
    assert run["status"] == "succeeded" and run["summary"]["observed"] == 1
    assert run["summary"]["delivery"]["sent"] == 2  # the confirmation and the alert
    assert sum(m["To"] == "job@example.org" for m in smtp_server.received) == 2


def webhook_subscription(ctx, url: str) -> dict:
    return subscriptions.subscribe(ctx, subscriptions.Request(None, url, None, station_id(ctx, "TV-1"), "us_epa",
                                                              "Unhealthy for Sensitive Groups", "observed"))


def test_a_webhook_alert_is_signed_with_the_secret_shown_at_subscription(actx, httpserver):
    received = []
    httpserver.expect_request("/portal").respond_with_handler(
        lambda request: received.append((request.headers["X-AQI-Signature"], request.get_data())) or Response("ok"))
    view = webhook_subscription(actx, httpserver.url_for("/portal"))
    run_hours(actx, T0, [UNHEALTHY])
    assert outbox.deliver_due(actx)["sent"] == 1
    [(header, body)] = received
    stamp, digest = (part.split("=", 1)[1] for part in header.split(","))
    assert hmac.compare_digest(digest, hmac.new(view["secret"].encode(), f"{stamp}.".encode() + body,
                                                hashlib.sha256).hexdigest())
    alert = json.loads(body)
    assert (alert["event"], alert["category"], alert["color"], alert["value"]) == ("alert", "Unhealthy", "#FF0000",
                                                                                    168.0)
    assert alert["local_time"] == "2026-11-20 07:00 EST" and alert["place"] == "Station TV-1, Testville"


def test_a_webhook_host_that_turned_private_is_refused_at_delivery(actx, httpserver):
    httpserver.expect_request("/portal").respond_with_data("ok")
    webhook_subscription(actx, httpserver.url_for("/portal"))  # allowed then (webhook_allow_networks)
    run_hours(actx, T0, [UNHEALTHY])
    strict = context.build(actx.settings.model_copy(update={"webhook_allow_networks": ""}), engine=actx.engine)
    assert outbox.deliver_due(strict)["failed"] == 1
    assert httpserver.log == []
    with actx.session() as session:
        assert "non-public address" in session.scalar(select(OutboxMessage.last_error))


def test_the_feeds_list_the_alerts_newest_first(actx):
    sub = subscribe(actx, "feed@example.org", station_id=station_id(actx, "TV-1"))
    run_hours(actx, T0, [UNHEALTHY, GOOD])
    with actx.session() as session:
        token = session.get(AlertSubscription, sub).token
    feed = feeds.json_feed(actx, token)
    assert [item["_aqi"]["event"] for item in feed["items"]] == ["clear", "alert"]
    assert feed["items"][1]["title"] == "Station TV-1, Testville: air quality is Unhealthy"
    atom = ElementTree.fromstring(feeds.atom_feed(actx, token))
    titles = [e.text for e in atom.iter("{http://www.w3.org/2005/Atom}title")]
    assert titles[1:] == [item["title"] for item in feed["items"]]
    assert feeds.json_feed(actx, "x" * 43) is None

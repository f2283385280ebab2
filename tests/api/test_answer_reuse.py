"""Reused current-AQI answers: byte for byte what a freshly built answer sends, and never older than the cache."""
from __future__ import annotations

import pytest

from core.snapshots import current

CURRENT = "/api/v1/aqi/current?city=London"
SENT = ("ETag", "Cache-Control", "Content-Type", "Content-Encoding", "Vary")


@pytest.fixture()
def fresh_and_reused(app_with):
    """Two apps on the same data: one builds every answer, one reuses its answers."""
    return (app_with(api_answer_reuse_s=0).server.test_client(),
            app_with(api_answer_reuse_s=60).server.test_client())


def sent(response) -> tuple:
    return response.status_code, response.get_data(), tuple(response.headers.get(h) for h in SENT)


@pytest.mark.parametrize("headers", [{}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "br"},
                                     {"Accept-Encoding": "gzip;q=0.5, br;q=0.1"}])
def test_a_reused_answer_is_what_a_fresh_one_sends(fresh_and_reused, headers):
    fresh, reused = fresh_and_reused
    first = sent(reused.get(CURRENT, headers=headers))
    again = sent(reused.get(CURRENT, headers=headers))  # from the kept answer
    assert first == again == sent(fresh.get(CURRENT, headers=headers))


@pytest.mark.parametrize("encoding", [None, "gzip", "br"])
def test_a_reused_answer_revalidates_with_its_etag(fresh_and_reused, encoding):
    fresh, reused = fresh_and_reused
    headers = {"Accept-Encoding": encoding} if encoding else {}
    etag = reused.get(CURRENT, headers=headers).headers["ETag"]
    for client in (reused, fresh):
        response = client.get(CURRENT, headers={**headers, "If-None-Match": etag})
        assert response.status_code == 304 and response.get_data() == b""
    assert reused.get(CURRENT, headers={**headers, "If-None-Match": '"other"'}).status_code == 200


def test_a_changed_cache_entry_is_served_at_once(app_with):
    server = app_with(api_answer_reuse_s=60).server
    ctx, client = server.extensions["aqi"], server.test_client()
    before = client.get(CURRENT).get_json()
    snapshot = current(ctx, "us_epa", "London")
    changed = {**snapshot, "stations": snapshot["stations"][:1]}
    ctx.cache.set("current_aqi", ctx.cache.key("current_aqi", "us_epa", "London"), changed)
    after = client.get(CURRENT).get_json()
    assert before["meta"]["found"] > 1 and after["meta"]["found"] == 1


def test_an_invalid_query_is_refused_every_time(fresh_and_reused):
    _fresh, reused = fresh_and_reused
    assert reused.get(CURRENT).status_code == 200
    for path in ("/api/v1/aqi/current?city=Nowhere", "/api/v1/aqi/current?city=London&city=London",
                 "/api/v1/aqi/current?city=London&limit=5000"):
        assert [reused.get(path).status_code for _ in range(2)] in ([404, 404], [400, 400])


def test_the_kept_answers_stay_within_their_count_and_bytes(app_with, monkeypatch):
    from dashboard.api import responses

    monkeypatch.setattr(responses, "MAX_ANSWERS", 3)
    app = app_with(api_answer_reuse_s=60)
    client = app.server.test_client()
    queries = [f"{CURRENT}&standard={s}" for s in ("us_epa", "india_naqi", "eea")] + [
        f"{CURRENT}&format=geojson", f"{CURRENT}&format=json"]  # the same answers asked for differently
    for query in queries:
        assert client.get(query).status_code == 200
        assert len(app.server.extensions[responses.ANSWERS]) <= 3
    monkeypatch.setattr(responses, "MAX_ANSWER_BYTES", 1)  # every body is over it: nothing piles up
    for query in queries:
        assert client.get(query).status_code == 200
        assert len(app.server.extensions[responses.ANSWERS]) <= 1

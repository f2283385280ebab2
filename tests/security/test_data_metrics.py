"""Clients cannot choose metric names, and /metrics answers only internal addresses or the bearer token."""
import json

import httpx

from core.metrics import OTHER, LocalSink, MetricsStore


def _junk_callback(base: str, n: int) -> httpx.Response:
    body = {"output": f"junk-{n}.children", "outputs": {"id": f"junk-{n}", "property": "children"},
            "inputs": [], "state": [], "changedPropIds": []}
    return httpx.post(f"{base}/_dash-update-component", content=json.dumps(body),
                      headers={"Content-Type": "application/json"})


def test_junk_callback_outputs_are_timed_as_one_unknown_name(live_server):
    base = live_server()
    for n in range(30):
        assert _junk_callback(base, n).status_code in (403, 404)
    text = httpx.get(f"{base}/metrics").text
    assert "junk-" not in text
    assert 'kind="callback",name="unknown"' in text


def test_distinct_names_per_kind_are_capped():
    store = MetricsStore(LocalSink(), max_names=3)
    for n in range(10):
        store.record("db", f"query-{n}", 1.0)
    names = {row["name"] for row in store.summary("db")}
    assert names == {"query-0", "query-1", "query-2", OTHER}
    assert next(r for r in store.summary("db") if r["name"] == OTHER)["count"] == 7


def test_metrics_need_an_internal_address_or_the_token(live_server):
    assert httpx.get(f"{live_server()}/metrics").status_code == 200  # 127.0.0.1 is internal by default
    base = live_server(metrics_allow="10.0.0.0/8", metrics_token="s3cret-token")
    refused = httpx.get(f"{base}/metrics")
    assert refused.status_code == 403 and "aqi_latency" not in refused.text
    assert httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    allowed = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert allowed.status_code == 200 and "aqi_latency_seconds" in allowed.text

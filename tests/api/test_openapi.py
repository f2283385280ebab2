"""The OpenAPI document at /api/v1/openapi.json and its HTML rendering at /api/v1/docs."""
from __future__ import annotations

import re

import jsonschema_rs
import pytest
# The OpenAPI 3.1 meta-schema as schemathesis (a test dependency) ships it: no network needed.
from schemathesis.specs.openapi.definitions import OPENAPI_31

from dashboard.api.docs import inline_markup


@pytest.fixture(scope="module")
def document(app) -> dict:
    response = app.server.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def api_rules(app) -> set[str]:
    """Every route the server mounts under /api/v1, in OpenAPI path syntax (the JSON 404 catch-all aside)."""
    return {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.server.url_map.iter_rules()
            if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.not_found"}


def operations(document: dict):
    """(path, method, operation) for every operation in the document."""
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    jsonschema_rs.validator_for(OPENAPI_31).validate(document)
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name
    for path, _method, op in operations(document):
        for parameter in op["parameters"]:
            assert jsonschema_rs.meta.is_valid(parameter["schema"]), (path, parameter["name"])


def test_the_document_lists_every_route_the_server_mounts(app, document):
    assert set(document["paths"]) == api_rules(app)
    assert {"/api/v1/cities", "/api/v1/stations", "/api/v1/stations/{station_id}",
            "/api/v1/stations/{station_id}/measurements", "/api/v1/aqi/current", "/api/v1/aqi/calculate",
            "/api/v1/aqi/nowcast", "/api/v1/openapi.json", "/api/v1/docs", "/api/v1/metrics", "/api/v1/jobs",
            "/api/v1/jobs/runs", "/api/v1/jobs/runs/{run_id}", "/api/v1/jobs/{job}/start",
            "/api/v1/jobs/runs/{run_id}/cancel", "/api/v1/stations/{station_id}/forecast",
            "/api/v1/alerts/subscriptions", "/api/v1/alerts/confirm/{token}", "/api/v1/alerts/unsubscribe/{token}",
            "/api/v1/alerts/feeds/{token}.json", "/api/v1/alerts/feeds/{token}.atom"} == set(document["paths"])
    actions = {(path, method) for path, method, _ in operations(document) if method != "get"}
    assert actions == {("/api/v1/jobs/{job}/start", "post"), ("/api/v1/jobs/runs/{run_id}/cancel", "post"),
                       ("/api/v1/alerts/subscriptions", "post"), ("/api/v1/alerts/confirm/{token}", "post"),
                       ("/api/v1/alerts/unsubscribe/{token}", "post")}


def test_role_protected_operations_say_so(document):
    protected = {path for path, _method, op in operations(document) if op.get("security")}
    assert protected == {p for p in document["paths"] if p.startswith(("/api/v1/jobs", "/api/v1/metrics"))}
    for path, _method, op in operations(document):
        if op.get("security"):
            assert {"401", "403"} <= set(op["responses"]), path


def test_every_operation_documents_success_rate_limit_and_the_error_shape(document):
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, method, op in operations(document):
        responses = op["responses"]
        success = "202" if (path, method) == ("/api/v1/alerts/subscriptions", "post") else "200"  # accepted, pending
        assert {success, "429"} <= set(responses), path
        if method == "get":
            assert "304" in responses, path
        for status, response in responses.items():
            if status.startswith("4"):
                assert response["content"]["application/json"]["schema"] == error, (path, status)
        assert "X-RateLimit-Remaining" in responses[success]["headers"]


def test_parameters_come_from_the_query_models(document):
    stations = {p["name"]: p for p in document["paths"]["/api/v1/stations"]["get"]["parameters"]}
    assert stations["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    assert stations["format"]["schema"]["enum"] == ["json", "geojson"]
    assert stations["bbox"]["description"] and not stations["bbox"]["required"]
    measurements = {p["name"]: p for p in
                    document["paths"]["/api/v1/stations/{station_id}/measurements"]["get"]["parameters"]}
    assert measurements["station_id"]["in"] == "path" and measurements["station_id"]["required"]
    assert measurements["from"]["schema"] == {"type": "string", "format": "date-time"}
    assert measurements["parameter"]["schema"]["enum"] == ["pm25", "pm10", "o3", "no2", "so2", "co"]
    calculate = {p["name"]: p for p in document["paths"]["/api/v1/aqi/calculate"]["get"]["parameters"]}
    assert calculate["standard"]["required"] and not calculate["unit"]["required"]


def test_each_format_has_its_own_media_type(document):
    def media(path: str) -> set[str]:
        return set(document["paths"][path]["get"]["responses"]["200"]["content"])

    assert media("/api/v1/stations") == {"application/json", "application/geo+json"}
    assert media("/api/v1/aqi/current") == {"application/json", "application/geo+json"}
    assert media("/api/v1/stations/{station_id}/measurements") == {"application/json", "text/csv"}
    assert media("/api/v1/docs") == {"text/html"}


def test_docs_page_renders_every_endpoint_and_schema_without_scripts(client, document):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<h1>AQI Predictor API" in page
    for path, _method, op in operations(document):
        assert f'<span class="path">{path}</span>' in page
        assert f'id="{op["operationId"]}"' in page
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert "Rows per page, 1 to 1000" in page  # parameter descriptions from the models
    # Offline: no scripts, nothing fetched from elsewhere.
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_docs_show_code_spans_and_escape_markup():
    assert str(inline_markup("<b>`limit`</b>")) == "&lt;b&gt;<code>limit</code>&lt;/b&gt;"


def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(client):
    response = client.delete("/api/v1/aqi/current")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]

"""The one access table: every callback and API route has a role, and whatever has none is refused."""
import base64
import json
import uuid

import pytest
from dash import Input, Output

from core.users import create_user
from dashboard import access, create_app

PASSWORD = "correct horse battery"


@pytest.fixture()
def served(app):
    """The shared app after its first request: Dash moves the page callbacks into callback_map then."""
    app.server.test_client().get("/")
    return app


def basic(name: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


def dispatch(client, output: str, value="x", **kwargs):
    component, prop = output.split(".")
    body = {"output": output, "outputs": {"id": component, "property": prop},
            "inputs": [{"id": "stray-in", "property": "value", "value": value}], "state": [],
            "changedPropIds": ["stray-in.value"]}
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json", **kwargs)


def test_every_callback_belongs_to_an_entry_with_a_role(served):
    table = access.table(served)
    owned = {key: entry.access for entry in table.values() for key in entry.callbacks}
    server_side = [key for key, spec in served.callback_map.items() if "callback" in spec]
    assert {"admin-notice.children", "nav-collapse.is_open"} <= set(server_side)  # pages' and the shell's
    assert [key for key in server_side if key not in owned] == []
    # The admin page follows access_admin, but its job buttons change state: always an admin.
    poll = next(key for key in owned if "admin-history.children" in key)
    assert owned[poll] == "access_admin" and owned["nav-collapse.is_open"] == "public"
    assert owned["admin-notice.children"] == "admin"


def test_every_api_route_has_a_role(served):
    table = access.table(served)
    rules = [rule for rule in served.server.url_map.iter_rules() if rule.rule.startswith("/api/")]
    assert len(rules) > 10
    assert [rule.rule for rule in rules if rule.endpoint not in table] == []


def test_starting_and_cancelling_jobs_need_an_admin_whatever_the_admin_page_allows(app_with, seeded_pg):
    relaxed = app_with(access_admin="operator")
    table = access.table(relaxed)
    assert table["api.start_job"].access == table["api.cancel_run"].access == "admin"
    name = f"operator-{uuid.uuid4().hex[:6]}"
    create_user(seeded_pg, name, "operator", PASSWORD)
    client = relaxed.server.test_client()
    assert client.get("/api/v1/jobs", headers=basic(name)).status_code == 200  # reading follows the setting
    refused = client.post("/api/v1/jobs/db_settings/start", headers=basic(name))
    assert refused.status_code == 403 and set(refused.get_json()["error"]) == {"code", "message"}


def test_a_callback_without_a_role_is_refused(served, pg_context):
    app = create_app(ctx=pg_context())
    app.callback(Output("stray-out", "children"), Input("stray-in", "value"))(lambda value: f"ran {value}")
    app.callback(Output("open-out", "children"), Input("stray-in", "value"))(access.public(lambda value: value))
    client = app.server.test_client()
    refused = dispatch(client, "stray-out.children")
    assert refused.status_code == 403
    assert refused.get_json()["error"] == {"code": "forbidden", "message": "no access rule covers this callback"}
    assert dispatch(client, "open-out.children", "y").status_code == 200  # the same callback with a role runs


def test_a_callback_added_after_the_first_request_is_refused_too(served, pg_context):
    app = create_app(ctx=pg_context())
    client = app.server.test_client()
    client.get("/")
    app.callback(Output("late-out", "children"), Input("stray-in", "value"))(lambda value: value)
    assert dispatch(client, "late-out.children").status_code == 403


def test_an_output_no_callback_has_is_refused(client):
    assert dispatch(client, "nobody-has-this.children").status_code == 403

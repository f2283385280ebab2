"""Mounted under a URL prefix, the app still refuses callbacks to whoever lacks their page's role."""
import json

import dash
import pytest
from dash import Input, Output, html
from flask import Flask

from core.settings import ROOT
from dashboard import access, auth
from dashboard.context import EXTENSION


@pytest.fixture()
def mounted(app, pg_context):
    """The pages served under /aqi/, as behind a proxy that mounts the dashboard there."""
    app.server.test_client().get("/")  # the shared app takes its page callbacks before these pages re-register
    saved = {module: dict(page) for module, page in dash.page_registry.items()}
    server = Flask(__name__)
    server.extensions[EXTENSION] = pg_context()
    auth.init_app(server)
    # Named like the factory's app, so the page modules keep their names (dashboard.pages.*); no MCP server,
    # so the callback endpoint under the prefix is the only way in.
    mounted = dash.Dash("dashboard", server=server, use_pages=True, pages_folder=str(ROOT / "dashboard" / "pages"),
                        routes_pathname_prefix="/aqi/", requests_pathname_prefix="/aqi/", enable_mcp=False,
                        suppress_callback_exceptions=True)
    mounted.layout = html.Div(dash.page_container)
    mounted.callback(Output("open-out", "children"), Input("open-in", "value"))(access.public(lambda value: value))
    access.init_app(mounted)
    yield mounted
    # The page registry is process-wide: give the shared app its own pages (and paths) back.
    dash.page_registry.clear()
    dash.page_registry.update(saved)


def dispatch(client, output: str, inputs: list, changed: str):
    component, prop = output.split(".")
    body = {"output": output, "outputs": {"id": component, "property": prop}, "inputs": inputs, "state": [],
            "changedPropIds": [changed]}
    return client.post("/aqi/_dash-update-component", data=json.dumps(body), content_type="application/json")


def test_an_anonymous_admin_callback_is_refused_under_a_prefix(mounted):
    client = mounted.server.test_client()
    run = [{"id": {"type": "admin-run", "job": "indexes"}, "property": "n_clicks", "value": 1}]
    refused = dispatch(client, "admin-notice.children", [run, []], '{"job":"indexes","type":"admin-run"}.n_clicks')
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    answered = dispatch(client, "open-out.children", [{"id": "open-in", "property": "value", "value": "hi"}],
                        "open-in.value")
    assert answered.status_code == 200 and "hi" in answered.get_data(as_text=True)

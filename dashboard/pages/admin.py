"""Admin: run the optimisation jobs, follow their progress, cancel them, read the history; the forecast model's
versions, which one serves, and a refused one."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from core.forecast import versions
from core.jobs import runner
from core.jobs.registry import JOBS
from dashboard import access, context
from dashboard.auth import current_user
from dashboard.components.cards import job_card, job_progress
from dashboard.components.tables import job_history_table
from dashboard.ids import Admin, AdminModel

dash.register_page(__name__, path="/admin", name="Admin", title="Admin", access="access_admin", order=4)


def layout(pathname: str | None = None, **_query) -> html.Div:
    if pathname is None:  # Dash's validation layout (routing always passes the pathname)
        return skeleton()
    return skeleton()


def skeleton() -> html.Div:
    """A card per registered job and an empty history: the poll fills them."""
    return html.Div([
        html.H4("Admin"),
        dbc.Row([job_card(name, job) for name, job in JOBS.items()]),
        html.Div(id=Admin.NOTICE, className="mb-2"),
        html.H6("Forecast model"),
        html.Div(id=AdminModel.STATUS),
        html.Div(id=AdminModel.VERSIONS, className="mb-3"),
        html.H6("Job history"),
        html.Div(id=Admin.HISTORY),
        dcc.Interval(id=Admin.POLL, interval=1000),
        dcc.Interval(id=AdminModel.POLL, interval=3000),
    ])


@callback(Output(Admin.NOTICE, "children"),
          Input(Admin.job(Admin.RUN, ALL), "n_clicks"), Input(Admin.job(Admin.CANCEL, ALL), "n_clicks"),
          prevent_initial_call=True)
@access.requires("admin")  # it changes state: always an admin, whatever access_admin says
def act(_runs, _cancels):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered[0]["value"]:
        return no_update
    app, title = context.current(), JOBS[trigger["job"]].title
    if trigger["type"] == Admin.RUN:
        try:
            runner.start(app, trigger["job"], current_user.name)
            return dbc.Alert(f"{title} started.", color="info", duration=4000)
        except runner.AlreadyRunning as exc:
            return dbc.Alert(f"{exc}: wait for it to finish or cancel it.", color="warning", id=Admin.BUSY)
    run = runner.running(app.engine).get(trigger["job"])
    if run is None or not runner.request_cancel(app.engine, run["id"]):
        return dbc.Alert(f"{title} is not running.", color="secondary", duration=4000)
    return dbc.Alert(f"Cancelling {title} …", color="warning", duration=4000)


@callback(Output(Admin.job(Admin.PROGRESS, ALL), "value"), Output(Admin.job(Admin.PROGRESS, ALL), "label"),
          Output(Admin.job(Admin.PROGRESS, ALL), "color"), Output(Admin.job(Admin.STATE, ALL), "children"),
          Output(Admin.HISTORY, "children"),
          Input(Admin.POLL, "n_intervals"), State(Admin.job(Admin.RUN, ALL), "id"))
def poll(_tick, ids):
    history = runner.history(context.current().engine, limit=25)
    latest = {}
    for run in history:  # newest first: the first seen per job is its latest run
        latest.setdefault(run["job"], run)
    # One (value, label, colour, state) per card; the registry always has jobs, so zip has columns to give.
    values, labels, colors, states = map(list, zip(*[job_progress(latest.get(spec["job"])) for spec in ids]))
    return values, labels, colors, states, job_history_table(history)


@callback(Output(AdminModel.STATUS, "children"), Output(AdminModel.VERSIONS, "children"),
          Input(AdminModel.POLL, "n_intervals"))
def model_versions(_tick):
    models = context.current().models
    status = models.status()
    return model_status(status), versions_table(versions.listing(models.directory), status["version"])


def model_status(status: dict) -> dbc.Alert:
    """Which version serves; a promoted version that was refused, and why, in its own alert."""
    if status["status"] != "ok":
        return dbc.Alert(status["message"], color="warning", className="small py-2")
    refused = status["refused"]
    serving = html.Div(f"Serving version {status['version']}.")
    if refused is None:
        return dbc.Alert(serving, color="light", className="small py-2")
    return dbc.Alert([serving, html.Div(f"Version {refused['version']} was promoted but refused "
                                        f"({refused['status']}): {refused['message']}")],
                     color="danger", className="small py-2")


def versions_table(rows: list[dict], serving: str | None):
    """Every model version, newest first: trained at, data range, held-out MAE, promoted and serving, refusal."""
    if not rows:
        return html.P("No model version on disk yet.", className="text-muted small")

    def mae(values: dict) -> str:
        return " · ".join(f"{t} {'—' if v is None else f'{v:.2f}'}" for t, v in values.items()) or "—"

    def span(data_range: dict | None) -> str:
        return "—" if not data_range else f"{data_range['start'][:10]} … {data_range['end'][:10]}"

    body = [html.Tr([html.Td(r["version"]), html.Td((r["trained_at"] or "—")[:16].replace("T", " ")),
                     html.Td(span(r["data_range"])), html.Td(mae(r["held_out_mae"])),
                     html.Td([dbc.Badge("promoted", color="primary", className="me-1") if r["promoted"] else "",
                              dbc.Badge("serving", color="success") if r["version"] == serving else ""]),
                     html.Td(r["problem"] or "", className="small text-danger text-break")]) for r in rows]
    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in (
        "Version", "Trained (UTC)", "Data", "Held-out MAE (mean over horizons)", "State", "Refused because")]))
    return dbc.Table([head, html.Tbody(body)], size="sm", className="small", id=AdminModel.VERSIONS_TABLE)

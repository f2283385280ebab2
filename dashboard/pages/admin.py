"""Admin: run the optimisation jobs, follow their progress, cancel them, read the history."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from core.jobs import runner
from core.jobs.registry import JOBS
from dashboard import access, context
from dashboard.auth import current_user
from dashboard.components.cards import job_card, job_progress
from dashboard.components.tables import job_history_table
from dashboard.ids import Admin

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
        html.H6("Job history"),
        html.Div(id=Admin.HISTORY),
        dcc.Interval(id=Admin.POLL, interval=1000),
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

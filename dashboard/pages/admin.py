"""Admin: run the optimisation jobs, follow their progress, cancel them, read the history."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from core.db.engine import get_engine
from core.jobs import runner
from core.jobs.registry import JOBS
from core.settings import get_settings
from dashboard.auth import current_user, may, sign_in_prompt

dash.register_page(__name__, path="/admin", name="Admin", title="Admin", access="access_admin", order=4)

STATUS_COLORS = {"running": "info", "succeeded": "success", "failed": "danger", "cancelled": "secondary"}


def layout(**_query) -> html.Div:
    if not may("access_admin"):
        return sign_in_prompt("the admin page", get_settings().access_admin, "/admin")
    cards = [dbc.Col(dbc.Card(dbc.CardBody([
        html.H6(job.title), html.P(job.description, className="small text-muted"),
        dbc.Button("Run", id={"type": "admin-run", "job": name}, color="primary", size="sm", className="me-2"),
        dbc.Button("Cancel", id={"type": "admin-cancel", "job": name}, color="secondary", size="sm",
                   outline=True),
        dbc.Progress(id={"type": "admin-progress", "job": name}, value=0, className="mt-2", style={"height": "18px"}),
        html.Div(id={"type": "admin-state", "job": name}, className="small mt-1"),
    ])), md=6, xl=3, className="mb-2") for name, job in JOBS.items()]
    return html.Div([
        html.H4("Admin"),
        dbc.Row(cards),
        html.Div(id="admin-notice", className="mb-2"),
        html.H6("Job history"),
        html.Div(id="admin-history"),
        dcc.Interval(id="admin-poll", interval=1000),
    ])


@callback(Output("admin-notice", "children"),
          Input({"type": "admin-run", "job": ALL}, "n_clicks"), Input({"type": "admin-cancel", "job": ALL}, "n_clicks"),
          prevent_initial_call=True)
def act(_runs, _cancels):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered[0]["value"]:
        return no_update
    engine = get_engine()
    job = trigger["job"]
    if trigger["type"] == "admin-run":
        try:
            runner.start(engine, job, current_user.name)
            return dbc.Alert(f"{JOBS[job].title} started.", color="info", duration=4000)
        except runner.AlreadyRunning as exc:
            return dbc.Alert(f"{exc}: wait for it to finish or cancel it.", color="warning", id="admin-busy")
    run = runner.running(engine).get(job)
    if run is None or not runner.request_cancel(engine, run["id"]):
        return dbc.Alert(f"{JOBS[job].title} is not running.", color="secondary", duration=4000)
    return dbc.Alert(f"Cancelling {JOBS[job].title} …", color="warning", duration=4000)


@callback(Output({"type": "admin-progress", "job": ALL}, "value"), Output({"type": "admin-progress", "job": ALL}, "label"),
          Output({"type": "admin-progress", "job": ALL}, "color"), Output({"type": "admin-state", "job": ALL}, "children"),
          Output("admin-history", "children"),
          Input("admin-poll", "n_intervals"), State({"type": "admin-run", "job": ALL}, "id"))
def poll(_tick, ids):
    engine = get_engine()
    history = runner.history(engine, limit=25)
    latest = {}
    for run in history:  # newest first: the first seen per job is its latest run
        latest.setdefault(run["job"], run)
    values, labels, colors, states = [], [], [], []
    for spec in ids:
        run = latest.get(spec["job"])
        if run is None:
            values.append(0), labels.append(""), colors.append("info"), states.append("Never run.")
            continue
        values.append(round(run["progress"] * 100))
        labels.append(f"{run['progress']:.0%}" if run["status"] == "running" else run["status"])
        colors.append(STATUS_COLORS.get(run["status"], "info"))
        states.append(f"{run['status'].capitalize()} · {run['message']}" if run["status"] == "running"
                      else f"Last: {run['status']} {run['finished_at']:%Y-%m-%d %H:%M} UTC · {run['message']}")
    return values, labels, colors, states, _history_table(history)


def _history_table(history: list[dict]):
    if not history:
        return html.P("No job has run yet.", className="text-muted small")
    rows = [html.Tr([html.Td(r["id"]), html.Td(r["title"]), html.Td(r["started_by"]),
                     html.Td(f"{r['started_at']:%Y-%m-%d %H:%M:%S}"),
                     html.Td("—" if r["duration_s"] is None else f"{r['duration_s']:g} s"),
                     html.Td(dbc.Badge(r["status"], color=STATUS_COLORS.get(r["status"], "info"))),
                     html.Td(_summary(r), className="small text-break")]) for r in history]
    head = html.Thead(html.Tr([html.Th(h) for h in ("#", "Job", "By", "Started (UTC)", "Took", "Outcome",
                                                    "Summary")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", className="small", id="admin-history-table")


def _summary(run: dict) -> str:
    summary = run["summary"]
    if not summary:
        return run["message"]
    if "indexes" in summary:
        made = [i["index"] for i in summary["indexes"] if i["outcome"] == "created"]
        timing = "; ".join(f"{q['query']} {q['before_ms']} → {q['after_ms']} ms" for q in summary["queries"])
        return f"created: {', '.join(made) or 'none (all there)'}. {timing}"
    if "namespaces" in summary:
        return "; ".join(f"{n['namespace']}: {n['entries']} in {n['seconds']} s" for n in summary["namespaces"])
    if "version" in summary:
        verdict = "beats both baselines" if summary["beats_baselines"] else "does not beat both baselines"
        return f"model {summary['version']} ({verdict})"
    if "server" in summary:
        return (f"{len(summary['server'])} server settings checked; restart needed for: "
                f"{', '.join(summary['needs_restart']) or 'none'}")
    return str(summary)[:200]

"""Operator panel: latency, cache and pool figures against their thresholds, the same from every worker, each
with its alert rule's state, Silence and Acknowledge."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, callback, ctx, dcc, html, no_update

from core.alerts import operator
from core.feeds import freshness
from core.thresholds import LATENCY_CHECKS, snapshot
from dashboard import access, context
from dashboard.auth import current_user
from dashboard.components.alerting import (
    SILENCE_LABELS,
    alert_history_table,
    alert_state_line,
    alerting_tile,
    can_acknowledge,
)
from dashboard.components.cards import perf_tile_body, perf_tile_border
from dashboard.components.tables import breaches_table, cache_table, timer_table
from dashboard.ids import Perf, PerfAlert

dash.register_page(__name__, path="/performance", name="Performance", title="Performance",
                   access="access_performance", order=3)

TILES = [key for key, *_ in LATENCY_CHECKS] + ["cache_hit_rate", "db_pool"]
REPLICA_TILE = "db_replica"  # shown when a read replica is configured (AQI_DATABASE_READ_URL)
WINDOWS_S = (300, 3600)  # the window choices; anything else a client sends reads as the first


def layout(pathname: str | None = None, **_query) -> html.Div:
    if pathname is None:  # Dash's validation layout (routing always passes the pathname)
        return skeleton()
    settings = context.settings()
    tiles = TILES + [REPLICA_TILE] if settings.database_read_url else TILES
    return skeleton(settings.panel_refresh_s * 1000, tiles)


def skeleton(refresh_ms: int = 5000, tiles: list[str] = TILES) -> html.Div:
    """The panel with empty tiles and tables: the first refresh fills them."""
    return html.Div([
        dbc.Row([
            dbc.Col(html.H4("Performance", className="mb-0"), width="auto"),
            dbc.Col(dbc.RadioItems(id=Perf.WINDOW, value=WINDOWS_S[0], inline=True,
                                   options=[{"label": "Last 5 minutes", "value": WINDOWS_S[0]},
                                            {"label": "Last hour", "value": WINDOWS_S[1]}]), width="auto"),
            dbc.Col(html.Div(id=Perf.UPDATED, className="small text-muted"), className="text-end"),
        ], className="align-items-center mb-2"),
        html.Div(id=PerfAlert.NOTICE),
        dbc.Row([alerting_tile(key) for key in tiles]),
        dbc.Row([
            dbc.Col([html.H6("Breaches (last hour)"), html.Div(id=Perf.BREACHES)], lg=5),
            dbc.Col([html.H6("Cache by namespace"), html.Div(id=Perf.CACHE)], lg=7),
        ], className="mt-2"),
        html.H6("Alert history", className="mt-3"),
        html.Div(id=PerfAlert.HISTORY),
        html.H6("Timers", className="mt-3"),
        html.Div(id=Perf.TIMERS),
        dcc.Interval(id=Perf.REFRESH, interval=refresh_ms),
    ])


@callback(Output(Perf.tile(ALL), "children"), Output(Perf.tile(ALL), "style"),
          Output(PerfAlert.state(ALL), "children"), Output(PerfAlert.ack(ALL), "disabled"),
          Output(Perf.BREACHES, "children"), Output(Perf.CACHE, "children"), Output(Perf.TIMERS, "children"),
          Output(PerfAlert.HISTORY, "children"), Output(Perf.UPDATED, "children"),
          Input(Perf.WINDOW, "value"), Input(Perf.REFRESH, "n_intervals"))
def refresh(window_s: int, _tick):
    window_s = window_s if window_s in WINDOWS_S else WINDOWS_S[0]
    app = context.current()
    data = snapshot(app.settings, app.cache, window_s, freshness(app.engine))
    alerts = operator.panel_view(app)
    checks = {c["key"]: c for c in data["checks"]}
    shown = [checks[output["id"]["check"]] for output in ctx.outputs_list[0]]  # the tiles in page order
    rules = [alerts["rules"].get(c["key"]) for c in shown]
    labels = {key: (c["label"], c["unit"]) for key, c in checks.items()}
    return ([perf_tile_body(c) for c in shown], [perf_tile_border(c) for c in shown],
            [alert_state_line(r) for r in rules], [not can_acknowledge(r) for r in rules],
            breaches_table(data["breaches"]), cache_table(data["cache"]), timer_table(data["timers"]),
            alert_history_table(alerts["history"], labels),
            f"Updated {data['generated_at']} · every {app.settings.panel_refresh_s} s")


@callback(Output(PerfAlert.NOTICE, "children"),
          Input(PerfAlert.silence(ALL, ALL), "n_clicks"), Input(PerfAlert.ack(ALL), "n_clicks"),
          prevent_initial_call=True)
@access.requires("operator")  # it changes alerting state: an operator at least, whatever access_performance says
def act(_silences, _acks):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered[0]["value"]:
        return no_update
    check, app = trigger["check"], context.current()
    if check not in TILES and check != REPLICA_TILE:
        return dbc.Alert("Unknown check.", color="danger", duration=4000)
    try:
        if trigger["type"] == PerfAlert.ACK:
            operator.acknowledge(app, check, current_user.name)
            return dbc.Alert(f"Acknowledged {check}: no reminders until it resolves.", color="info", duration=6000)
        duration = trigger.get("duration")
        if duration not in SILENCE_LABELS:
            return dbc.Alert("Unknown silence duration.", color="danger", duration=4000)
        operator.silence(app, check, duration, current_user.name, "from the performance panel")
        return dbc.Alert(f"Silenced {check} ({SILENCE_LABELS[duration]}): its state still changes, nothing is sent.",
                         color="info", duration=6000)
    except operator.AlertActionError as exc:
        return dbc.Alert(str(exc), color="warning", duration=6000)

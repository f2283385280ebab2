"""Operator panel: latency, cache and pool figures against their thresholds, the same from every worker."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, callback, ctx, dcc, html

from core.feeds import freshness
from core.thresholds import LATENCY_CHECKS, snapshot
from dashboard import context
from dashboard.components.cards import perf_tile, perf_tile_body, perf_tile_border
from dashboard.components.tables import breaches_table, cache_table, timer_table
from dashboard.ids import Perf

dash.register_page(__name__, path="/performance", name="Performance", title="Performance",
                   access="access_performance", order=3)

TILES = [key for key, *_ in LATENCY_CHECKS] + ["cache_hit_rate", "db_pool"]


def layout(pathname: str | None = None, **_query) -> html.Div:
    if pathname is None:  # Dash's validation layout (routing always passes the pathname)
        return skeleton()
    return skeleton(context.settings().panel_refresh_s * 1000)


def skeleton(refresh_ms: int = 5000) -> html.Div:
    """The panel with empty tiles and tables: the first refresh fills them."""
    return html.Div([
        dbc.Row([
            dbc.Col(html.H4("Performance", className="mb-0"), width="auto"),
            dbc.Col(dbc.RadioItems(id=Perf.WINDOW, value=300, inline=True,
                                   options=[{"label": "Last 5 minutes", "value": 300},
                                            {"label": "Last hour", "value": 3600}]), width="auto"),
            dbc.Col(html.Div(id=Perf.UPDATED, className="small text-muted"), className="text-end"),
        ], className="align-items-center mb-2"),
        dbc.Row([perf_tile(key) for key in TILES]),
        dbc.Row([
            dbc.Col([html.H6("Breaches (last hour)"), html.Div(id=Perf.BREACHES)], lg=5),
            dbc.Col([html.H6("Cache by namespace"), html.Div(id=Perf.CACHE)], lg=7),
        ], className="mt-2"),
        html.H6("Timers", className="mt-3"),
        html.Div(id=Perf.TIMERS),
        dcc.Interval(id=Perf.REFRESH, interval=refresh_ms),
    ])


@callback(Output(Perf.tile(ALL), "children"), Output(Perf.tile(ALL), "style"),
          Output(Perf.BREACHES, "children"), Output(Perf.CACHE, "children"), Output(Perf.TIMERS, "children"),
          Output(Perf.UPDATED, "children"),
          Input(Perf.WINDOW, "value"), Input(Perf.REFRESH, "n_intervals"))
def refresh(window_s: int, _tick):
    app = context.current()
    data = snapshot(app.settings, app.cache, window_s, freshness(app.engine))
    checks = {c["key"]: c for c in data["checks"]}
    shown = [checks[output["id"]["check"]] for output in ctx.outputs_list[0]]  # the tiles in page order
    return ([perf_tile_body(c) for c in shown], [perf_tile_border(c) for c in shown],
            breaches_table(data["breaches"]), cache_table(data["cache"]), timer_table(data["timers"]),
            f"Updated {data['generated_at']} · every {app.settings.panel_refresh_s} s")

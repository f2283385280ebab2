"""Operator panel: latency, cache and pool figures against their thresholds, the same from every worker."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from core.settings import get_settings
from core.thresholds import LATENCY_CHECKS, snapshot
from dashboard.auth import may, sign_in_prompt
from dashboard.figures import STATUS_COLORS, format_figure, sparkline_figure

dash.register_page(__name__, path="/performance", name="Performance", title="Performance",
                   access="access_performance", order=3)

TILES = [key for key, *_ in LATENCY_CHECKS] + ["cache_hit_rate", "db_pool"]
STATUS_TEXT = {"ok": "OK", "warning": "Warning", "critical": "Critical", "no_data": "No data"}


def _tile(key: str) -> dbc.Col:
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(id=f"perf-{key}-label", className="small text-muted"),
        html.Div([html.Span(id=f"perf-{key}-value", className="perf-value"),
                  html.Span(id=f"perf-{key}-status", className="perf-status ms-2")]),
        dcc.Graph(id=f"perf-{key}-spark", config={"displayModeBar": False, "staticPlot": True},
                  style={"height": "60px"}),
        html.Div(id=f"perf-{key}-advice", className="small perf-advice"),
    ]), id=f"perf-{key}-card", className="h-100 perf-card"), xs=12, sm=6, xl=4, xxl=2, className="mb-2")


def layout(**_query) -> html.Div:
    if not may("access_performance"):
        return sign_in_prompt("the operator panel", get_settings().access_performance, "/performance")
    return html.Div([
        dbc.Row([
            dbc.Col(html.H4("Performance", className="mb-0"), width="auto"),
            dbc.Col(dbc.RadioItems(id="perf-window", value=300, inline=True,
                                   options=[{"label": "Last 5 minutes", "value": 300},
                                            {"label": "Last hour", "value": 3600}]), width="auto"),
            dbc.Col(html.Div(id="perf-updated", className="small text-muted"), className="text-end"),
        ], className="align-items-center mb-2"),
        dbc.Row([_tile(key) for key in TILES]),
        dbc.Row([
            dbc.Col([html.H6("Breaches (last hour)"), html.Div(id="perf-breaches")], lg=5),
            dbc.Col([html.H6("Cache by namespace"), html.Div(id="perf-cache")], lg=7),
        ], className="mt-2"),
        html.H6("Timers", className="mt-3"),
        html.Div(id="perf-timers"),
        dcc.Interval(id="perf-refresh", interval=get_settings().panel_refresh_s * 1000),
    ])


TILE_OUTPUTS = [Output(f"perf-{key}-{part}", prop) for key in TILES
                for part, prop in (("label", "children"), ("value", "children"), ("status", "children"),
                                   ("status", "style"), ("card", "style"), ("spark", "figure"),
                                   ("advice", "children"))]


@callback(*TILE_OUTPUTS, Output("perf-breaches", "children"), Output("perf-cache", "children"),
          Output("perf-timers", "children"), Output("perf-updated", "children"),
          Input("perf-window", "value"), Input("perf-refresh", "n_intervals"))
def refresh(window_s: int, _tick):
    data = snapshot(get_settings(), window_s)
    checks = {c["key"]: c for c in data["checks"]}
    tiles = []
    for key in TILES:
        c = checks[key]
        color = STATUS_COLORS[c["status"]]
        tiles += [c["label"], format_figure(c["value"], c["unit"]), STATUS_TEXT[c["status"]],
                  {"background": color, "color": "#000" if c["status"] == "warning" else "#fff"},
                  {"borderTop": f"5px solid {color}"}, sparkline_figure(c["series"], c["warn"], c["crit"], c["unit"]),
                  c["recommendation"]]
    return (*tiles, _breaches(data["breaches"]), _cache_table(data["cache"]), _timer_table(data["timers"]),
            f"Updated {data['generated_at']} · every {get_settings().panel_refresh_s} s")


def _breaches(rows: list[dict]):
    if not rows:
        return html.P("None in the last hour.", className="text-muted small")
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in ("Check", "Status", "Started", "Ended", "Worst")])),
                      html.Tbody([html.Tr([html.Td(b["label"]), html.Td(STATUS_TEXT[b["status"]]),
                                           html.Td(b["started"][11:16] + " UTC"),
                                           html.Td(b["ended"][11:16] + " UTC" if b["ended"] else "ongoing"),
                                           html.Td(format_figure(b["worst"], b["unit"]))]) for b in rows])],
                     size="sm", className="small")


def _cache_table(cache: dict):
    state = "up" if cache["up"] else "DOWN — serving from the database"
    rows = [html.Tr([html.Td(ns), html.Td(r["hits"]), html.Td(r["misses"]), html.Td(r["bypassed"]),
                     html.Td(format_figure(r["hit_rate"], "ratio"))]) for ns, r in cache["namespaces"].items()]
    return html.Div([html.Div(f"Backend: {cache['backend']} ({state})", className="small mb-1",
                              id="perf-cache-backend"),
                     dbc.Table([html.Thead(html.Tr([html.Th(h) for h in ("Namespace", "Hits", "Misses",
                                                                          "Bypassed", "Hit rate")])),
                                html.Tbody(rows)], size="sm", className="small")])


def _timer_table(timers: list[dict]):
    if not timers:
        return html.P("No samples in this window.", className="text-muted small")
    head = html.Thead(html.Tr([html.Th(h) for h in ("Kind", "Name", "Count", "p50", "p95", "p99", "Errors")]))
    body = html.Tbody([html.Tr([html.Td(t["kind"]), html.Td(t["name"], className="text-break"),
                                html.Td(t["count"])] + [html.Td(format_figure(t[p], "ms"), className="text-nowrap")
                                                        for p in ("p50_ms", "p95_ms", "p99_ms")]
                               + [html.Td(t["errors"])]) for t in timers])
    return dbc.Table([head, body], size="sm", striped=True, className="small", id="perf-timer-table")

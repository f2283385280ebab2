"""The operator panel's alerting parts: a tile with its rule state and buttons, and the alert history."""
from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
from dash import html

from dashboard.figures import STATUS_COLORS, chip_style, format_figure
from dashboard.ids import Perf, PerfAlert

STATE_TEXT = {"normal": "Normal", "pending": "Pending", "firing": "Firing", "recovering": "Recovering"}
STATE_COLORS = {"normal": STATUS_COLORS["ok"], "pending": STATUS_COLORS["warning"],
                "firing": STATUS_COLORS["critical"], "recovering": STATUS_COLORS["warning"]}
SILENCE_LABELS = {"1h": "1 h", "4h": "4 h", "resolved": "until resolved"}
NOTIFICATION_TEXT = {"firing": "firing sent", "escalated": "critical sent", "reminder": "reminder sent",
                     "resolved": "resolved sent"}


def _hhmm(ts: datetime) -> str:
    return f"{ts:%H:%M} UTC"


def alerting_tile(key: str) -> dbc.Col:
    """An empty operator tile (the refresh fills it) above its alert rule's state and Silence / Acknowledge."""
    return dbc.Col([
        dbc.Card(id=Perf.tile(key), className="perf-card flex-grow-1"),
        html.Div([
            html.Div(id=PerfAlert.state(key), className="small perf-alert-state", **{"aria-live": "polite"}),
            html.Div([html.Span("Silence", className="small me-1")]
                     + [dbc.Button(label, id=PerfAlert.silence(key, duration), size="sm", color="secondary",
                                   outline=True, className="me-1 py-0")
                        for duration, label in SILENCE_LABELS.items()]
                     + [dbc.Button("Acknowledge", id=PerfAlert.ack(key), size="sm", color="primary", outline=True,
                                   className="py-0", disabled=True)],
                     className="d-flex flex-wrap align-items-center gap-1 mt-1"),
        ], className="px-1 pt-1"),
    ], xs=12, sm=6, xl=4, xxl=2, className="mb-2 d-flex flex-column")


def alert_state_line(rule: dict | None) -> list:
    """A rule's state badge, severity, and whether it is silenced or acknowledged."""
    if rule is None:
        return [html.Span("Not evaluated yet", className="text-muted")]
    state = rule["state"]
    parts = [html.Span(STATE_TEXT[state], className="perf-alert-badge px-1 rounded",
                       style=chip_style(STATE_COLORS[state]))]
    if state != "normal" and rule["severity"]:
        parts.append(html.Span(f" {rule['severity']} since {_hhmm(rule['since'])}"))
    if rule["silenced"]:
        until = rule["silenced_until"]
        parts.append(html.Span(f" · silenced {'until ' + _hhmm(until) if until else 'until resolved'}"
                               f" by {rule['silenced_by']}", className="perf-alert-silenced"))
    if rule["acknowledged_by"]:
        parts.append(html.Span(f" · acknowledged by {rule['acknowledged_by']}", className="perf-alert-acked"))
    return parts


def can_acknowledge(rule: dict | None) -> bool:
    return bool(rule and rule["state"] in ("firing", "recovering") and not rule["acknowledged_by"])


def alert_history_table(history: list[dict], labels: dict[str, tuple[str, str]]):
    """Recent transitions and notifications, newest first; `labels` maps a rule to (label, unit)."""
    if not history:
        return html.P("No alert transitions yet.", className="text-muted small")
    rows = []
    for event in history:
        label, unit = labels.get(event["rule"], (event["rule"], ""))
        if event["notification"]:
            sent = "held (silenced)" if event["silenced"] else NOTIFICATION_TEXT[event["notification"]]
        else:
            sent = "—"
        change = (STATE_TEXT[event["to"]] if event["from"] == event["to"]
                  else f"{STATE_TEXT[event['from']]} → {STATE_TEXT[event['to']]}")
        rows.append(html.Tr([html.Td(f"{event['at']:%m-%d %H:%M}"), html.Td(label), html.Td(change),
                             html.Td(event["severity"] or ""), html.Td(format_figure(event["value"], unit)),
                             html.Td(sent)]))
    return dbc.Table([html.Thead(html.Tr([html.Th(t) for t in ("UTC", "Rule", "State", "Severity", "Value",
                                                                 "Notification")])), html.Tbody(rows)],
                     size="sm", className="small", id=PerfAlert.HISTORY_TABLE)

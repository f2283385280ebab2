"""Labelled form controls, and the live map's timeline (range inputs, hour buttons, slider)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.times import from_epoch
from dashboard.ids import Map


def labelled(label: str, control, html_for: str | None = None, **col) -> dbc.Col:
    """A column holding a small label above its control (`html_for` ties them for screen readers)."""
    return dbc.Col([dbc.Label(label, html_for=html_for, className="small mb-0" + ("" if html_for else " d-block")),
                    control], **col)


def radios(id_: str, options: dict[str, str], value) -> dbc.RadioItems:
    """Inline radio buttons from {value: label}."""
    return dbc.RadioItems(id=id_, value=value, inline=True, options=[{"label": v, "value": k} for k, v in options.items()])


def hour_iso(hour: int) -> str:
    """Whole hours since the epoch as 2026-11-20T12:00Z."""
    return from_epoch(hour * 3600).strftime("%Y-%m-%dT%H:00Z")


def slider_marks(lo: int, hi: int) -> dict:
    """A mark at each UTC midnight (each week's start for long ranges), plus both ends."""
    every = 24 if hi - lo <= 8 * 24 else 24 * 7
    marks = {h: from_epoch(h * 3600).strftime("%d %b") for h in range(lo, hi + 1) if h % every == 0}
    return marks or {lo: hour_iso(lo)[5:13].replace("T", " "), hi: hour_iso(hi)[5:13].replace("T", " ")}


def _hour_input(id_: str, label: str, hour: int | None) -> dbc.Col:
    value = "" if hour is None else hour_iso(hour)[:16]
    return labelled(label, dcc.Input(id=id_, type="datetime-local", value=value, step=3600, debounce=True,
                                     className="form-control form-control-sm"), html_for=id_, xs=6, md=3, xl=2)


def timeline(lo: int, hi: int, shown: int, start: int | None, end: int | None) -> dbc.Row:
    """The range inputs (empty unless picked), the hour buttons and the hour slider over [lo, hi]."""
    buttons = html.Div([
        html.Button("◀", id=Map.BACK, className="btn btn-outline-secondary btn-sm", title="One hour back",
                    **{"aria-label": "One hour back"}),
        html.Button("▶ Play", id=Map.PLAY, className="btn btn-primary btn-sm mx-1",
                    **{"aria-label": "Play the hours", "aria-pressed": "false"}),
        html.Button("▶|", id=Map.FORWARD, className="btn btn-outline-secondary btn-sm", title="One hour forward",
                    **{"aria-label": "One hour forward"}),
    ], className="d-flex")
    return dbc.Row([
        _hour_input(Map.START, "From (UTC)", start), _hour_input(Map.END, "To (UTC)", end),
        dbc.Col(buttons, xs="auto", className="pt-3"),
        # data-thumb-label names the slider's thumb for screen readers (assets/a11y.js): arrow keys move the hour.
        dbc.Col(html.Div(dcc.Slider(id=Map.TIME, min=lo, max=hi, step=1, value=shown, marks=slider_marks(lo, hi),
                                    updatemode="mouseup", allow_direct_input=False, included=False,
                                    tooltip={"always_visible": False}), **{"data-thumb-label": "Hour shown"}),
                xs=12, md=True, className="pt-2", id=Map.TIME_COL),
        dbc.Col(html.Div(id=Map.TIME_LABEL, className="small fw-bold text-nowrap"), xs="auto"),
    ], className="g-2 mb-1 align-items-center")

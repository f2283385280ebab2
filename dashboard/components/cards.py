"""Cards and alerts: the station panel, the operator tiles, the admin job cards, results and messages."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.components.tables import (
    JOB_COLORS,
    STATUS_TEXT,
    index_label,
    pollutant_table,
)
from dashboard.figures import (
    LABELS,
    STANDARDS,
    STATUS_COLORS,
    chip_style,
    format_figure,
    history_figure,
    sparkline_figure,
)
from dashboard.ids import Admin, Calc, Forecast, Map


def panel_hint() -> dbc.Card:
    return dbc.Card(dbc.CardBody("Click a station on the map, find one by name above, or open one from the table "
                                 "view, to see its AQI, main pollutant, health advice and the last 72 hours."),
                    className="text-muted")


SOURCES = {"airnow": "AirNow (US EPA and partner agencies)", "openaq": "OpenAQ", "prsa": "UCI Beijing PM2.5 data set",
           "simulator": "Simulated demo data"}


def reading_age(age_hours: int | None, stale_after_h: float) -> str:
    """How old the station's newest reading is, and whether that makes it not current."""
    if age_hours is None:
        return "Newest reading: none in the last 24 hours"
    when = "this hour" if age_hours == 0 else f"{age_hours} h before this hour"
    return f"Newest reading: {when}" + (f" (not current: older than {stale_after_h:g} h)"
                                        if age_hours > stale_after_h else "")


def station_card(station: dict, standard: str, categories: list[dict], as_of: datetime, history, source: str,
                 stale_after_h: float, compare=None, compare_name: str = "") -> dbc.Card:
    """The selected station: index, category, advice, source, reading age, each pollutant and its last hours in
    local time (hourly values and NowCast), with a second station's lines when one is compared."""
    local = as_of.astimezone(ZoneInfo(station["timezone"]))
    kind = "Reference monitor" if station["kind"] == "reference" else "Low-cost sensor (PM2.5 EPA-corrected)"
    value = "—" if station["aqi"] is None else f"{station['aqi']:.0f}"
    return dbc.Card([
        dbc.CardHeader([html.Div(station["name"], className="fw-bold", id=Map.STATION_NAME),
                        html.Div(f"{station['city']} · {kind} · {local:%a %d %b %H:%M} local",
                                 className="small text-muted")]),
        dbc.CardBody([
            html.Div([
                html.Div(value, id=Map.STATION_AQI, className="aqi-badge", style=chip_style(station["color"])),
                html.Div([html.Div(f"{index_label(standard)} · {STANDARDS[standard]}", className="small text-muted"),
                          html.Div(station["category"] or "No index", className="fw-bold"),
                          html.Div(f"Main pollutant: {LABELS.get(station['main_pollutant'] or '', '—')}",
                                   className="small")], className="ms-3"),
            ], className="d-flex align-items-center mb-2"),
            html.P(station["health_message"] or station["reason"] or "", className="small"),
            html.Div(f"Source: {SOURCES.get(source, source)}", className="small", id=Map.STATION_SOURCE),
            html.Div(reading_age(station.get("age_hours"), stale_after_h), className="small mb-2",
                     id=Map.STATION_AGE),
            pollutant_table(station, standard, categories),
            dcc.Graph(figure=history_figure(history, station["timezone"], compare, compare_name),
                      config={"displayModeBar": False}),
        ]),
    ])


def perf_tile_body(check: dict) -> dbc.CardBody:
    """One check: its figure, status, minute sparkline against the thresholds, and the advice."""
    status = check["status"]
    return dbc.CardBody([html.Div(check["label"], className="small text-muted perf-label"),
            html.Div([html.Span(format_figure(check["value"], check["unit"]), className="perf-value"),
                      html.Span(STATUS_TEXT[status], className="perf-status ms-2",
                                style=chip_style(STATUS_COLORS[status]))]),
            dcc.Graph(figure=sparkline_figure(check["series"], check["warn"], check["crit"], check["unit"]),
                      config={"displayModeBar": False, "staticPlot": True}, style={"height": "60px"}),
            html.Div(check["recommendation"], className="small perf-advice")])


def perf_tile_border(check: dict) -> dict:
    return {"borderTop": f"5px solid {STATUS_COLORS[check['status']]}"}


def job_card(name: str, job) -> dbc.Col:
    """A job's title, description, Run and Cancel buttons, progress bar and state line."""
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.H6(job.title), html.P(job.description, className="small text-muted"),
        dbc.Button("Run", id=Admin.job(Admin.RUN, name), color="primary", size="sm", className="me-2"),
        dbc.Button("Cancel", id=Admin.job(Admin.CANCEL, name), color="secondary", size="sm", outline=True),
        dbc.Progress(id=Admin.job(Admin.PROGRESS, name), value=0, className="mt-2", style={"height": "18px"}),
        html.Div(id=Admin.job(Admin.STATE, name), className="small mt-1"),
    ])), md=6, xl=3, className="mb-2")


def job_progress(run: dict | None) -> tuple[int, str, str, str]:
    """(bar value, bar label, bar colour, state line) of a job's latest run."""
    if run is None:
        return 0, "", "info", "Never run."
    running = run["status"] == "running"
    return (round(run["progress"] * 100), f"{run['progress']:.0%}" if running else run["status"],
            JOB_COLORS.get(run["status"], "info"),
            f"{run['status'].capitalize()} · {run['message']}" if running
            else f"Last: {run['status']} {run['finished_at']:%Y-%m-%d %H:%M} UTC · {run['message']}")


def forecast_unavailable(message: str, status: str) -> dbc.Alert:
    """Why there is no forecast (`status`: missing or corrupt) and how to fix it."""
    return dbc.Alert([html.Strong("Forecasts are unavailable. "), html.Span(message, id=Forecast.STATUS_MESSAGE),
                      html.Div(["Fix: run ", html.Code("python app.py train", className="text-reset"), " (or restart ",
                                html.Code("make run", className="text-reset"),
                                ", which trains the small model when none exists)."],
                               className="small mt-1")],
                     color="warning", id=Forecast.model_state(status))


def index_result(result: dict) -> dbc.Alert:
    """The calculator's concentration → index answer: the number on its colour, category and advice."""
    value = result["aqi"] if result["aqi"] is not None else result.get("level")
    return dbc.Alert([
        html.Span("—" if value is None else str(value), className="aqi-badge me-3", style=chip_style(result["color"]),
                  id=Calc.VALUE),
        html.Div([html.Div(result["category"], className="fw-bold"),
                  html.Div(f"{result['concentration']:g} {result['unit']}", className="small"),
                  html.Div(result.get("note") or result.get("health_message") or "", className="small")]),
    ], color="light", className="d-flex align-items-center")


def range_result(result: dict, category_span: str) -> dbc.Alert:
    """The calculator's index → concentration range answer, with its whole category's span."""
    high = "and above" if result["high"] is None else f"to {result['high']:g}"
    return dbc.Alert([html.Div(f"{result['low']:g} {high} {result['unit']}", className="fw-bold", id=Calc.RANGE_TEXT),
                      html.Div(result["category"], className="small"),
                      html.Div(category_span, className="small text-muted", id=Calc.CATEGORY_RANGE)],
                     color="light", style={"borderLeft": f"8px solid {result['color']}"})


def error_alert(message: str, **kwargs) -> dbc.Alert:
    return dbc.Alert(message, color="danger", className="py-2", **kwargs)


def model_line(forecast: dict, card: dict) -> html.Span:
    """Which model made the forecast, when, and on which data it was trained."""
    return html.Span(f"Model {forecast['model_version']} · issued {forecast['issued_at']:%Y-%m-%d %H:00} UTC · "
                     f"trained on {card['data_range']['start'][:10]} … {card['data_range']['end'][:10]}",
                     id=Forecast.VERSION)

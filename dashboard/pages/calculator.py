"""AQI calculator in both directions: concentration → index, index → concentration range."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from core.aqi.calculator import POLLUTANT_CODES, AQIError, calculate, concentration_range
from core.aqi.current import categories
from dashboard.figures import STANDARDS, chip_style

dash.register_page(__name__, path="/calculator", name="AQI calculator", title="AQI calculator", order=2)

UNITS = ["", "ug/m3", "mg/m3", "ppb", "ppm"]


def layout(**_query) -> dbc.Row:
    return dbc.Row(dbc.Col([
        html.H4("AQI calculator"),
        dbc.Row([
            dbc.Col([dbc.Label("Standard", html_for="calc-standard"),
                     dcc.Dropdown(id="calc-standard", value="us_epa", clearable=False,
                                  options=[{"label": v, "value": k} for k, v in STANDARDS.items()])], md=4),
            dbc.Col([dbc.Label("Pollutant and averaging period", html_for="calc-pollutant"),
                     dcc.Dropdown(id="calc-pollutant", clearable=False)], md=4),
            dbc.Col([dbc.Label("Unit", html_for="calc-unit"),
                     dcc.Dropdown(id="calc-unit", value="", clearable=False,
                                  options=[{"label": u or "standard's own", "value": u} for u in UNITS])], md=4),
        ], className="g-2 mb-3"),
        dbc.Row([
            dbc.Col([dbc.Label("Concentration → index", html_for="calc-concentration"),
                     dbc.Input(id="calc-concentration", type="text", inputMode="decimal", placeholder="e.g. 35.5",
                               debounce=True),
                     html.Div(id="calc-result", className="mt-2")], md=6),
            dbc.Col([dbc.Label("Index (EEA: level 1–6) → concentration range", html_for="calc-aqi"),
                     dbc.Input(id="calc-aqi", type="text", inputMode="numeric", placeholder="e.g. 101",
                               debounce=True),
                     html.Div(id="calc-range", className="mt-2")], md=6),
        ], className="g-3"),
    ], lg=9))


@callback(Output("calc-pollutant", "options"), Output("calc-pollutant", "value"), Input("calc-standard", "value"))
def pollutant_options(standard: str):
    codes = POLLUTANT_CODES[standard]
    return [{"label": code, "value": code} for code in codes], codes[0]


@callback(Output("calc-result", "children"), Input("calc-standard", "value"), Input("calc-pollutant", "value"),
          Input("calc-unit", "value"), Input("calc-concentration", "value"))
def concentration_to_index(standard: str, pollutant: str, unit: str, concentration: str | None):
    if not concentration or not pollutant:
        return ""
    try:
        result = calculate(standard, pollutant, concentration, unit or None)
    except AQIError as exc:
        return dbc.Alert(str(exc), color="danger", id="calc-error", className="py-2")
    value = result["aqi"] if result["aqi"] is not None else result.get("level")
    return dbc.Alert([
        html.Span("—" if value is None else str(value), className="aqi-badge me-3",
                  style=chip_style(result["color"]), id="calc-aqi-value"),
        html.Div([html.Div(result["category"], className="fw-bold"),
                  html.Div(f"{result['concentration']:g} {result['unit']}", className="small"),
                  html.Div(result.get("note") or result.get("health_message") or "", className="small")]),
    ], color="light", className="d-flex align-items-center")


@callback(Output("calc-range", "children"), Input("calc-standard", "value"), Input("calc-pollutant", "value"),
          Input("calc-unit", "value"), Input("calc-aqi", "value"))
def index_to_concentration(standard: str, pollutant: str, unit: str, aqi: str | None):
    if not aqi or not pollutant:
        return ""
    try:
        result = concentration_range(standard, pollutant, int(aqi), unit or None)
    except (AQIError, ValueError) as exc:
        message = str(exc) if isinstance(exc, AQIError) else f"'{aqi}' is not a whole number"
        return dbc.Alert(message, color="danger", className="py-2")
    high = "and above" if result["high"] is None else f"to {result['high']:g}"
    return dbc.Alert([html.Div(f"{result['low']:g} {high} {result['unit']}", className="fw-bold", id="calc-range-text"),
                      html.Div(result["category"], className="small"),
                      html.Div(_category_span(standard, pollutant, result, unit), className="small text-muted",
                               id="calc-category-range")],
                     color="light", style={"borderLeft": f"8px solid {result['color']}"})


def _category_span(standard: str, pollutant: str, result: dict, unit: str) -> str:
    """The concentrations of the whole category, for context (EEA levels are already whole bands)."""
    if standard == "eea":
        return ""
    band = next(c for c in categories(standard) if c["name"] == result["category"])
    try:
        low = concentration_range(standard, pollutant, band["low"], unit or None)["low"]
        top = band["high"] and concentration_range(standard, pollutant, band["high"], unit or None)["high"]
    except AQIError:
        return ""  # a band edge this averaging period cannot reach (e.g. 1-hour ozone below 101)
    upper = f"to {top:g}" if top is not None else "and above"
    return f"The whole category ({band['low']}–{band['high'] or '…'}) spans {low:g} {upper} {result['unit']}."

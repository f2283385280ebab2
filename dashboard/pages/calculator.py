"""AQI calculator in both directions: concentration → index, index → concentration range."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from core.aqi.calculator import (
    POLLUTANT_CODES,
    AQIError,
    calculate,
    concentration_range,
)
from core.aqi.engine import categories
from dashboard.components.cards import error_alert, index_result, range_result
from dashboard.figures import STANDARDS
from dashboard.ids import Calc

dash.register_page(__name__, path="/calculator", name="AQI calculator", title="AQI calculator", order=2)

UNITS = ["", "ug/m3", "mg/m3", "ppb", "ppm"]


def layout(**_query) -> dbc.Row:
    """Static: the same for the page and for Dash's validation layout."""
    return dbc.Row(dbc.Col([
        html.H4("AQI calculator"),
        dbc.Row([
            dbc.Col([dbc.Label("Standard", html_for=Calc.STANDARD),
                     dcc.Dropdown(id=Calc.STANDARD, value="us_epa", clearable=False,
                                  options=[{"label": v, "value": k} for k, v in STANDARDS.items()])], md=4),
            dbc.Col([dbc.Label("Pollutant and averaging period", html_for=Calc.POLLUTANT),
                     dcc.Dropdown(id=Calc.POLLUTANT, clearable=False)], md=4),
            dbc.Col([dbc.Label("Unit", html_for=Calc.UNIT),
                     dcc.Dropdown(id=Calc.UNIT, value="", clearable=False,
                                  options=[{"label": u or "standard's own", "value": u} for u in UNITS])], md=4),
        ], className="g-2 mb-3"),
        dbc.Row([
            dbc.Col([dbc.Label("Concentration → index", html_for=Calc.CONCENTRATION),
                     dbc.Input(id=Calc.CONCENTRATION, type="text", inputMode="decimal", placeholder="e.g. 35.5",
                               debounce=True),
                     html.Div(id=Calc.RESULT, className="mt-2")], md=6),
            dbc.Col([dbc.Label("Index (EEA: level 1–6) → concentration range", html_for=Calc.AQI),
                     dbc.Input(id=Calc.AQI, type="text", inputMode="numeric", placeholder="e.g. 101", debounce=True),
                     html.Div(id=Calc.RANGE, className="mt-2")], md=6),
        ], className="g-3"),
    ], lg=9))


@callback(Output(Calc.POLLUTANT, "options"), Output(Calc.POLLUTANT, "value"), Input(Calc.STANDARD, "value"))
def pollutant_options(standard: str):
    codes = POLLUTANT_CODES[standard]
    return [{"label": code, "value": code} for code in codes], codes[0]


@callback(Output(Calc.RESULT, "children"), Input(Calc.STANDARD, "value"), Input(Calc.POLLUTANT, "value"),
          Input(Calc.UNIT, "value"), Input(Calc.CONCENTRATION, "value"))
def concentration_to_index(standard: str, pollutant: str, unit: str, concentration: str | None):
    if not concentration or not pollutant:
        return ""
    try:
        return index_result(calculate(standard, pollutant, concentration, unit or None))
    except AQIError as exc:
        return error_alert(str(exc), id=Calc.ERROR)


@callback(Output(Calc.RANGE, "children"), Input(Calc.STANDARD, "value"), Input(Calc.POLLUTANT, "value"),
          Input(Calc.UNIT, "value"), Input(Calc.AQI, "value"))
def index_to_concentration(standard: str, pollutant: str, unit: str, aqi: str | None):
    if not aqi or not pollutant:
        return ""
    try:
        result = concentration_range(standard, pollutant, int(aqi), unit or None)
    except (AQIError, ValueError) as exc:
        return error_alert(str(exc) if isinstance(exc, AQIError) else f"'{aqi}' is not a whole number")
    return range_result(result, _category_span(standard, pollutant, result, unit))


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

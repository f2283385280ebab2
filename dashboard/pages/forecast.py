"""Forecast: a station's last 72 h and next 72 h (p10–p90), the daily AQI strip, model skill, explanation."""
from __future__ import annotations

from datetime import datetime

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, dcc, html

from core import catalog
from core.context import Context
from core.db import queries
from core.forecast import ModelUnavailable, service
from core.parameters import UNITS
from core.snapshots import station_history
from dashboard import context
from dashboard.components.cards import forecast_unavailable, model_line
from dashboard.components.chips import daily_strip
from dashboard.components.controls import labelled, radios
from dashboard.components.tables import skill_table
from dashboard.forecast_figures import explanation_figure, forecast_figure
from dashboard.ids import Forecast

dash.register_page(__name__, path="/forecast", name="Forecast", title="AQI forecast", order=1,
                   access="access_forecast")

LABELS = {"pm25": "PM2.5", "o3": "O₃"}


def layout(pathname: str | None = None, **_query) -> html.Div:
    if pathname is None:  # Dash's validation layout (routing always passes the pathname): no database
        return skeleton()
    return skeleton([c["name"] for c in catalog.cities(context.current())])


def skeleton(city_names: list[str] = ()) -> html.Div:
    """The pickers (the first city chosen) and empty figures: picking a station fills them."""
    return html.Div([
        dbc.Row([
            labelled("City", dcc.Dropdown(id=Forecast.CITY, options=list(city_names), clearable=False,
                                          value=city_names[0] if city_names else None),
                     html_for=Forecast.CITY, xs=12, md=3),
            labelled("Station", dcc.Dropdown(id=Forecast.STATION, clearable=False), html_for=Forecast.STATION,
                     xs=12, md=5),
            labelled("Pollutant", radios(Forecast.PARAMETER, LABELS, "pm25"), xs=12, md=4),
        ], className="g-2 mb-2 align-items-end"),
        html.Div(id=Forecast.STATUS),
        dbc.Row([
            dbc.Col([dcc.Graph(id=Forecast.GRAPH, config={"displaylogo": False}),
                     html.Div(id=Forecast.DAILY, className="d-flex gap-2 mt-1")], xs=12, lg=8),
            dbc.Col([html.Div(id=Forecast.MODEL, className="small"),
                     html.Div(id=Forecast.SKILL),
                     html.H6("Why this forecast", className="mt-2 mb-0"),
                     dcc.Graph(id=Forecast.EXPLAIN, config={"displayModeBar": False})], xs=12, lg=4),
        ], className="g-2"),
    ])


@callback(Output(Forecast.STATION, "options"), Output(Forecast.STATION, "value"), Input(Forecast.CITY, "value"))
def station_options(city: str | None):
    stations = [s for s in catalog.stations(context.current(), city) if s["active"]] if city else []
    options = [{"label": f"{s['name']} ({'sensor' if s['kind'] == 'low_cost' else 'monitor'})", "value": s["id"]}
               for s in stations]
    return options, (options[0]["value"] if options else None)


@callback(
    Output(Forecast.GRAPH, "figure"), Output(Forecast.DAILY, "children"), Output(Forecast.STATUS, "children"),
    Output(Forecast.MODEL, "children"), Output(Forecast.SKILL, "children"), Output(Forecast.EXPLAIN, "figure"),
    Input(Forecast.STATION, "value"), Input(Forecast.PARAMETER, "value"),
)
def show_forecast(station_id: int | None, parameter: str):
    label, unit = LABELS[parameter], UNITS[parameter]
    no_explanation = explanation_figure({"attributions": [], "unit": unit})
    if station_id is None:
        return (forecast_figure(_no_rows(), None, [], "UTC", label, unit), [],
                dbc.Alert("Pick a city and a station.", color="light"), "", "", no_explanation)
    app = context.current()
    tz = next(s for s in catalog.stations(app) if s["id"] == station_id)["timezone"]
    bands = service.category_bands(parameter)
    try:
        forecast = service.forecast_for_station(app, station_id, parameter)
    except ModelUnavailable as exc:  # the observed hours still show, with what to do about the model
        return (forecast_figure(_observed(app, station_id, parameter, None), None, bands, tz, label, unit), [],
                forecast_unavailable(str(exc), app.models.status()["status"]), "", "", no_explanation)
    card = service.model_card(app)
    return (forecast_figure(_observed(app, station_id, parameter, forecast["issued_at"]), forecast, bands, tz,
                            label, unit),
            daily_strip(service.daily_categories(app, station_id)), None, model_line(forecast, card),
            skill_table(card, parameter, unit), explanation_figure(service.explain(app, station_id, parameter)))


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame({"ts": pd.to_datetime([], utc=True), "value": []})


def _observed(app: Context, station_id: int, parameter: str, end: datetime | None) -> pd.DataFrame:
    """The station's last 72 observed hours of `parameter` up to `end` (the newest stored hour when None)."""
    if end is None:
        with app.session() as s:
            end = queries.latest_hour(s)
    if end is None:
        return _no_rows()
    frame = station_history(app, station_id, end, 72)
    return frame[frame["parameter"] == parameter][["ts", "value"]]

"""Forecast: a station's last 72 h and next 72 h (p10–p90), the daily AQI strip, model skill, explanation."""
from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from core import catalog
from core.airquality import station_history
from core.forecast import ModelUnavailable, model_status
from core.forecast import service
from core.parameters import UNITS
from dashboard.figures import chip_style
from dashboard.forecast_figures import explanation_figure, forecast_figure

dash.register_page(__name__, path="/forecast", name="Forecast", title="AQI forecast", order=1,
                   access="access_forecast")

LABELS = {"pm25": "PM2.5", "o3": "O₃"}


def layout(**_query) -> html.Div:
    city_names = [c["name"] for c in catalog.cities()]
    return html.Div([
        dbc.Row([
            dbc.Col([dbc.Label("City", html_for="forecast-city", className="small mb-0"),
                     dcc.Dropdown(id="forecast-city", options=city_names,
                                  value=city_names[0] if city_names else None, clearable=False)], xs=12, md=3),
            dbc.Col([dbc.Label("Station", html_for="forecast-station", className="small mb-0"),
                     dcc.Dropdown(id="forecast-station", clearable=False)], xs=12, md=5),
            dbc.Col([dbc.Label("Pollutant", className="small mb-0 d-block"),
                     dbc.RadioItems(id="forecast-parameter", value="pm25", inline=True,
                                    options=[{"label": v, "value": k} for k, v in LABELS.items()])], xs=12, md=4),
        ], className="g-2 mb-2 align-items-end"),
        html.Div(id="forecast-status"),
        dbc.Row([
            dbc.Col([dcc.Graph(id="forecast-graph", config={"displaylogo": False}),
                     html.Div(id="forecast-daily", className="d-flex gap-2 mt-1")], xs=12, lg=8),
            dbc.Col([html.Div(id="forecast-model", className="small"),
                     html.Div(id="forecast-skill"),
                     html.H6("Why this forecast", className="mt-2 mb-0"),
                     dcc.Graph(id="forecast-explain", config={"displayModeBar": False})], xs=12, lg=4),
        ], className="g-2"),
    ])


@callback(Output("forecast-station", "options"), Output("forecast-station", "value"),
          Input("forecast-city", "value"))
def station_options(city: str | None):
    stations = [s for s in catalog.stations(city) if s["active"]] if city else []
    options = [{"label": f"{s['name']} ({'sensor' if s['kind'] == 'low_cost' else 'monitor'})", "value": s["id"]}
               for s in stations]
    return options, (options[0]["value"] if options else None)


@callback(
    Output("forecast-graph", "figure"), Output("forecast-daily", "children"), Output("forecast-status", "children"),
    Output("forecast-model", "children"), Output("forecast-skill", "children"), Output("forecast-explain", "figure"),
    Input("forecast-station", "value"), Input("forecast-parameter", "value"),
)
def show_forecast(station_id: int | None, parameter: str):
    empty = explanation_figure({"attributions": [], "unit": UNITS[parameter]})
    if station_id is None:
        return forecast_figure(_no_rows(), None, [], "UTC", LABELS[parameter], UNITS[parameter]), [], \
            dbc.Alert("Pick a city and a station.", color="light"), "", "", empty
    station = next(s for s in catalog.stations() if s["id"] == station_id)
    bands = service.category_bands(parameter)
    try:
        forecast = service.forecast_for_station(station_id, parameter)
        end = forecast["issued_at"]
    except ModelUnavailable as exc:
        forecast, status = None, _unavailable(str(exc))
        end = None
    observed = _observed(station_id, parameter, end)
    fig = forecast_figure(observed, forecast, bands, station["timezone"], LABELS[parameter], UNITS[parameter])
    if forecast is None:
        return fig, [], status, "", "", empty
    card = service.model_card()
    explanation = service.explain(station_id, parameter)
    info = (f"Model {forecast['model_version']} · issued {forecast['issued_at']:%Y-%m-%d %H:00} UTC · "
            f"trained on {card['data_range']['start'][:10]} … {card['data_range']['end'][:10]}")
    return (fig, _daily_strip(service.daily_categories(station_id)), None, html.Span(info, id="forecast-version"),
            _skill_table(card, parameter), explanation_figure(explanation))


def _no_rows():
    import pandas as pd

    return pd.DataFrame({"ts": pd.to_datetime([], utc=True), "value": []})


def _observed(station_id: int, parameter: str, end):
    from core.db import queries
    from core.db.engine import session

    if end is None:
        with session() as s:
            end = queries.latest_hour(s)
    if end is None:
        return _no_rows()
    frame = station_history(station_id, end, 72)
    return frame[frame["parameter"] == parameter][["ts", "value"]]


def _unavailable(message: str) -> dbc.Alert:
    status = model_status()
    return dbc.Alert([html.Strong("Forecasts are unavailable. "), html.Span(message, id="forecast-status-message"),
                      html.Div(["Fix: run ", html.Code("python app.py train"), " (or restart ",
                                html.Code("make run"), ", which trains the small model when none exists)."],
                               className="small mt-1")],
                     color="warning", id=f"forecast-model-{status['status']}")


def _daily_strip(days: list[dict]) -> list:
    chips = []
    for d in days:
        day = date.fromisoformat(d["date"])
        chips.append(html.Div([html.Div(f"{day:%a %d %b}", className="small"),
                               html.Div(d["category"] or "No index", className="fw-bold small"),
                               html.Div(f"AQI {d['aqi']}" if d["aqi"] is not None else "—", className="small")],
                              className="forecast-day legend-chip p-2 text-center",
                              style={**chip_style(d["color"]), "minWidth": "9rem"}))
    return [html.Span("Daily forecast (US AQI)", className="small text-muted align-self-center"), *chips]


def _skill_table(card: dict, parameter: str) -> dbc.Table:
    metrics = card["metrics"]
    rows = metrics["mae"][parameter]
    header = html.Thead(html.Tr([html.Th(f"MAE {UNITS[parameter]}")] + [html.Th(f"{h} h") for h in metrics["horizons"]]))
    names = {"model": "This model (p50)", "persistence": "Persistence", "same_hour_yesterday": "Same hour yesterday"}
    body = html.Tbody([html.Tr([html.Td(label)] + [html.Td("—" if v is None else f"{v:.2f}") for v in rows[key]])
                       for key, label in names.items()])
    return html.Div([html.Div("Held-out skill (lower is better)", className="small text-muted mt-2"),
                     dbc.Table([header, body], size="sm", className="small mb-0", id="forecast-skill-table")])

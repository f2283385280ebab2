"""Forecast: a station's last 72 h and next 72 h (p10–p90) beside CAMS as published, the daily AQI strip, the
model's held-out skill against the best baseline per horizon with its reliability, and the explanation."""
from __future__ import annotations

from datetime import datetime, timedelta

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, dcc, html

from core import catalog, weather
from core.context import Context
from core.db import queries
from core.forecast import ModelUnavailable, evaluation, service
from core.parameters import UNITS
from core.snapshots import station_history
from dashboard import context
from dashboard.components.cards import forecast_unavailable, model_line
from dashboard.components.chips import daily_strip
from dashboard.components.controls import labelled, radios
from dashboard.forecast_figures import explanation_figure, forecast_figure, reliability_figure
from dashboard.ids import Forecast

dash.register_page(__name__, path="/forecast", name="Forecast", title="AQI forecast", order=1,
                   access="access_forecast")

LABELS = {"pm25": "PM2.5", "o3": "O₃"}
RELIABILITY = "forecast-reliability"  # belongs in dashboard.ids.Forecast (another area's file)


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
                     html.H6("Are the quantiles honest?", className="mt-2 mb-0"),
                     dcc.Graph(id=RELIABILITY, config={"displayModeBar": False}),
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
    Output(RELIABILITY, "figure"),
    Input(Forecast.STATION, "value"), Input(Forecast.PARAMETER, "value"),
)
def show_forecast(station_id: int | None, parameter: str):
    # The picker's choices; anything else a client sends reads as PM2.5.
    parameter = parameter if isinstance(parameter, str) and parameter in LABELS else "pm25"
    label, unit = LABELS[parameter], UNITS[parameter]
    no_explanation = explanation_figure({"attributions": [], "unit": unit})
    app = context.current()
    station = next((s for s in catalog.stations(app) if s["id"] == station_id), None)
    if station is None:
        return (forecast_figure(_no_rows(), None, [], "UTC", label, unit), [],
                dbc.Alert("Pick a city and a station.", color="light"), "", "", no_explanation, _no_reliability())
    station_id, tz = station["id"], station["timezone"]
    bands = service.category_bands(parameter)
    with app.session() as session:
        newest = queries.latest_hour(session)
    observed = _observed(app, station_id, parameter, newest)
    cams = _cams(app, station_id, parameter, newest)
    try:
        forecast = service.forecast_for_station(app, station_id, parameter)
    except ModelUnavailable as exc:  # the observed hours still show, with what to do about the model
        return (forecast_figure(observed, None, bands, tz, label, unit, cams), [],
                forecast_unavailable(str(exc), app.models.status()["status"]), "", "", no_explanation,
                _no_reliability())
    except service.InsufficientHistory as exc:
        return (forecast_figure(observed, None, bands, tz, label, unit, cams), [],
                dbc.Alert(str(exc), color="warning", id=Forecast.STATUS_MESSAGE), "", "", no_explanation,
                _no_reliability())
    card = service.model_card(app)
    metrics = _metrics(card, forecast["weather_forecast"])
    inputs = inputs_line(forecast["weather_forecast"], weather.weather_source(app.engine))
    return (forecast_figure(observed, forecast, bands, tz, label, unit, cams),
            daily_strip(service.daily_categories(app, station_id)), None,
            [model_line(forecast, card), html.Div(inputs)],
            skill_against_best(metrics, parameter, unit), explanation_figure(service.explain(app, station_id, parameter)),
            reliability_figure(metrics, parameter))


def _metrics(card: dict, weather_forecast: bool) -> dict:
    """The card's held-out scores for the inputs this forecast had (with or without a weather forecast)."""
    return card["metrics"].get("with_weather", card["metrics"]) if weather_forecast else card["metrics"]


def inputs_line(weather_forecast: bool, source: dict | None) -> str:
    """What the model read: says so plainly when no weather forecast reached it, and why when that is known
    (`source`: the weather feed's last run, core.weather.weather_source)."""
    if weather_forecast:
        return "Inputs: past readings and weather, and the weather forecast for the next 72 h."
    if source is None:
        why = "no weather forecast has been fetched"
    elif source["last_error"]:
        when = f" ({source['last_run_at']:%Y-%m-%d %H:%M} UTC)" if source["last_run_at"] else ""
        why = f"the last weather fetch{when} failed: the weather source is down"
    else:
        why = "the stored weather forecast does not cover these hours"
    return (f"Past inputs only: no weather forecast for these hours ({why}); the model read past readings and "
            "weather only.")


def skill_against_best(metrics: dict, parameter: str, unit: str) -> html.Div:
    """Held-out MAE per horizon: the model against the best of four baselines, its skill and band coverage."""
    rows = evaluation.skill_rows(metrics, parameter)
    if all(r["model_mae"] is None for r in rows):
        return html.Div(f"No held-out {LABELS[parameter]} observations to score this model on.",
                        className="small text-muted mt-2", id=Forecast.SKILL_TABLE)
    fmt = lambda v, f: "—" if v is None else format(v, f)  # noqa: E731
    body = [html.Tr([html.Td(f"{r['horizon']} h"), html.Td(fmt(r["model_mae"], ".2f")),
                     html.Td(f"{fmt(r['best_mae'], '.2f')} ({evaluation.BASELINES.get(r['best_baseline'], '—')})"),
                     html.Td(fmt(r["skill"], "+.0%"), className="text-success" if r["wins"] else "text-danger"),
                     html.Td(fmt(r["coverage"], ".0%"))]) for r in rows]
    head = html.Thead(html.Tr([html.Th(h) for h in ("Horizon", f"Model MAE {unit}", "Best baseline",
                                                     "Skill", "p10–p90 holds")]))
    verdict = ("beats the best baseline at every horizon" if all(r["wins"] for r in rows if r["wins"] is not None)
               else "does not beat the best baseline at every horizon")
    return html.Div([html.Div(f"Held-out skill (lower MAE is better; coverage target 80 %): {verdict}",
                              className="small text-muted mt-2"),
                     dbc.Table([head, html.Tbody(body)], size="sm", className="small mb-0", id=Forecast.SKILL_TABLE)])


def _no_reliability():
    return reliability_figure({"quantiles": [], "horizons": [], "reliability": {"_": {"observed": []}}}, "_")


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame({"ts": pd.to_datetime([], utc=True), "value": []})


def _cams(app: Context, station_id: int, parameter: str, newest: datetime | None) -> list[dict]:
    """CAMS as published for the station's city over the 72 h before and after the newest hour."""
    if newest is None:
        return []
    return weather.cams_for_station(app, station_id, parameter, newest - timedelta(hours=72),
                                    newest + timedelta(hours=72))


def _observed(app: Context, station_id: int, parameter: str, end: datetime | None) -> pd.DataFrame:
    """The station's last 72 observed hours of `parameter` up to `end` (the newest stored hour when None)."""
    if end is None:
        with app.session() as s:
            end = queries.latest_hour(s)
    if end is None:
        return _no_rows()
    frame = station_history(app, station_id, end, 72)
    return frame[frame["parameter"] == parameter][["ts", "value"]]

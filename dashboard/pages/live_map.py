"""Live AQI map: every station coloured by its current (NowCast) category; click for details."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from core import catalog
from core.airquality import current, station_history
from core.aqi.current import categories
from core.settings import get_settings
from dashboard.figures import (LABELS, NO_DATA, STANDARDS, category_of, chip_style, fit_view, history_figure,
                               map_figure, marker_value)

dash.register_page(__name__, path="/", name="Live map", title="Live AQI map")


def layout(**_query) -> html.Div:
    settings = get_settings()
    city_names = [c["name"] for c in catalog.cities()]
    controls = dbc.Row([
        dbc.Col([dbc.Label("City", html_for="map-city", className="small mb-0"),
                 dcc.Dropdown(id="map-city", options=[{"label": "All cities", "value": ""}]
                              + [{"label": c, "value": c} for c in city_names], value="", clearable=False)],
                xs=12, md=4, xl=2),
        dbc.Col([dbc.Label("Standard", className="small mb-0 d-block"),
                 dbc.RadioItems(id="map-standard", value=settings.default_standard, inline=True,
                                options=[{"label": v, "value": k} for k, v in STANDARDS.items()])], xs=12, md=8, xl=4),
        dbc.Col([dbc.Label("Show", className="small mb-0 d-block"),
                 dbc.RadioItems(id="map-pollutant", value="aqi", inline=True,
                                options=[{"label": v, "value": k} for k, v in LABELS.items()])], xs=12, xl=6),
    ], className="g-2 mb-2 align-items-end")
    return html.Div([
        controls,
        dbc.Row([
            dbc.Col([
                dcc.Graph(id="map-graph", style={"height": "72vh"}, config={"displaylogo": False}),
                html.Div(id="map-legend", className="map-legend mt-1"),
                html.Div(id="map-as-of", className="text-muted small"),
            ], xs=12, lg=8),
            dbc.Col(html.Div(id="map-station-panel", children=_panel_hint()), xs=12, lg=4),
        ], className="g-2"),
        dcc.Store(id="map-selected"),
        dcc.Interval(id="map-refresh", interval=settings.map_refresh_s * 1000),
    ])


def _panel_hint() -> dbc.Card:
    return dbc.Card(dbc.CardBody("Click a station on the map to see its AQI, main pollutant, health advice "
                                 "and the last 72 hours."), className="text-muted")


@callback(
    Output("map-graph", "figure"), Output("map-legend", "children"), Output("map-as-of", "children"),
    Input("map-standard", "value"), Input("map-pollutant", "value"), Input("map-city", "value"),
    Input("map-refresh", "n_intervals"), Input("map-selected", "data"),
)
def update_map(standard: str, pollutant: str, city: str, _tick, selected: int | None):
    snapshot = current(standard, city or None)
    stations = snapshot["stations"]
    cats = categories(standard)
    center, zoom = fit_view([s["lat"] for s in stations], [s["lon"] for s in stations])
    settings = get_settings()
    fig = map_figure(stations, pollutant, standard, cats, settings.map_tiles, settings.map_tiles_attribution,
                     center, zoom, selected)
    fig.update_layout(uirevision=f"{city}")  # keep the user's pan/zoom until the city changes
    reported = sum(1 for s in stations if marker_value(s, pollutant, standard) is not None)
    legend = [html.Span(c["name"], className="legend-chip", style=chip_style(c["color"])) for c in cats]
    legend.append(html.Span("No data", className="legend-chip", style=chip_style(NO_DATA)))
    legend.append(html.Div("Large dots: reference monitors · small dots: low-cost sensors (PM2.5 EPA-corrected)",
                           className="small text-muted"))
    as_of = snapshot["as_of"]
    when = as_of.strftime("%Y-%m-%d %H:00 UTC") if as_of else "no data yet"
    return fig, legend, f"As of {when} · {reported} of {len(stations)} stations reporting {LABELS[pollutant]}"


@callback(Output("map-selected", "data"), Input("map-graph", "clickData"), prevent_initial_call=True)
def select_station(click: dict | None):
    point = (click or {}).get("points", [{}])[0]
    return point.get("customdata", no_update)


@callback(
    Output("map-station-panel", "children"),
    Input("map-selected", "data"), Input("map-standard", "value"), Input("map-refresh", "n_intervals"),
    State("map-city", "value"),
)
def station_panel(station_id: int | None, standard: str, _tick, city: str):
    if station_id is None:
        return _panel_hint()
    snapshot = current(standard)
    station = next((s for s in snapshot["stations"] if s["id"] == station_id), None)
    if station is None:
        return dbc.Alert("That station is no longer reporting.", color="warning")
    history = station_history(station_id, snapshot["as_of"])
    return _panel(station, standard, snapshot["as_of"], history)


def _panel(station: dict, standard: str, as_of: datetime, history) -> dbc.Card:
    local = as_of.astimezone(ZoneInfo(station["timezone"]))
    cats = categories(standard)
    label = "Level" if standard == "eea" else "AQI"
    value = "—" if station["aqi"] is None else f"{station['aqi']:.0f}"
    kind = "Reference monitor" if station["kind"] == "reference" else "Low-cost sensor (PM2.5 EPA-corrected)"
    rows = []
    for p, entry in station["pollutants"].items():
        cat = category_of(entry["sub_index"], cats)
        rows.append(html.Tr([html.Td(LABELS[p]), html.Td(f"{entry['concentration']:.{2 if p == 'co' else 1}f} {entry['unit']}"),
                             html.Td("—" if entry["sub_index"] is None else f"{entry['sub_index']:.0f}"),
                             html.Td(html.Span(cat["name"] if cat else "—", className="legend-chip",
                                               style=chip_style(cat["color"] if cat else "#E0E0E0")))]))
    return dbc.Card([
        dbc.CardHeader([html.Div(station["name"], className="fw-bold", id="map-station-name"),
                        html.Div(f"{station['city']} · {kind} · {local:%a %d %b %H:%M} local",
                                 className="small text-muted")]),
        dbc.CardBody([
            html.Div([
                html.Div(value, id="map-station-aqi", className="aqi-badge",
                         style=chip_style(station["color"])),
                html.Div([html.Div(f"{label} · {STANDARDS[standard]}", className="small text-muted"),
                          html.Div(station["category"] or "No index", className="fw-bold"),
                          html.Div(f"Main pollutant: {LABELS.get(station['main_pollutant'] or '', '—')}",
                                   className="small")], className="ms-3"),
            ], className="d-flex align-items-center mb-2"),
            html.P(station["health_message"] or station["reason"] or "", className="small"),
            dbc.Table([html.Thead(html.Tr([html.Th("Pollutant"), html.Th("Now"), html.Th(label),
                                           html.Th("Category")])), html.Tbody(rows)],
                      size="sm", className="small mb-2"),
            dcc.Graph(figure=history_figure(history, station["timezone"]), config={"displayModeBar": False}),
        ]),
    ])

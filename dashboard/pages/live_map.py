"""Live AQI map: stations coloured by category at any hour of a range, an optional IDW surface, a table view,
rankings, CSV export and an embed snippet. The whole view lives in the query string, so it can be shared."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update

from core import catalog
from core.airquality import current, station_history
from core.aqi.current import categories
from core.settings import get_settings
from core.spatial import rankings, snapshot_at, surfaces
from dashboard.figures import (LABELS, NO_DATA, STANDARDS, category_of, chip_style, fit_view, history_figure,
                               map_figure, marker_value, surface_layers)

dash.register_page(__name__, path="/", name="Live map", title="Live AQI map", order=0)

DEFAULT_HOURS = 72
MAX_HOURS = 31 * 24  # the slider's longest range; export takes longer ones
LAYERS = {"surface": "Interpolated surface (IDW)", "reference": "Reference monitors", "low_cost": "Low-cost sensors"}
DEFAULT_LAYERS = ["reference", "low_cost"]
VIEWS = {"map": "Map", "table": "Table", "ranking": "Ranking"}


def _hour_of(value: str | None) -> int | None:
    """An ISO time (Z or naive = UTC) as whole hours since the epoch; None when absent or unreadable."""
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        return None
    ts = ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts
    return int(ts.timestamp() // 3600)


def _iso(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, timezone.utc).strftime("%Y-%m-%dT%H:00Z")


def _local_input(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, timezone.utc).strftime("%Y-%m-%dT%H:00")


def time_range(start: str | None, end: str | None, latest: int) -> tuple[int, int, str | None]:
    """Slider bounds (epoch hours) from the picked range; defaults to the last 72 hours; a message if clipped."""
    hi = min(_hour_of(end) or latest, latest)
    lo = _hour_of(start) or hi - DEFAULT_HOURS + 1
    note = None
    if lo > hi:
        lo, note = hi - DEFAULT_HOURS + 1, "The start was after the end: showing the 72 hours before the end."
    if hi - lo + 1 > MAX_HOURS:
        lo, note = hi - MAX_HOURS + 1, "The slider plays at most 31 days: showing the last 31 of the range."
    return lo, hi, note


def slider_marks(lo: int, hi: int) -> dict:
    """A mark at each UTC midnight (each week's start for long ranges), plus both ends."""
    every = 24 if hi - lo <= 8 * 24 else 24 * 7
    marks = {h: datetime.fromtimestamp(h * 3600, timezone.utc).strftime("%d %b") for h in range(lo, hi + 1)
             if h % every == 0}
    return marks or {lo: _iso(lo)[5:13].replace("T", " "), hi: _iso(hi)[5:13].replace("T", " ")}


def layout(city: str = "", standard: str = "", pollutant: str = "aqi", time: str = "", start: str = "",
           end: str = "", layers: str | None = None, station: str = "", palette: str = "standard",
           view: str = "map", **_other) -> html.Div:
    settings = get_settings()
    city_names = [c["name"] for c in catalog.cities()]
    city = city if city in city_names else ""
    standard = standard if standard in STANDARDS else settings.default_standard
    pollutant = pollutant if pollutant in LABELS else "aqi"
    chosen_layers = DEFAULT_LAYERS if layers is None else [x for x in layers.split(",") if x in LAYERS]
    palette = palette if palette == "cvd" else "standard"
    view = view if view in VIEWS else "map"
    selected = int(station) if station.isdigit() else None
    as_of = current(standard, city or None)["as_of"]
    latest = int(as_of.timestamp() // 3600) if as_of else int(datetime.now(timezone.utc).timestamp() // 3600)
    lo, hi, _ = time_range(start, end, latest)
    shown = _hour_of(time)
    shown = hi if shown is None or not lo <= shown <= hi else shown

    controls = dbc.Row([
        dbc.Col([dbc.Label("City", html_for="map-city", className="small mb-0"),
                 dcc.Dropdown(id="map-city", options=[{"label": "All cities", "value": ""}]
                              + [{"label": c, "value": c} for c in city_names], value=city, clearable=False)],
                xs=12, md=4, xl=2),
        dbc.Col([dbc.Label("Standard", className="small mb-0 d-block"),
                 dbc.RadioItems(id="map-standard", value=standard, inline=True,
                                options=[{"label": v, "value": k} for k, v in STANDARDS.items()])], xs=12, md=8, xl=4),
        dbc.Col([dbc.Label("Show", className="small mb-0 d-block"),
                 dbc.RadioItems(id="map-pollutant", value=pollutant, inline=True,
                                options=[{"label": v, "value": k} for k, v in LABELS.items()])], xs=12, xl=6),
    ], className="g-2 mb-1 align-items-end")
    options = dbc.Row([
        dbc.Col([dbc.Label("Layers", className="small mb-0 d-block"),
                 dbc.Checklist(id="map-layers", value=chosen_layers, inline=True,
                               options=[{"label": v, "value": k} for k, v in LAYERS.items()])], xs=12, lg=6),
        dbc.Col([dbc.Label("Colours", className="small mb-0 d-block"),
                 dbc.Switch(id="map-palette", value=palette == "cvd", label="Colour-vision-assist palette")],
                xs=12, sm=6, lg=3),
        dbc.Col([dbc.Label("View", className="small mb-0 d-block"),
                 dbc.RadioItems(id="map-view", value=view, inline=True,
                                options=[{"label": v, "value": k} for k, v in VIEWS.items()])], xs=12, sm=6, lg=3),
    ], className="g-2 mb-1 align-items-end")
    timeline = dbc.Row([
        dbc.Col([dbc.Label("From (UTC)", html_for="map-start", className="small mb-0"),
                 dcc.Input(id="map-start", type="datetime-local", value=start and _local_input(lo), step=3600,
                           debounce=True, className="form-control form-control-sm")], xs=6, md=3, xl=2),
        dbc.Col([dbc.Label("To (UTC)", html_for="map-end", className="small mb-0"),
                 dcc.Input(id="map-end", type="datetime-local", value=end and _local_input(hi), step=3600,
                           debounce=True, className="form-control form-control-sm")], xs=6, md=3, xl=2),
        dbc.Col(html.Div([
            html.Button("◀", id="map-back", className="btn btn-outline-secondary btn-sm", title="One hour back",
                        **{"aria-label": "One hour back"}),
            html.Button("▶ Play", id="map-play", className="btn btn-primary btn-sm mx-1",
                        **{"aria-label": "Play the hours", "aria-pressed": "false"}),
            html.Button("▶|", id="map-forward", className="btn btn-outline-secondary btn-sm",
                        title="One hour forward", **{"aria-label": "One hour forward"}),
        ], className="d-flex"), xs="auto", className="pt-3"),
        dbc.Col(dcc.Slider(id="map-time", min=lo, max=hi, step=1, value=shown, marks=slider_marks(lo, hi),
                           updatemode="mouseup", allow_direct_input=False, included=False,
                           tooltip={"always_visible": False}),
                xs=12, md=True, className="pt-2", id="map-time-col"),
        dbc.Col(html.Div(id="map-time-label", className="small fw-bold text-nowrap"), xs="auto"),
    ], className="g-2 mb-1 align-items-center")
    actions = html.Div([
        html.A("Download CSV", id="map-export", className="btn btn-outline-secondary btn-sm me-2", href="#",
               role="button"),
        dcc.Clipboard(id="map-embed-copy", target_id="map-embed-code", children="Embed this view",
                      copied_children="Embed code copied", className="btn btn-outline-secondary btn-sm me-2",
                      title="Copy the iframe code for this view"),
        html.Span(id="map-export-note", className="small text-muted"),
        html.Details([html.Summary("Embed code", className="small"),
                      html.Pre(id="map-embed-code", className="small embed-code mb-0")], className="mt-1"),
    ], className="mb-2")
    return html.Div([
        controls, options, timeline,
        html.Div(id="map-range-note", className="small text-warning-emphasis"),
        actions,
        dbc.Row([
            dbc.Col([
                html.Div(dcc.Graph(id="map-graph", className="map-graph", config={"displaylogo": False}),
                         id="map-graph-wrap", hidden=view != "map"),
                html.Div(id="map-table", hidden=view != "table", className="map-table"),
                html.Div(id="map-ranking", hidden=view != "ranking"),
                html.Div(id="map-legend", className="map-legend mt-1"),
                html.Div(id="map-as-of", className="text-muted small", role="status", **{"aria-live": "polite"}),
            ], xs=12, lg=8),
            dbc.Col(html.Div(id="map-station-panel", children=_panel_hint()), xs=12, lg=4),
        ], className="g-2"),
        dcc.Store(id="map-selected", data=selected),
        dcc.Interval(id="map-refresh", interval=settings.map_refresh_s * 1000),
        dcc.Interval(id="map-player", interval=1000, disabled=True),
        html.Div(id="map-url-sink", hidden=True),
    ])


def _panel_hint() -> dbc.Card:
    return dbc.Card(dbc.CardBody("Click a station on the map to see its AQI, main pollutant, health advice "
                                 "and the last 72 hours."), className="text-muted")


def surface_url(surface_city: str, scope: str, standard: str, pollutant: str, as_of: datetime | None,
                cvd: bool) -> str:
    """The same-origin URL of one city's surface PNG (served by dashboard.export, cached in `spatial`)."""
    query = {"city": surface_city, "scope": scope or "", "standard": standard, "pollutant": pollutant,
             "palette": "cvd" if cvd and standard == "us_epa" else "standard"}
    if as_of is not None:
        query["hour"] = as_of.strftime("%Y-%m-%dT%H:00Z")
    return "/export/surface.png?" + urlencode(query)


def _hour_dt(hour: int | None) -> datetime | None:
    return None if hour is None else datetime.fromtimestamp(hour * 3600, timezone.utc)


def _palette(standard: str, cvd: bool) -> tuple[list[dict], str | None]:
    if cvd and standard == "us_epa":
        return categories(standard, palette="cvd"), None
    return categories(standard), ("The colour-vision-assist palette is defined for US EPA only." if cvd else None)


@callback(
    Output("map-time", "min"), Output("map-time", "max"), Output("map-time", "marks"), Output("map-time", "value"),
    Output("map-range-note", "children"),
    Input("map-start", "value"), Input("map-end", "value"), Input("map-refresh", "n_intervals"),
    State("map-time", "value"), State("map-time", "max"), State("map-standard", "value"), State("map-city", "value"),
    prevent_initial_call=True,
)
def update_range(start: str | None, end: str | None, _tick, value: int, old_max: int, standard: str, city: str):
    as_of = current(standard, city or None)["as_of"]
    latest = int(as_of.timestamp() // 3600) if as_of else old_max
    lo, hi, note = time_range(start, end, latest)
    # Following the newest hour: keep following it when a new hour arrives.
    value = hi if value is None or value == old_max or not lo <= value <= hi else value
    return lo, hi, slider_marks(lo, hi), value, note


# Playback and the hour buttons run in the browser: no server round trip just to move the slider.
clientside_callback(ClientsideFunction("aqiMap", "togglePlay"),
                    Output("map-player", "disabled"), Output("map-play", "children"),
                    Output("map-play", "aria-pressed"),
                    Input("map-play", "n_clicks"), State("map-player", "disabled"), prevent_initial_call=True)
clientside_callback(ClientsideFunction("aqiMap", "step"),
                    Output("map-time", "value", allow_duplicate=True),
                    Output("map-player", "disabled", allow_duplicate=True),
                    Output("map-play", "children", allow_duplicate=True),
                    Input("map-player", "n_intervals"), Input("map-back", "n_clicks"), Input("map-forward", "n_clicks"),
                    State("map-time", "value"), State("map-time", "min"), State("map-time", "max"),
                    State("map-player", "disabled"), prevent_initial_call=True)
clientside_callback(ClientsideFunction("aqiMap", "syncUrl"),
                    Output("map-url-sink", "children"), Output("map-export", "href"),
                    Output("map-export-note", "children"), Output("map-embed-code", "children"),
                    Output("map-time-label", "children"),
                    Input("map-city", "value"), Input("map-standard", "value"), Input("map-pollutant", "value"),
                    Input("map-time", "value"), Input("map-time", "min"), Input("map-time", "max"),
                    Input("map-start", "value"), Input("map-end", "value"), Input("map-layers", "value"),
                    Input("map-palette", "value"), Input("map-view", "value"), Input("map-selected", "data"))


@callback(
    Output("map-graph-wrap", "hidden"), Output("map-table", "hidden"), Output("map-ranking", "hidden"),
    Input("map-view", "value"), prevent_initial_call=True,
)
def switch_view(view: str):
    return view != "map", view != "table", view != "ranking"


@callback(
    Output("map-graph", "figure"), Output("map-legend", "children"), Output("map-as-of", "children"),
    Input("map-standard", "value"), Input("map-pollutant", "value"), Input("map-city", "value"),
    Input("map-time", "value"), Input("map-layers", "value"), Input("map-palette", "value"),
    Input("map-refresh", "n_intervals"), Input("map-selected", "data"),
)
def update_map(standard: str, pollutant: str, city: str, hour: int | None, layers: list[str], cvd: bool, _tick,
               selected: int | None):
    snapshot = snapshot_at(standard, city or None, _hour_dt(hour))
    stations = snapshot["stations"]
    cats, palette_note = _palette(standard, cvd)
    center, zoom = fit_view([s["lat"] for s in stations], [s["lon"] for s in stations])
    overlays = []
    if "surface" in (layers or []):
        overlays = surface_layers({c: (sf["bounds"], surface_url(c, city, standard, pollutant, snapshot["as_of"], cvd))
                                   for c, sf in surfaces(standard, city or None, snapshot["as_of"], pollutant).items()})
    settings = get_settings()
    kinds = tuple(k for k in ("reference", "low_cost") if k in (layers or []))
    fig = map_figure(stations, pollutant, standard, cats, settings.map_tiles, settings.map_tiles_attribution,
                     center, zoom, selected, overlays, kinds)
    fig.update_layout(uirevision=f"{city}")  # keep the user's pan/zoom until the city changes
    reported = sum(1 for s in stations if marker_value(s, pollutant, standard) is not None)
    legend = [html.Span(c["name"], className="legend-chip", style=chip_style(c["color"])) for c in cats]
    legend.append(html.Span("No data", className="legend-chip", style=chip_style(NO_DATA)))
    legend.append(html.Div(["Large dots with a dark ring: reference monitors · small dots: low-cost sensors "
                            "(PM2.5 EPA-corrected)", *([" · surface: inverse-distance weighting between stations"]
                                                       if overlays else [])], className="small text-muted"))
    if palette_note:
        legend.append(html.Div(palette_note, className="small text-muted"))
    as_of = snapshot["as_of"]
    when = as_of.strftime("%Y-%m-%d %H:00 UTC") if as_of else "no data yet"
    return fig, legend, f"As of {when} · {reported} of {len(stations)} stations reporting {LABELS[pollutant]}"


@callback(
    Output("map-table", "children"),
    Input("map-view", "value"), Input("map-standard", "value"), Input("map-pollutant", "value"),
    Input("map-city", "value"), Input("map-time", "value"), Input("map-palette", "value"),
)
def update_table(view: str, standard: str, pollutant: str, city: str, hour: int | None, cvd: bool):
    if view != "table":
        return no_update
    snapshot = snapshot_at(standard, city or None, _hour_dt(hour))
    cats, _ = _palette(standard, cvd)
    return station_table(snapshot, standard, pollutant, cats)


def station_table(snapshot: dict, standard: str, pollutant: str, cats: list[dict]) -> dbc.Table:
    """The map's data as an accessible table: one row per station, worst first."""
    label = "Level" if standard == "eea" else "AQI"
    rows = []
    ordered = sorted(snapshot["stations"], key=lambda s: (-(marker_value(s, pollutant, standard) or -1), s["name"]))
    for s in ordered:
        value = marker_value(s, pollutant, standard)
        cat = category_of(value, cats)
        pm = s["pollutants"].get("pm25")
        pm_text = "—" if not pm else f"{pm['concentration']:.1f}" + (" (EPA-corrected)" if s["kind"] == "low_cost" else "")
        rows.append(html.Tr([
            html.Th(s["name"], scope="row"), html.Td(s["city"]),
            html.Td("Reference monitor" if s["kind"] == "reference" else "Low-cost sensor"),
            html.Td("—" if value is None else f"{value:.0f}"),
            html.Td(html.Span(cat["name"], className="legend-chip", style=chip_style(cat["color"])) if cat else "No data"),
            html.Td(LABELS.get(s["main_pollutant"] or "", "—")), html.Td(pm_text),
        ]))
    when = snapshot["as_of"].strftime("%Y-%m-%d %H:00 UTC") if snapshot["as_of"] else "no data"
    return dbc.Table([
        html.Caption(f"{LABELS[pollutant]} ({label}, {STANDARDS[standard]}) at {when}, worst first"),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in
                            ("Station", "City", "Type", label, "Category", "Main pollutant", "PM2.5 µg/m³")])),
        html.Tbody(rows)], size="sm", striped=True, responsive=True, className="small", id="map-table-grid")


@callback(
    Output("map-ranking", "children"),
    Input("map-view", "value"), Input("map-standard", "value"), Input("map-pollutant", "value"),
    Input("map-time", "value"), Input("map-palette", "value"), Input("map-city", "value"),
)
def update_ranking(view: str, standard: str, pollutant: str, hour: int | None, cvd: bool, city: str):
    if view != "ranking":
        return no_update
    cats, _ = _palette(standard, cvd)
    everywhere = rankings(snapshot_at(standard, None, _hour_dt(hour)), standard, pollutant)
    stations = [s for s in everywhere["stations"] if not city or s["city"] == city][:20]
    color = {c["name"]: c["color"] for c in cats}
    label = "Level" if standard == "eea" else "AQI"

    def chip(name):
        return html.Span(name, className="legend-chip", style=chip_style(color[name])) if name else "No data"
    return dbc.Row([
        dbc.Col(dbc.Table([
            html.Caption("Cities by current index (the worst reference monitor)"),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in ("#", "City", label, "Category", "Worst station")])),
            html.Tbody([html.Tr([html.Td(i), html.Th(c["city"], scope="row"),
                                 html.Td("—" if c["value"] is None else f"{c['value']:.0f}"), html.Td(chip(c["category"])),
                                 html.Td(c["worst_station"] or "—")])
                        for i, c in enumerate(everywhere["cities"], 1)])], size="sm", className="small",
            id="map-rank-cities"), xs=12, md=6),
        dbc.Col(dbc.Table([
            html.Caption(f"Stations by current index{' in ' + city if city else ''} (top 20)"),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in ("#", "Station", "City", label, "Category")])),
            html.Tbody([html.Tr([html.Td(i), html.Th(s["name"], scope="row"), html.Td(s["city"]),
                                 html.Td(f"{s['value']:.0f}"), html.Td(chip(s["category"]))])
                        for i, s in enumerate(stations, 1)])], size="sm", className="small",
            id="map-rank-stations"), xs=12, md=6),
    ])


@callback(Output("map-selected", "data"), Input("map-graph", "clickData"), prevent_initial_call=True)
def select_station(click: dict | None):
    point = (click or {}).get("points", [{}])[0]
    return point.get("customdata", no_update)


@callback(
    Output("map-station-panel", "children"),
    Input("map-selected", "data"), Input("map-standard", "value"), Input("map-refresh", "n_intervals"),
    Input("map-time", "value"), State("map-city", "value"),
)
def station_panel(station_id: int | None, standard: str, _tick, hour: int | None, city: str):
    if station_id is None:
        return _panel_hint()
    snapshot = snapshot_at(standard, city or None, _hour_dt(hour))
    station = next((s for s in snapshot["stations"] if s["id"] == station_id), None)
    if station is None:
        return dbc.Alert("That station is not on the map for this city and hour.", color="warning")
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
        corrected = " (EPA-corrected)" if p == "pm25" and station["kind"] == "low_cost" else ""
        rows.append(html.Tr([html.Td(LABELS[p]),
                             html.Td(f"{entry['concentration']:.{2 if p == 'co' else 1}f} {entry['unit']}{corrected}"),
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

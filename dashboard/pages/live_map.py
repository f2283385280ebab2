"""Live AQI map: stations coloured by category at any hour of a range (grouped at low zoom, the worst category
on top), optional category bands, search and "near me", a table view, rankings, CSV export and an embed snippet.
The whole view lives in the query string, so it can be shared."""
from __future__ import annotations

import math
import time
from datetime import datetime

import dash
import dash_bootstrap_components as dbc
import httpx
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)

from core import catalog
from core.aqi.engine import categories
from core.interpolation import surfaces
from core.rankings import rankings
from core.snapshots import current, snapshot_at, station_history
from core.times import from_epoch, now, parse_iso
from dashboard import context
from dashboard.components.cards import panel_hint, station_card
from dashboard.components.chips import legend
from dashboard.components.controls import labelled, radios, slider_marks, timeline
from dashboard.components.tables import rankings_tables, station_table
from dashboard.figures import (
    LABELS,
    STANDARDS,
    band_layers,
    fit_view,
    map_figure,
    marker_value,
)
from dashboard.ids import Map

dash.register_page(__name__, path="/", name="Live map", title="Live AQI map", order=0)

DEFAULT_HOURS = 72
MAX_HOURS = 31 * 24  # the slider's longest range; export takes longer ones
LAYERS = {"surface": "Category bands (interpolated)", "reference": "Reference monitors", "low_cost": "Low-cost sensors"}
SEARCH_RESULTS = 20
COMPARE_CHOICES = 12  # the nearest stations offered for comparison
TILE_CHECK_S = 600  # how long a tile server's answer (reachable or not) is trusted
_tile_checks: dict[str, tuple[float, bool]] = {}
DEFAULT_LAYERS = ["reference", "low_cost"]
VIEWS = {"map": "Map", "table": "Table", "ranking": "Ranking"}


def _hour_of(value: str | None) -> int | None:
    """An ISO time (Z or naive = UTC) as whole hours since the epoch; None when absent or unreadable."""
    if not value:
        return None
    try:
        return int(parse_iso(value).timestamp() // 3600)
    except ValueError:
        return None


def _hour_dt(hour: int | None) -> datetime | None:
    return None if hour is None else from_epoch(hour * 3600)


def _latest_hour(standard: str, city: str) -> int | None:
    as_of = current(context.current(), standard, city or None)["as_of"]
    return int(as_of.timestamp() // 3600) if as_of else None


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


def layout(pathname: str | None = None, city: str = "", standard: str = "", pollutant: str = "aqi", time: str = "",
           start: str = "", end: str = "", layers: str | None = None, station: str = "", palette: str = "standard",
           view: str = "map", **_other) -> html.Div:
    if pathname is None:  # Dash's validation layout (routing always passes the pathname): no database
        return skeleton()
    settings = context.settings()
    city_names = [c["name"] for c in catalog.cities(context.current())]
    city = city if city in city_names else ""
    standard = standard if standard in STANDARDS else settings.default_standard
    latest = _latest_hour(standard, city) or int(now().timestamp() // 3600)
    lo, hi, _ = time_range(start, end, latest)
    shown = _hour_of(time)
    return skeleton(city_names, city, standard, pollutant if pollutant in LABELS else "aqi",
                    DEFAULT_LAYERS if layers is None else [x for x in layers.split(",") if x in LAYERS],
                    palette == "cvd", view if view in VIEWS else "map", int(station) if station.isdigit() else None,
                    (lo, hi, hi if shown is None or not lo <= shown <= hi else shown),
                    (lo if start else None, hi if end else None), settings.map_refresh_s * 1000)


def skeleton(city_names: list[str] = (), city: str = "", standard: str = "us_epa", pollutant: str = "aqi",
             layers: list[str] = DEFAULT_LAYERS, cvd: bool = False, view: str = "map", selected: int | None = None,
             hours: tuple[int, int, int] = (0, 0, 0), picked: tuple[int | None, int | None] = (None, None),
             refresh_ms: int = 60_000) -> html.Div:
    """The page in a given state: the slider's (lo, hi, shown) hours, the picked range's ends (None if not)."""
    controls = dbc.Row([
        labelled("City", dcc.Dropdown(id=Map.CITY, value=city, clearable=False,
                                      options=[{"label": "All cities", "value": ""}]
                                      + [{"label": c, "value": c} for c in city_names]),
                 html_for=Map.CITY, xs=12, md=4, xl=2),
        labelled("Standard", radios(Map.STANDARD, STANDARDS, standard), xs=12, md=8, xl=4),
        labelled("Show", radios(Map.POLLUTANT, LABELS, pollutant), xs=12, xl=6),
    ], className="g-2 mb-1 align-items-end")
    find = dbc.Row([
        labelled("Find a station or area", dcc.Dropdown(id=Map.SEARCH, options=[], searchable=True, clearable=True,
                                                        placeholder="Type two letters or more…"),
                 html_for=Map.SEARCH, xs=12, md=6, xl=4),
        dbc.Col([html.Button("Near me", id=Map.NEAR, className="btn btn-outline-primary btn-sm",
                             title="Ask the browser for your location and open the nearest reporting station"),
                 html.Span(id=Map.NEAR_NOTE, className="small ms-2", role="status", **{"aria-live": "polite"})],
                xs=12, md=6, xl=8),
    ], className="g-2 mb-1 align-items-end")
    options = dbc.Row([
        labelled("Layers", dbc.Checklist(id=Map.LAYERS, value=layers, inline=True,
                                         options=[{"label": v, "value": k} for k, v in LAYERS.items()]), xs=12, lg=6),
        labelled("Colours", dbc.Switch(id=Map.PALETTE, value=cvd, label="Colour-vision-assist palette"),
                 xs=12, sm=6, lg=3),
        labelled("View", radios(Map.VIEW, VIEWS, view), xs=12, sm=6, lg=3),
    ], className="g-2 mb-1 align-items-end")
    actions = html.Div([
        html.A("Download CSV", id=Map.EXPORT, className="btn btn-outline-secondary btn-sm me-2", href="#",
               role="button"),
        dcc.Clipboard(id=Map.EMBED_COPY, target_id=Map.EMBED_CODE, children="Embed this view",
                      copied_children="Embed code copied", className="btn btn-outline-secondary btn-sm me-2",
                      title="Copy the iframe code for this view"),
        html.Span(id=Map.EXPORT_NOTE, className="small text-muted"),
        html.Details([html.Summary("Embed code", className="small"),
                      html.Pre(id=Map.EMBED_CODE, className="small embed-code mb-0")], className="mt-1"),
    ], className="mb-2")
    compare = html.Div(labelled("Compare with", dcc.Dropdown(id=Map.COMPARE, options=[], clearable=True,
                                                             placeholder="A nearby station…"),
                                html_for=Map.COMPARE), id=Map.COMPARE_WRAP, hidden=True, className="mt-2")
    return html.Div([
        controls, find, options, timeline(*hours, *picked),
        html.Div(id=Map.RANGE_NOTE, className="small text-warning-emphasis"),
        actions,
        dbc.Row([
            dbc.Col([
                html.Div(dcc.Graph(id=Map.GRAPH, className="map-graph", config={"displaylogo": False}),
                         id=Map.GRAPH_WRAP, hidden=view != "map", role="region",
                         **{"aria-label": "Map of the stations; the table view lists the same data"}),
                html.Div(id=Map.TABLE, hidden=view != "table", className="map-table"),
                html.Div(id=Map.RANKING, hidden=view != "ranking"),
                html.Div(id=Map.LEGEND, className="map-legend mt-1"),
                html.Div(id=Map.AS_OF, className="small map-as-of", role="status", **{"aria-live": "polite"}),
            ], xs=12, lg=8),
            dbc.Col([html.Div(id=Map.PANEL, children=panel_hint()), compare], xs=12, lg=4),
        ], className="g-2"),
        dcc.Store(id=Map.SELECTED, data=selected),
        dcc.Store(id=Map.CLUSTER_ZOOM),
        dcc.Store(id=Map.POSITION),
        dcc.Interval(id=Map.REFRESH, interval=refresh_ms),
        dcc.Interval(id=Map.PLAYER, interval=1000, disabled=True),
        html.Div(id=Map.URL_SINK, hidden=True),
    ])


def _palette(standard: str, cvd: bool) -> tuple[list[dict], str | None]:
    if cvd and standard == "us_epa":
        return categories(standard, palette="cvd"), None
    return categories(standard), ("The colour-vision-assist palette is defined for US EPA only." if cvd else None)


def tiles_online(template: str) -> bool:
    """Whether the tile server answers, asked at most every TILE_CHECK_S: tiles it cannot serve are left off the
    map, so the browser requests none and logs no error."""
    checked = _tile_checks.get(template)
    if checked and time.monotonic() - checked[0] < TILE_CHECK_S:
        return checked[1]
    try:
        online = httpx.get(template.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"),
                           timeout=2.0).status_code < 400
    except httpx.HTTPError:
        online = False
    _tile_checks[template] = (time.monotonic(), online)
    return online


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 12742 * math.asin(math.sqrt(min(a, 1.0)))


def _no_city(exc: LookupError) -> str:
    return f"Cannot show that: {exc.args[0] if exc.args else exc}. Pick an area from the list."


@callback(
    Output(Map.TIME, "min"), Output(Map.TIME, "max"), Output(Map.TIME, "marks"), Output(Map.TIME, "value"),
    Output(Map.RANGE_NOTE, "children"),
    Input(Map.START, "value"), Input(Map.END, "value"), Input(Map.REFRESH, "n_intervals"),
    State(Map.TIME, "value"), State(Map.TIME, "max"), State(Map.STANDARD, "value"), State(Map.CITY, "value"),
    prevent_initial_call=True,
)
def update_range(start: str | None, end: str | None, _tick, value: int, old_max: int, standard: str, city: str):
    try:
        latest = _latest_hour(standard, city) or old_max
    except LookupError:
        latest = old_max
    lo, hi, note = time_range(start, end, latest)
    # Following the newest hour: keep following it when a new hour arrives.
    value = hi if value is None or value == old_max or not lo <= value <= hi else value
    return lo, hi, slider_marks(lo, hi), value, note


# Playback, the hour buttons, the cluster zoom and geolocation run in the browser: no round trip for them.
clientside_callback(ClientsideFunction("aqiMap", "togglePlay"),
                    Output(Map.PLAYER, "disabled"), Output(Map.PLAY, "children"), Output(Map.PLAY, "aria-pressed"),
                    Input(Map.PLAY, "n_clicks"), State(Map.PLAYER, "disabled"), prevent_initial_call=True)
clientside_callback(ClientsideFunction("aqiMap", "step"),
                    Output(Map.TIME, "value", allow_duplicate=True),
                    Output(Map.PLAYER, "disabled", allow_duplicate=True),
                    Output(Map.PLAY, "children", allow_duplicate=True),
                    Input(Map.PLAYER, "n_intervals"), Input(Map.BACK, "n_clicks"), Input(Map.FORWARD, "n_clicks"),
                    State(Map.TIME, "value"), State(Map.TIME, "min"), State(Map.TIME, "max"),
                    State(Map.PLAYER, "disabled"), prevent_initial_call=True)
clientside_callback(ClientsideFunction("aqiMap", "syncUrl"),
                    Output(Map.URL_SINK, "children"), Output(Map.EXPORT, "href"),
                    Output(Map.EXPORT_NOTE, "children"), Output(Map.EMBED_CODE, "children"),
                    Output(Map.TIME_LABEL, "children"),
                    Input(Map.CITY, "value"), Input(Map.STANDARD, "value"), Input(Map.POLLUTANT, "value"),
                    Input(Map.TIME, "value"), Input(Map.TIME, "min"), Input(Map.TIME, "max"),
                    Input(Map.START, "value"), Input(Map.END, "value"), Input(Map.LAYERS, "value"),
                    Input(Map.PALETTE, "value"), Input(Map.VIEW, "value"), Input(Map.SELECTED, "data"))
clientside_callback(ClientsideFunction("aqiMap", "clusterZoom"),
                    Output(Map.CLUSTER_ZOOM, "data"),
                    Input(Map.GRAPH, "relayoutData"), State(Map.CITY, "value"), State(Map.CLUSTER_ZOOM, "data"),
                    prevent_initial_call=True)
clientside_callback(ClientsideFunction("aqiMap", "zoomToCluster"),
                    Output(Map.CLUSTER_ZOOM, "data", allow_duplicate=True),
                    Input(Map.GRAPH, "clickData"), State(Map.CITY, "value"), prevent_initial_call=True)
clientside_callback(ClientsideFunction("aqiMap", "nearMe"),
                    Output(Map.POSITION, "data"), Output(Map.NEAR_NOTE, "children"),
                    Input(Map.NEAR, "n_clicks"), prevent_initial_call=True)


@callback(Output(Map.GRAPH_WRAP, "hidden"), Output(Map.TABLE, "hidden"), Output(Map.RANKING, "hidden"),
          Input(Map.VIEW, "value"), prevent_initial_call=True)
def switch_view(view: str):
    return view != "map", view != "table", view != "ranking"


@callback(
    Output(Map.GRAPH, "figure"), Output(Map.LEGEND, "children"), Output(Map.AS_OF, "children"),
    Input(Map.STANDARD, "value"), Input(Map.POLLUTANT, "value"), Input(Map.CITY, "value"),
    Input(Map.TIME, "value"), Input(Map.LAYERS, "value"), Input(Map.PALETTE, "value"),
    Input(Map.REFRESH, "n_intervals"), Input(Map.SELECTED, "data"), Input(Map.CLUSTER_ZOOM, "data"),
)
def update_map(standard: str, pollutant: str, city: str, hour: int | None, layers: list[str], cvd: bool, _tick,
               selected: int | None, cluster_zoom: dict | None):
    ctx, layers, settings = context.current(), layers or [], context.settings()
    cats, palette_note = _palette(standard, cvd)
    try:
        snapshot = snapshot_at(ctx, standard, city or None, _hour_dt(hour))
        surface = surfaces(ctx, standard, city or None, snapshot["as_of"], pollutant) if "surface" in layers else None
    except LookupError as exc:  # catalog.UnknownCity: a stale or edited URL
        return map_figure([], pollutant, standard, cats), [], html.Span(_no_city(exc), className="text-danger")
    stations, as_of = snapshot["stations"], snapshot["as_of"]
    reporting = [s for s in stations if marker_value(s, pollutant, standard) is not None] or stations
    center, zoom = fit_view([s["lat"] for s in reporting], [s["lon"] for s in reporting])
    level = cluster_zoom["level"] if cluster_zoom and cluster_zoom.get("city") == city else zoom
    tiles = settings.map_tiles if settings.map_tiles and tiles_online(settings.map_tiles) else ""
    fig = map_figure(stations, pollutant, standard, cats, tiles, settings.map_tiles_attribution, center, zoom,
                     selected, band_layers(surface, cats) if surface else [],
                     tuple(k for k in ("reference", "low_cost") if k in layers), settings.stale_after_h, level)
    fig.update_layout(uirevision=f"{city}")  # keep the user's pan/zoom until the city changes
    reported = sum(1 for s in stations if marker_value(s, pollutant, standard) is not None)
    when = as_of.strftime("%Y-%m-%d %H:00 UTC") if as_of else "no data yet"
    return (fig, legend(cats, surface, palette_note, settings.stale_after_h),
            f"As of {when} · {reported} of {len(stations)} stations reporting {LABELS[pollutant]}")


@callback(
    Output(Map.TABLE, "children"),
    Input(Map.VIEW, "value"), Input(Map.STANDARD, "value"), Input(Map.POLLUTANT, "value"),
    Input(Map.CITY, "value"), Input(Map.TIME, "value"), Input(Map.PALETTE, "value"),
)
def update_table(view: str, standard: str, pollutant: str, city: str, hour: int | None, cvd: bool):
    if view != "table":
        return no_update
    try:
        snapshot = snapshot_at(context.current(), standard, city or None, _hour_dt(hour))
    except LookupError as exc:
        return dbc.Alert(_no_city(exc), color="warning")
    return station_table(snapshot, standard, pollutant, _palette(standard, cvd)[0], context.settings().stale_after_h)


@callback(
    Output(Map.RANKING, "children"),
    Input(Map.VIEW, "value"), Input(Map.STANDARD, "value"), Input(Map.POLLUTANT, "value"),
    Input(Map.TIME, "value"), Input(Map.PALETTE, "value"), Input(Map.CITY, "value"),
)
def update_ranking(view: str, standard: str, pollutant: str, hour: int | None, cvd: bool, city: str):
    if view != "ranking":
        return no_update
    everywhere = rankings(snapshot_at(context.current(), standard, None, _hour_dt(hour)), standard, pollutant)
    return rankings_tables(everywhere, city, standard, _palette(standard, cvd)[0])


@callback(Output(Map.SELECTED, "data"), Input(Map.GRAPH, "clickData"), prevent_initial_call=True)
def select_station(click: dict | None):
    point = (click or {}).get("points", [{}])[0]
    picked = point.get("customdata")
    return picked if isinstance(picked, int) else no_update  # a cluster's customdata is its [lon, lat]


def search_matches(query: str, cities: list[dict], stations: list[dict], limit: int = SEARCH_RESULTS) -> list[dict]:
    """Dropdown options for areas ("c:<name>") and stations ("s:<id>") whose names hold the query, areas first."""
    needle = query.strip().casefold()
    found = [{"label": f"{c['name']} (area, {c['stations']} stations)", "value": f"c:{c['name']}"}
             for c in cities if needle in c["name"].casefold()]
    found += [{"label": f"{s['name']} — {s['city']}", "value": f"s:{s['id']}"}
              for s in stations if needle in s["name"].casefold()]
    return found[:limit]


@callback(Output(Map.SEARCH, "options"), Input(Map.SEARCH, "search_value"), State(Map.SEARCH, "options"),
          prevent_initial_call=True)
def search_options(query: str | None, shown: list[dict]):
    if not query or len(query.strip()) < 2:
        return no_update
    ctx = context.current()
    return search_matches(query, catalog.cities(ctx), catalog.stations(ctx)) or shown


@callback(Output(Map.CITY, "value", allow_duplicate=True), Output(Map.SELECTED, "data", allow_duplicate=True),
          Input(Map.SEARCH, "value"), prevent_initial_call=True)
def open_found(value: str | None):
    kind, _, key = (value or "").partition(":")
    if kind == "c":
        return key, None
    station = next((s for s in catalog.stations(context.current()) if kind == "s" and str(s["id"]) == key), None)
    return (station["city"], station["id"]) if station else (no_update, no_update)


@callback(Output(Map.CITY, "value", allow_duplicate=True), Output(Map.SELECTED, "data", allow_duplicate=True),
          Output(Map.NEAR_NOTE, "children", allow_duplicate=True),
          Input(Map.POSITION, "data"), State(Map.STANDARD, "value"), prevent_initial_call=True)
def near_me(position: dict | None, standard: str):
    if not position:
        return no_update, no_update, no_update
    stations = [s for s in current(context.current(), standard)["stations"] if s["aqi"] is not None]
    if not stations:
        return no_update, no_update, "No station is reporting."
    nearest = min(stations, key=lambda s: distance_km(position["lat"], position["lon"], s["lat"], s["lon"]))
    km = distance_km(position["lat"], position["lon"], nearest["lat"], nearest["lon"])
    return nearest["city"], nearest["id"], f"Nearest reporting station: {nearest['name']}, {km:.0f} km away."


def compare_options(station: dict, stations: list[dict], limit: int = COMPARE_CHOICES) -> list[dict]:
    """The nearest other stations, nearest first, labelled with their distance."""
    others = sorted(((distance_km(station["lat"], station["lon"], s["lat"], s["lon"]), s) for s in stations
                     if s["id"] != station["id"] and s["lat"] is not None), key=lambda pair: pair[0])[:limit]
    return [{"label": f"{s['name']} — {s['city']} ({km:.0f} km)", "value": s["id"]} for km, s in others]


@callback(
    Output(Map.PANEL, "children"), Output(Map.COMPARE, "options"), Output(Map.COMPARE_WRAP, "hidden"),
    Input(Map.SELECTED, "data"), Input(Map.COMPARE, "value"), Input(Map.STANDARD, "value"),
    Input(Map.REFRESH, "n_intervals"), Input(Map.TIME, "value"),
)
def station_panel(station_id: int | None, compare_id: int | None, standard: str, _tick, hour: int | None):
    if station_id is None:
        return panel_hint(), [], True
    ctx = context.current()
    everywhere = catalog.stations(ctx)
    listed = next((s for s in everywhere if s["id"] == station_id), None)
    if listed is None:
        return dbc.Alert(f"There is no station {station_id}.", color="warning"), [], True
    snapshot = snapshot_at(ctx, standard, listed["city"], _hour_dt(hour))
    station = next((s for s in snapshot["stations"] if s["id"] == station_id), None)
    if station is None:
        return dbc.Alert("That station is not active at this hour.", color="warning"), [], True
    choices = compare_options(listed, everywhere)
    other = next((s for s in everywhere if s["id"] == compare_id and s["id"] != station_id), None)
    compare = station_history(ctx, other["id"], snapshot["as_of"]) if other else None
    history = station_history(ctx, station_id, snapshot["as_of"])
    return (station_card(station, standard, categories(standard), snapshot["as_of"], history, listed["source"],
                         context.settings().stale_after_h, compare, other["name"] if other else ""),
            choices, False)

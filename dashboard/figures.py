"""Pure figure builders: data in, go.Figure out."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.aqi import standards
from core.aqi.categories import band_positions
from core.aqi.nowcast import nowcast_array
from core.parameters import UNITS

STANDARDS = {s.code: s.name for s in standards.STANDARDS.values()}
LABELS = {"aqi": "Overall AQI", "pm25": "PM2.5", "pm10": "PM10", "o3": "O₃", "no2": "NO₂", "so2": "SO₂", "co": "CO"}
NO_DATA = "#9E9E9E"
STALE_COLOR = "#CFD8DC"  # AirNow greys a reading that is not current; lighter than "no data"
NONE, STALE = -2, -1  # marker states below the category positions 0, 1, …
CLUSTER_PX = 44  # stations closer than this on screen share one marker…
CLUSTER_MAX_ZOOM = 9  # …below this zoom; from it on every station is drawn
WORLD_OUTLINE = "/assets/world-outline-50m.geojson"
NOWCAST_POLLUTANTS = ("pm25", "pm10", "o3")  # the US index reads these as NowCasts
NOWCAST_HOURS = 12


text_color = standards.text_color  # black or white on a #RRGGBB chip, whichever meets WCAG AA


def chip_style(background: str) -> dict:
    return {"background": background, "color": text_color(background)}


def marker_value(station: dict, pollutant: str, standard: str) -> float | None:
    """The number a marker shows: the overall index or one pollutant's sub-index."""
    if pollutant == "aqi":
        return station["aqi"]
    entry = station["pollutants"].get(pollutant)
    return entry["sub_index"] if entry else None


def category_of(value: float | None, categories: list[dict]) -> dict | None:
    """The legend entry holding value by the registry's rule (rounded half up; EEA: the level number)."""
    if value is None:
        return None
    position = int(band_positions([c["low"] for c in categories], value))
    return categories[position] if position >= 0 else None


def fit_view(lats: list[float], lons: list[float], width_px: int = 900, height_px: int = 560) -> tuple[dict, float]:
    """Centre and zoom that show the points (MapLibre: 512 px spans 360° of longitude at zoom 0).

    With many points the box spans the 5th to 95th percentiles, so a few remote sites (embassy monitors on
    another continent) do not zoom a national network out to the whole world.
    """
    if not lats:
        return {"lat": 25, "lon": 0}, 1.0
    q = (5, 95) if len(lats) >= 50 else (0, 100)
    south, north = (float(v) for v in np.percentile(lats, q))
    west, east = (float(v) for v in np.percentile(lons, q))
    lat_span = max(north - south, 0.05) * 1.3
    lon_span = max(east - west, 0.05) * 1.3
    mid_lat = (north + south) / 2
    # Web Mercator stretches a degree of latitude by 1/cos(lat) relative to a degree of longitude.
    zoom = min(np.log2(width_px * 360 / (512 * lon_span)),
               np.log2(height_px * 360 * np.cos(np.radians(mid_lat)) / (512 * lat_span)))
    return {"lat": mid_lat, "lon": (east + west) / 2}, float(np.clip(zoom, 0.5, 13))


def marker_states(stations: list[dict], pollutant: str, standard: str, categories: list[dict],
                  stale_after_h: float) -> list[int]:
    """Per station: its category position, STALE (newest reading older than stale_after_h) or NONE (no value)."""
    values = np.array([np.nan if (v := marker_value(s, pollutant, standard)) is None else v for s in stations],
                      dtype=float)
    ages = np.array([np.inf if s.get("age_hours") is None else s["age_hours"] for s in stations], dtype=float)
    positions = band_positions([c["low"] for c in categories], values)
    return np.where(positions < 0, NONE, np.where(ages > stale_after_h, STALE, positions)).tolist()


def state_style(state: int, categories: list[dict], stale_after_h: float) -> tuple[str, str]:
    """(name, colour) of a marker state, as the legend shows it."""
    if state == NONE:
        return "No data", NO_DATA
    if state == STALE:
        return f"Not current (older than {stale_after_h:g} h)", STALE_COLOR
    return categories[state]["name"], categories[state]["color"]


def cluster_cells(lats: np.ndarray, lons: np.ndarray, zoom: float, cell_px: int = CLUSTER_PX) -> np.ndarray:
    """A cell number per point: the cell_px squares of the Web Mercator world at that zoom holding it."""
    world = 512 * 2 ** np.floor(zoom)
    x = (np.asarray(lons) + 180) / 360 * world
    lat = np.radians(np.clip(lats, -85, 85))
    y = (1 - np.log(np.tan(lat) + 1 / np.cos(lat)) / np.pi) / 2 * world
    columns = int(world // cell_px) + 1
    return (y // cell_px).astype(np.int64) * columns + (x // cell_px).astype(np.int64)


def _hover(station: dict, value: float | None, state: int, label: str, categories: list[dict],
           stale_after_h: float) -> str:
    kind = "Reference monitor" if station["kind"] == "reference" else "Low-cost sensor"
    text = f"<b>{station['name']}</b><br>{station['city']} · {kind}<br>"
    text += f"{label} {value:.0f} — {category_of(value, categories)['name']}" if state != NONE else "No current reading"
    if state == STALE:
        age = station.get("age_hours")
        text += (f"<br>Newest reading {age} h old (older than {stale_after_h:g} h)" if age is not None
                 else "<br>No reading in the last 24 h")
    return text + _corrected_note(station)


def map_figure(stations: list[dict], pollutant: str, standard: str, categories: list[dict],
               tiles: str = "", attribution: str = "", center: dict | None = None, zoom: float = 1.4,
               selected_id: int | None = None, overlays: list[dict] | None = None,
               kinds: tuple[str, ...] = ("reference", "low_cost"), stale_after_h: float = 3,
               cluster_zoom: float | None = None) -> go.Figure:
    """Stations as markers in category colours (stale and missing ones grey), worst drawn on top.

    Below CLUSTER_MAX_ZOOM (`cluster_zoom`, default `zoom`) stations sharing a CLUSTER_PX square become one
    marker numbering them, in the colour of the worst among them. Reference monitors are larger than low-cost
    sensors. `overlays` are extra map layers (band_layers) drawn under the markers, above the tiles.
    """
    shown = [s for s in stations if s["kind"] in kinds]
    label = "Level" if standard == "eea" else "AQI"
    values = [marker_value(s, pollutant, standard) for s in shown]
    states = np.array(marker_states(shown, pollutant, standard, categories, stale_after_h), dtype=int)
    level = zoom if cluster_zoom is None else cluster_zoom
    single = np.ones(len(shown), dtype=bool)
    clusters: list[tuple[int, float, float, int]] = []  # (worst state, lat, lon, count)
    if shown and level < CLUSTER_MAX_ZOOM:
        lats, lons = np.array([s["lat"] for s in shown]), np.array([s["lon"] for s in shown])
        cells = cluster_cells(lats, lons, level)
        cells[[s["id"] == selected_id for s in shown]] = -1  # ids are unique: a cell of its own
        _, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
        single = counts[inverse] == 1  # the selected station is never grouped: its halo must show it
        for cell in np.flatnonzero(counts > 1):
            members = inverse == cell
            clusters.append((int(states[members].max()), float(lats[members].mean()), float(lons[members].mean()),
                             int(counts[cell])))
    traces = []
    if selected_id is not None:
        chosen = [s for s in stations if s["id"] == selected_id]
        if chosen:
            traces.append(go.Scattermap(lat=[chosen[0]["lat"]], lon=[chosen[0]["lon"]], mode="markers",
                                        marker={"size": 32, "color": "#1565C0", "opacity": 0.4},
                                        hoverinfo="skip", showlegend=False, name="selected"))
    # NONE < STALE < Good < … : the worst category is drawn last, on top.
    for state in sorted(set(states.tolist()) | {c[0] for c in clusters}):
        name, color = state_style(state, categories, stale_after_h)
        picked = [i for i in np.flatnonzero(single & (states == state))]
        if picked:
            group = [shown[i] for i in picked]
            sizes = [14 if s["kind"] == "reference" else 9 for s in group]
            traces.append(go.Scattermap(
                lat=[round(s["lat"], 5) for s in group], lon=[round(s["lon"], 5) for s in group], mode="markers",
                name=name, marker={"size": sizes[0] if len(set(sizes)) == 1 else sizes, "color": color},
                text=[_hover(s, values[i], state, label, categories, stale_after_h) for s, i in zip(group, picked)],
                hovertemplate="%{text}<extra></extra>", customdata=[s["id"] for s in group], showlegend=False))
        mine = [c for c in clusters if c[0] == state]
        if mine:
            traces.append(go.Scattermap(
                lat=[round(c[1], 4) for c in mine], lon=[round(c[2], 4) for c in mine], mode="markers",
                name=f"cluster: {name}", text=[str(c[3]) for c in mine],
                marker={"size": [min(20 + 4 * np.log2(c[3]), 40) for c in mine], "color": color},
                # The count is drawn by assets/map.js as HTML over the map: map text would need glyphs from
                # the internet. It reads the count from `text` and its colour from `textfont`.
                textfont={"color": text_color(color)},
                hovertemplate=f"%{{text}} stations · worst: {name}<br>click to zoom in<extra></extra>",
                customdata=[[round(c[2], 4), round(c[1], 4)] for c in mine], showlegend=False))
    fig = go.Figure(traces)
    # The style is local (no style.json to fetch): with no internet, tiles are absent but the outline from
    # our own assets and the markers still show.
    layers = [*(overlays or []),
              {"sourcetype": "geojson", "source": WORLD_OUTLINE, "type": "line", "color": "#7a7a7a",
               "line": {"width": 0.7}, "below": "traces"}]
    if tiles:
        layers.insert(0, {"sourcetype": "raster", "source": [tiles], "sourceattribution": attribution,
                          "below": "traces"})
    fig.update_layout(
        map={"style": "white-bg", "center": center or {"lat": 25, "lon": 20}, "zoom": zoom, "layers": layers},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, uirevision="map", clickmode="event",
    )
    return fig


def _corrected_note(station: dict) -> str:
    """Low-cost PM2.5 is shown EPA-corrected: say so, with the corrected concentration."""
    entry = station["pollutants"].get("pm25")
    if station["kind"] != "low_cost" or not entry:
        return ""
    return f"<br>PM2.5 {entry['concentration']:.1f} µg/m³ (EPA-corrected)"


def band_layers(surface: dict, categories: list[dict], opacity: float = 0.45) -> list[dict]:
    """The category bands (interpolation.surfaces) as GeoJSON fill layers, one per category, under the markers."""
    return [{"sourcetype": "geojson", "type": "fill", "below": "traces", "opacity": opacity,
             "color": categories[band["category"]]["color"], "name": categories[band["category"]]["name"],
             "source": {"type": "Feature", "properties": {},
                        "geometry": {"type": "MultiPolygon", "coordinates": band["polygons"]}}}
            for band in surface["bands"]]


def nowcast_series(hourly: np.ndarray, pollutant: str) -> np.ndarray:
    """The NowCast at each hour of an hourly series (oldest first, NaN missing), from the hours up to it."""
    windows = np.full((len(hourly), NOWCAST_HOURS), np.nan)
    for back in range(min(NOWCAST_HOURS, len(hourly))):  # column `back`: `back` hours before each row's hour
        windows[back:, back] = hourly[:len(hourly) - back]
    return nowcast_array(pollutant, windows)[0]


def _hourly(history: pd.DataFrame, pollutant: str) -> pd.Series:
    """One pollutant's values on every hour of its span, so that gaps show as breaks, not as straight lines."""
    part = history[history["parameter"] == pollutant].sort_values("ts").set_index("ts")["value"]
    return part.reindex(pd.date_range(part.index.min(), part.index.max(), freq="h"))


def history_figure(history: pd.DataFrame, timezone: str, compare: pd.DataFrame | None = None,
                   compare_name: str = "") -> go.Figure:
    """The last hours per pollutant as small multiples in the station's local time: hourly values, the NowCast
    over them (PM and ozone, as the US index reads them), and a second station's NowCast or values to compare."""
    pollutants = [p for p in UNITS if p in set(history["parameter"])]
    if not pollutants:
        fig = go.Figure()
        fig.add_annotation(text="No readings in the last 72 hours", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
        fig.update_layout(xaxis_visible=False, yaxis_visible=False, height=200, margin={"t": 10, "b": 10})
        return fig
    fig = make_subplots(rows=len(pollutants), cols=1, shared_xaxes=True, vertical_spacing=0.05,
                        subplot_titles=[f"{LABELS[p]} ({UNITS[p]})" for p in pollutants])
    tz = ZoneInfo(timezone)
    for row, p in enumerate(pollutants, start=1):
        hourly = _hourly(history, p)
        x = hourly.index.tz_convert(tz)
        tip = f"%{{x|%a %H:%M}}<br>%{{y:.1f}} {UNITS[p]}"
        fig.add_trace(go.Scatter(x=x, y=hourly.to_numpy(), mode="lines+markers", name=f"{LABELS[p]} hourly",
                                 line={"width": 1, "color": "#90A4AE"}, marker={"size": 3}, connectgaps=False,
                                 legendgroup="hourly", showlegend=row == 1,
                                 hovertemplate=tip + " hourly<extra></extra>"), row=row, col=1)
        if p in NOWCAST_POLLUTANTS:
            fig.add_trace(go.Scatter(x=x, y=nowcast_series(hourly.to_numpy(), p), mode="lines",
                                     name=f"{LABELS[p]} NowCast", line={"width": 2.2, "color": "#263238"},
                                     legendgroup="nowcast", showlegend=True,
                                     hovertemplate=tip + " NowCast<extra></extra>"), row=row, col=1)
        if compare is not None and p in set(compare["parameter"]):
            other = _hourly(compare, p)
            y = nowcast_series(other.to_numpy(), p) if p in NOWCAST_POLLUTANTS else other.to_numpy()
            fig.add_trace(go.Scatter(x=other.index.tz_convert(tz), y=y, mode="lines",
                                     name=f"{compare_name}: {LABELS[p]}", line={"width": 1.8, "color": "#1565C0",
                                                                                 "dash": "dash"},
                                     legendgroup="compare", showlegend=True,
                                     hovertemplate=f"{compare_name}<br>" + tip + "<extra></extra>"), row=row, col=1)
    fig.update_layout(height=120 * len(pollutants) + 70, template="plotly_white",
                      legend={"orientation": "h", "y": -0.12 if len(pollutants) > 1 else -0.3, "font_size": 10},
                      margin={"l": 40, "r": 10, "t": 24, "b": 24})
    fig.update_annotations(font_size=11, x=0, xanchor="left")
    fig.update_yaxes(rangemode="tozero", tickfont_size=10)
    fig.update_xaxes(tickformat="%a %H:%M", tickfont_size=10)
    return fig


STATUS_COLORS = {"ok": "#2E7D32", "warning": "#F9A825", "critical": "#C62828", "no_data": "#9E9E9E"}


def sparkline_figure(series: list[dict], warn: float | None, crit: float | None, unit: str) -> go.Figure:
    """A minute-by-minute line with the warning and critical thresholds drawn as dotted lines."""
    scale = 100 if unit == "ratio" else 1
    x = [p["minute"] for p in series]
    y = [None if p["value"] is None else p["value"] * scale for p in series]
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", line={"width": 1.5, "color": "#37474F"},
                               connectgaps=False, hovertemplate="%{x|%H:%M} UTC · %{y:.1f}<extra></extra>"))
    for level, color in ((warn, STATUS_COLORS["warning"]), (crit, STATUS_COLORS["critical"])):
        if level is not None and unit != "connections":
            fig.add_hline(y=level * scale, line={"width": 1, "dash": "dot", "color": color})
    fig.update_layout(height=60, margin={"l": 0, "r": 0, "t": 2, "b": 2}, showlegend=False,
                      template="plotly_white", xaxis={"visible": False}, yaxis={"visible": False},
                      plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)")
    return fig


def format_figure(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    return f"{value:.0f}"

"""Pure figure builders: data in, go.Figure out."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.aqi import standards
from core.aqi.categories import band_positions
from core.parameters import UNITS

STANDARDS = {s.code: s.name for s in standards.STANDARDS.values()}
LABELS = {"aqi": "Overall AQI", "pm25": "PM2.5", "pm10": "PM10", "o3": "O₃", "no2": "NO₂", "so2": "SO₂", "co": "CO"}
NO_DATA = "#9E9E9E"
WORLD_OUTLINE = "/assets/world-outline-50m.geojson"


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
    """Centre and zoom that show every point (MapLibre: 512 px spans 360° of longitude at zoom 0)."""
    if not lats:
        return {"lat": 25, "lon": 0}, 1.0
    lat_span = max(max(lats) - min(lats), 0.05) * 1.3
    lon_span = max(max(lons) - min(lons), 0.05) * 1.3
    mid_lat = (max(lats) + min(lats)) / 2
    # Web Mercator stretches a degree of latitude by 1/cos(lat) relative to a degree of longitude.
    zoom = min(np.log2(width_px * 360 / (512 * lon_span)),
               np.log2(height_px * 360 * np.cos(np.radians(mid_lat)) / (512 * lat_span)))
    return {"lat": mid_lat, "lon": (max(lons) + min(lons)) / 2}, float(np.clip(zoom, 0.5, 13))


def convex_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Andrew's monotone chain; the closed outline around (lon, lat) points."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def half(seq):
        out: list[tuple[float, float]] = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    hull = half(pts) + half(reversed(pts))
    return hull + hull[:1]


def city_outlines(stations: list[dict], pad: float = 0.15) -> go.Scattermap:
    """Each city's station network outlined, padded outwards: context when no tiles load."""
    lats: list[float | None] = []
    lons: list[float | None] = []
    for city in sorted({s["city"] for s in stations}):
        hull = convex_hull([(s["lon"], s["lat"]) for s in stations if s["city"] == city])
        if len(hull) < 4:
            continue
        cx, cy = np.mean([p[0] for p in hull[:-1]]), np.mean([p[1] for p in hull[:-1]])
        lons += [cx + (x - cx) * (1 + pad) for x, _ in hull] + [None]
        lats += [cy + (y - cy) * (1 + pad) for _, y in hull] + [None]
    return go.Scattermap(lat=lats, lon=lons, mode="lines", line={"width": 1, "color": "#90A4AE"},
                         hoverinfo="skip", showlegend=False, name="city outline")


def map_figure(stations: list[dict], pollutant: str, standard: str, categories: list[dict],
               tiles: str = "", attribution: str = "", center: dict | None = None, zoom: float = 1.4,
               selected_id: int | None = None, overlays: list[dict] | None = None,
               kinds: tuple[str, ...] = ("reference", "low_cost")) -> go.Figure:
    """Stations as markers coloured by category: reference monitors large with a dark ring, sensors small dots.

    `overlays` are extra map layers (e.g. surface_layers) drawn under the markers, above the tiles.
    """
    fig = go.Figure(city_outlines(stations))
    label = "Level" if standard == "eea" else "AQI"
    for kind, size, name in (("reference", 15, "Reference monitor"), ("low_cost", 9, "Low-cost sensor")):
        group = [s for s in stations if s["kind"] == kind]
        if not group or kind not in kinds:
            continue
        values = [marker_value(s, pollutant, standard) for s in group]
        cats = [category_of(v, categories) for v in values]
        text = [f"<b>{s['name']}</b><br>{s['city']} · {name}<br>"
                + (f"{label} {v:.0f} — {c['name']}" if c else "no current reading") + _corrected_note(s)
                for s, v, c in zip(group, values, cats)]
        if kind == "reference":
            # A dark ring (a larger circle underneath) tells monitors from sensors without relying on colour.
            fig.add_trace(go.Scattermap(lat=[s["lat"] for s in group], lon=[s["lon"] for s in group],
                                        mode="markers", marker={"size": size + 5, "color": "#263238"},
                                        hoverinfo="skip", showlegend=False, name="monitor ring"))
        fig.add_trace(go.Scattermap(
            lat=[s["lat"] for s in group], lon=[s["lon"] for s in group], mode="markers", name=name,
            marker={"size": size, "color": [c["color"] if c else NO_DATA for c in cats],
                    "opacity": 1.0 if kind == "reference" else 0.85},
            text=text, hovertemplate="%{text}<extra></extra>", customdata=[s["id"] for s in group],
            showlegend=False,
        ))
    if selected_id is not None:
        chosen = [s for s in stations if s["id"] == selected_id]
        if chosen:
            fig.add_trace(go.Scattermap(lat=[chosen[0]["lat"]], lon=[chosen[0]["lon"]], mode="markers",
                                        marker={"size": 30, "color": "#1565C0", "opacity": 0.35},
                                        hoverinfo="skip", showlegend=False, name="selected"))
            fig.data = fig.data[:1] + fig.data[-1:] + fig.data[1:-1]  # the halo goes under the markers
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


def surface_layers(pngs: dict[str, tuple[list[float], str]], opacity: float = 0.8) -> list[dict]:
    """Image layers from {city: (bounds, data URL)}: corners top-left, top-right, bottom-right, bottom-left."""
    layers = []
    for _city, (bounds, url) in sorted(pngs.items()):
        min_lon, min_lat, max_lon, max_lat = bounds
        layers.append({"sourcetype": "image", "source": url, "below": "traces", "opacity": opacity,
                       "coordinates": [[min_lon, max_lat], [max_lon, max_lat], [max_lon, min_lat],
                                       [min_lon, min_lat]]})
    return layers


def history_figure(history: pd.DataFrame, timezone: str, categories_by_pollutant: dict | None = None) -> go.Figure:
    """The last hours per pollutant as small multiples, in the station's local time."""
    pollutants = [p for p in UNITS if p in set(history["parameter"])]
    if not pollutants:
        fig = go.Figure()
        fig.add_annotation(text="No readings in the last 72 hours", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
        fig.update_layout(xaxis_visible=False, yaxis_visible=False, height=200, margin={"t": 10, "b": 10})
        return fig
    fig = make_subplots(rows=len(pollutants), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[f"{LABELS[p]} ({UNITS[p]})" for p in pollutants])
    tz = ZoneInfo(timezone)
    for row, p in enumerate(pollutants, start=1):
        part = history[history["parameter"] == p].sort_values("ts")
        # Reindex to every hour so that gaps show as breaks, not as straight lines.
        hours = pd.date_range(part["ts"].min(), part["ts"].max(), freq="h")
        part = part.set_index("ts").reindex(hours)
        fig.add_trace(go.Scatter(x=part.index.tz_convert(tz), y=part["value"], mode="lines", name=LABELS[p],
                                 line={"width": 1.6, "color": "#37474F"}, connectgaps=False,
                                 hovertemplate=f"%{{x|%a %H:%M}}<br>%{{y:.1f}} {UNITS[p]}<extra></extra>"),
                      row=row, col=1)
    fig.update_layout(height=110 * len(pollutants) + 40, showlegend=False, template="plotly_white",
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

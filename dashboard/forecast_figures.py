"""Pure figure builders for the forecast page: data in, go.Figure out."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

BAND_OPACITY = 0.18


def forecast_figure(observed: pd.DataFrame, forecast: dict | None, bands: list[dict], timezone: str,
                    label: str, unit: str, cams: list[dict] = ()) -> go.Figure:
    """Observed (ts, value) and forecast p50 with its p10–p90 band, over light US EPA category bands; CAMS's
    published values [{time, value}] as a line of their own when there are any."""
    tz = ZoneInfo(timezone)
    fig = go.Figure()
    values = list(observed["value"]) if not observed.empty else []
    if forecast and forecast["data"]:
        values += [d["p90"] for d in forecast["data"]]
    values += [c["value"] for c in cams]
    top = max(values + [1.0]) * 1.1
    for band in bands:
        if band["low"] >= top:
            break
        fig.add_hrect(y0=band["low"], y1=min(band["high"] if band["high"] is not None else top, top),
                      fillcolor=band["color"], opacity=BAND_OPACITY, line_width=0, layer="below",
                      annotation_text=band["name"], annotation_position="top left",
                      annotation_font_size=9, annotation_font_color="#555")
    if not observed.empty:
        fig.add_trace(go.Scatter(x=observed["ts"].dt.tz_convert(tz), y=observed["value"], name="Observed",
                                 mode="lines", line={"color": "#222", "width": 1.6}))
    if forecast and forecast["data"]:
        times = [d["time"].astimezone(tz) for d in forecast["data"]]
        fig.add_trace(go.Scatter(x=times, y=[d["p90"] for d in forecast["data"]], mode="lines", line={"width": 0},
                                 showlegend=False, hoverinfo="skip", name="p90"))
        fig.add_trace(go.Scatter(x=times, y=[d["p10"] for d in forecast["data"]], mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor="rgba(31,119,180,0.25)", name="p10–p90"))
        fig.add_trace(go.Scatter(x=times, y=[d["p50"] for d in forecast["data"]], mode="lines", name="Forecast (p50)",
                                 line={"color": "#1f77b4", "width": 2, "dash": "dot"},
                                 customdata=[[d["p10"], d["p90"], d["aqi"] if d["aqi"] is not None else "—"]
                                             for d in forecast["data"]],
                                 hovertemplate="%{y:.1f} (p10 %{customdata[0]:.1f} – p90 %{customdata[1]:.1f})"
                                               "<br>AQI %{customdata[2]}<extra>forecast</extra>"))
        fig.add_vline(x=forecast["issued_at"].astimezone(tz), line={"color": "#888", "dash": "dash", "width": 1})
    if cams:
        fig.add_trace(go.Scatter(x=[c["time"].astimezone(tz) for c in cams], y=[c["value"] for c in cams],
                                 name="CAMS as published", mode="lines", line={"color": "#8c564b", "width": 1.4},
                                 hovertemplate="%{y:.1f}<extra>CAMS</extra>"))
    fig.update_layout(margin={"l": 50, "r": 10, "t": 10, "b": 40}, height=380, template="plotly_white",
                      yaxis={"title": f"{label} ({unit})", "range": [0, top]},
                      xaxis={"title": f"Local time ({timezone})"},
                      legend={"orientation": "h", "y": 1.08, "x": 0})
    return fig


def explanation_figure(explanation: dict, top: int = 8) -> go.Figure:
    """Horizontal bars: which inputs pushed the forecast up (red) or down (green), in the parameter's unit."""
    rows = explanation["attributions"][:top][::-1]
    fig = go.Figure(go.Bar(
        x=[r["contribution"] for r in rows], y=[r["feature"] for r in rows], orientation="h",
        marker_color=["#d62728" if r["contribution"] > 0 else "#2ca02c" for r in rows],
        hovertemplate=f"%{{y}}: %{{x:+.2f}} {explanation['unit']}<extra></extra>"))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 40}, height=260, template="plotly_white",
                      xaxis={"title": f"push on next-24-h median ({explanation['unit']})", "zeroline": True})
    return fig


def reliability_figure(metrics: dict, parameter: str) -> go.Figure:
    """Nominal vs observed share of held-out outcomes below each quantile, one line per horizon: on the
    diagonal the quantiles mean what they say."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="ideal", hoverinfo="skip",
                             line={"color": "#999", "dash": "dash", "width": 1}))
    quantiles = metrics["quantiles"]
    for h, observed in zip(metrics["horizons"], metrics["reliability"][parameter]["observed"]):
        if any(v is None for v in observed):
            continue
        fig.add_trace(go.Scatter(x=quantiles, y=observed, mode="lines+markers", name=f"{h} h",
                                 hovertemplate=f"{h} h: %{{y:.0%}} of outcomes below p%{{x:.0%}}<extra></extra>"))
    fig.update_layout(margin={"l": 50, "r": 10, "t": 10, "b": 40}, height=260, template="plotly_white",
                      xaxis={"title": "nominal quantile", "range": [0, 1], "tickformat": ".0%"},
                      yaxis={"title": "observed share below", "range": [0, 1], "tickformat": ".0%"},
                      legend={"font": {"size": 10}})
    return fig

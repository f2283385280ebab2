"""Coloured category chips: the map legend, table cells, the forecast's daily strip."""
from __future__ import annotations

from datetime import date

from dash import html

from dashboard.figures import NO_DATA, STALE_COLOR, chip_style


def chip(name: str, color: str) -> html.Span:
    return html.Span(name, className="legend-chip", style=chip_style(color))


def legend(categories: list[dict], surface: dict | None, palette_note: str | None, stale_after_h: float) -> list:
    """The map legend: every category, "not current", "no data", what sizes and numbers mean, the bands' method."""
    items: list = [chip(c["name"], c["color"]) for c in categories]
    items.append(chip(f"Not current (older than {stale_after_h:g} h)", STALE_COLOR))
    items.append(chip("No data", NO_DATA))
    notes = [("Large dots: reference monitors · small dots: low-cost sensors (PM2.5 EPA-corrected) · a number: "
              "stations grouped at this zoom, in the colour of the worst among them (click to zoom in)")]
    if surface is not None:
        notes.append(f" · bands: concentrations interpolated between the {surface['stations']} current stations "
                     f"(inverse-distance), then categorised; blank beyond {surface['reach_km']:g} km of a station")
    items.append(html.Div(notes, className="small text-muted"))
    if palette_note:
        items.append(html.Div(palette_note, className="small text-muted"))
    return items


def daily_strip(days: list[dict]) -> list:
    """The forecast's AirNow-style daily categories, one chip per day."""
    chips = [html.Div([html.Div(f"{date.fromisoformat(d['date']):%a %d %b}", className="small"),
                       html.Div(d["category"] or "No index", className="fw-bold small"),
                       html.Div(f"AQI {d['aqi']}" if d["aqi"] is not None else "—", className="small")],
                      className="forecast-day legend-chip p-2 text-center",
                      style={**chip_style(d["color"]), "minWidth": "9rem"}) for d in days]
    return [html.Span("Daily forecast (US AQI)", className="small text-muted align-self-center"), *chips]

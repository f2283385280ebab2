"""Coloured category chips: the map legend, table cells, the forecast's daily strip."""
from __future__ import annotations

from datetime import date

from dash import html

from dashboard.figures import NO_DATA, chip_style


def chip(name: str, color: str) -> html.Span:
    return html.Span(name, className="legend-chip", style=chip_style(color))


def category_chip(category: dict | None) -> html.Span | str:
    """A category's chip, or the words "No data" when there is none."""
    return chip(category["name"], category["color"]) if category else "No data"


def legend(categories: list[dict], surface: bool, palette_note: str | None) -> list:
    """The map legend: every category, "No data", what the marker sizes mean, and a palette note."""
    items: list = [chip(c["name"], c["color"]) for c in categories]
    items.append(chip("No data", NO_DATA))
    items.append(html.Div([("Large dots with a dark ring: reference monitors · small dots: low-cost sensors "
                            "(PM2.5 EPA-corrected)"),
                           *([" · surface: inverse-distance weighting between stations"] if surface else [])],
                          className="small text-muted"))
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

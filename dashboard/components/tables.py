"""Accessible tables: the map's stations and rankings, a station's pollutants, the operator and admin tables."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard.components.chips import chip
from dashboard.figures import (
    LABELS,
    STANDARDS,
    category_of,
    format_figure,
    marker_states,
    marker_value,
    state_style,
)
from dashboard.ids import Admin, Forecast, Map, Perf

KIND = {"reference": "Reference monitor", "low_cost": "Low-cost sensor"}
STATUS_TEXT = {"ok": "OK", "warning": "Warning", "critical": "Critical", "no_data": "No data"}
TABLE_ROWS = 500  # rows of the map's table view: a continent's network would make a page of megabytes
# Bootstrap colours whose white text meets WCAG AA (info's light cyan does not).
JOB_COLORS = {"running": "primary", "succeeded": "success", "failed": "danger", "cancelled": "secondary"}


def index_label(standard: str) -> str:
    """EEA reports a level (1–6), the others an index."""
    return "Level" if standard == "eea" else "AQI"


def _head(*titles: str) -> html.Thead:
    return html.Thead(html.Tr([html.Th(t, scope="col") for t in titles]))


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def station_table(snapshot: dict, standard: str, pollutant: str, categories: list[dict], stale_after_h: float,
                  limit: int = TABLE_ROWS) -> dbc.Table:
    """The map's data as a table, worst first (the `limit` worst); each name is a button opening the panel."""
    label = index_label(standard)
    stations = sorted(snapshot["stations"], key=lambda s: (-(marker_value(s, pollutant, standard) or -1), s["name"]))
    states = marker_states(stations[:limit], pollutant, standard, categories, stale_after_h)
    rows = []
    for s, state in zip(stations, states):
        value = marker_value(s, pollutant, standard)
        pm = s["pollutants"].get("pm25")
        pm_text = "—" if not pm else f"{pm['concentration']:.1f}" + (" (EPA-corrected)" if s["kind"] == "low_cost" else "")
        name, color = state_style(state, categories, stale_after_h)
        # The map.js click handler selects data-station: a keyboard path to every station's panel.
        pick = html.Button(s["name"], className="btn btn-link btn-sm p-0 text-start station-pick",
                           **{"data-station": s["id"], "aria-label": f"Open {s['name']}"})
        rows.append(html.Tr([html.Th(pick, scope="row"), html.Td(s["city"]), html.Td(KIND[s["kind"]]),
                             html.Td(_number(value)), html.Td(chip(name, color)),
                             html.Td(_age(s.get("age_hours"))),
                             html.Td(LABELS.get(s["main_pollutant"] or "", "—")), html.Td(pm_text)]))
    when = snapshot["as_of"].strftime("%Y-%m-%d %H:00 UTC") if snapshot["as_of"] else "no data"
    shown = (f", the {limit} worst of {len(stations)} (pick an area for all of its stations)"
             if len(stations) > limit else "")
    return dbc.Table([
        html.Caption(f"{LABELS[pollutant]} ({label}, {STANDARDS[standard]}) at {when}, worst first{shown}"),
        _head("Station", "Area", "Type", label, "Category", "Newest reading", "Main pollutant", "PM2.5 µg/m³"),
        html.Tbody(rows)], size="sm", striped=True, responsive=True, className="small", id=Map.TABLE_GRID)


def _age(hours: int | None) -> str:
    if hours is None:
        return "none in 24 h"
    return "this hour" if hours == 0 else f"{hours} h before"


def rankings_tables(ranked: dict, city: str, standard: str, categories: list[dict], top: int = 20) -> dbc.Row:
    """Cities by their worst reference monitor, and the top stations (of `city` when given)."""
    label = index_label(standard)
    color = {c["name"]: c["color"] for c in categories}
    stations = [s for s in ranked["stations"] if not city or s["city"] == city][:top]

    def cell(name: str | None):
        return html.Td(chip(name, color[name]) if name else "No data")
    cities = html.Tbody([html.Tr([html.Td(i), html.Th(c["city"], scope="row"), html.Td(_number(c["value"])),
                                  cell(c["category"]), html.Td(c["worst_station"] or "—")])
                         for i, c in enumerate(ranked["cities"], 1)])
    ranked_stations = html.Tbody([html.Tr([html.Td(i), html.Th(s["name"], scope="row"), html.Td(s["city"]),
                                           html.Td(f"{s['value']:.0f}"), cell(s["category"])])
                                  for i, s in enumerate(stations, 1)])
    return dbc.Row([
        dbc.Col(dbc.Table([html.Caption("Cities by current index (the worst reference monitor)"),
                           _head("#", "City", label, "Category", "Worst station"), cities],
                          size="sm", className="small", id=Map.RANK_CITIES), xs=12, md=6),
        dbc.Col(dbc.Table([html.Caption(f"Stations by current index{' in ' + city if city else ''} (top {top})"),
                           _head("#", "Station", "City", label, "Category"), ranked_stations],
                          size="sm", className="small", id=Map.RANK_STATIONS), xs=12, md=6),
    ])


def pollutant_table(station: dict, standard: str, categories: list[dict]) -> dbc.Table:
    """A station's pollutants now: concentration, sub-index and its category."""
    rows = []
    for p, entry in station["pollutants"].items():
        cat = category_of(entry["sub_index"], categories)
        corrected = " (EPA-corrected)" if p == "pm25" and station["kind"] == "low_cost" else ""
        rows.append(html.Tr([html.Td(LABELS[p]),
                             html.Td(f"{entry['concentration']:.{2 if p == 'co' else 1}f} {entry['unit']}{corrected}"),
                             html.Td(_number(entry["sub_index"])),
                             html.Td(chip(cat["name"], cat["color"]) if cat else chip("—", "#E0E0E0"))]))
    return dbc.Table([_head("Pollutant", "Now", index_label(standard), "Category"), html.Tbody(rows)],
                     size="sm", className="small mb-2")


def breaches_table(rows: list[dict]):
    if not rows:
        return html.P("None in the last hour.", className="text-muted small")
    return dbc.Table([_head("Check", "Status", "Started", "Ended", "Worst"),
                      html.Tbody([html.Tr([html.Td(b["label"]), html.Td(STATUS_TEXT[b["status"]]),
                                           html.Td(b["started"][11:16] + " UTC"),
                                           html.Td(b["ended"][11:16] + " UTC" if b["ended"] else "ongoing"),
                                           html.Td(format_figure(b["worst"], b["unit"]))]) for b in rows])],
                     size="sm", className="small")


def cache_table(cache: dict) -> html.Div:
    """The cache backend's state and each namespace's hits, misses and hit rate."""
    state = "up" if cache["up"] else "DOWN — serving from the database"
    rows = [html.Tr([html.Td(ns), html.Td(r["hits"]), html.Td(r["misses"]), html.Td(r["bypassed"]),
                     html.Td(format_figure(r["hit_rate"], "ratio"))]) for ns, r in cache["namespaces"].items()]
    return html.Div([html.Div(f"Backend: {cache['backend']} ({state})", className="small mb-1", id=Perf.CACHE_BACKEND),
                     dbc.Table([_head("Namespace", "Hits", "Misses", "Bypassed", "Hit rate"), html.Tbody(rows)],
                               size="sm", className="small")])


def timer_table(timers: list[dict]):
    if not timers:
        return html.P("No samples in this window.", className="text-muted small")
    body = html.Tbody([html.Tr([html.Td(t["kind"]), html.Td(t["name"], className="text-break"), html.Td(t["count"]),
                                *[html.Td(format_figure(t[p], "ms"), className="text-nowrap")
                                  for p in ("p50_ms", "p95_ms", "p99_ms")],
                                html.Td(t["errors"])]) for t in timers])
    return dbc.Table([_head("Kind", "Name", "Count", "p50", "p95", "p99", "Errors"), body], size="sm", striped=True,
                     className="small", id=Perf.TIMER_TABLE)


def skill_table(card: dict, parameter: str, unit: str) -> html.Div:
    """The model's held-out MAE per horizon against persistence and same-hour-yesterday."""
    metrics = card["metrics"]
    rows = metrics["mae"][parameter]
    names = {"model": "This model (p50)", "persistence": "Persistence", "same_hour_yesterday": "Same hour yesterday"}
    body = html.Tbody([html.Tr([html.Td(label)] + [html.Td("—" if v is None else f"{v:.2f}") for v in rows[key]])
                       for key, label in names.items()])
    return html.Div([html.Div("Held-out skill (lower is better)", className="small text-muted mt-2"),
                     dbc.Table([_head(f"MAE {unit}", *[f"{h} h" for h in metrics["horizons"]]), body],
                               size="sm", className="small mb-0", id=Forecast.SKILL_TABLE)])


def job_history_table(history: list[dict]):
    """The admin's job runs, newest first: who, when, how long, outcome and a summary."""
    if not history:
        return html.P("No job has run yet.", className="text-muted small")
    rows = [html.Tr([html.Td(r["id"]), html.Td(r["title"]), html.Td(r["started_by"]),
                     html.Td(f"{r['started_at']:%Y-%m-%d %H:%M:%S}"),
                     html.Td("—" if r["duration_s"] is None else f"{r['duration_s']:g} s"),
                     html.Td(dbc.Badge(r["status"], color=JOB_COLORS.get(r["status"], "dark"))),
                     html.Td(run_summary(r), className="small text-break")]) for r in history]
    return dbc.Table([_head("#", "Job", "By", "Started (UTC)", "Took", "Outcome", "Summary"), html.Tbody(rows)],
                     size="sm", className="small", id=Admin.HISTORY_TABLE)


def run_summary(run: dict) -> str:
    """One line from a finished run's summary, by the job that wrote it."""
    summary = run["summary"]
    if not summary:
        return run["message"]
    if "indexes" in summary:
        made = [i["index"] for i in summary["indexes"] if i["outcome"] == "created"]
        timing = "; ".join(f"{q['query']} {q['before_ms']} → {q['after_ms']} ms" for q in summary["queries"])
        return f"created: {', '.join(made) or 'none (all there)'}. {timing}"
    if "namespaces" in summary:
        return "; ".join(f"{n['namespace']}: {n['entries']} in {n['seconds']} s" for n in summary["namespaces"])
    if "decision" in summary:  # the challenger and the rollback say what they decided, with the figures
        return summary["decision"]
    if "version" in summary:
        beats = summary.get("beats_best_baseline")
        verdict = "beats the best baseline" if beats else "does not beat the best baseline at every horizon"
        return f"model {summary['version']} ({verdict})"
    if "server" in summary:
        return (f"{len(summary['server'])} server settings checked; restart needed for: "
                f"{', '.join(summary['needs_restart']) or 'none'}")
    delivery = summary.get("delivery") or ({} if "claimed" not in summary else summary)
    sent = (f"; sent {delivery['sent']}, failed {delivery['failed']}, dead-lettered {delivery['dead']}"
            if delivery else "")
    if "rules" in summary:
        return f"{summary['rules']} rules, {summary['transitions']} transitions, {summary['messages']} messages{sent}"
    if "observed" in summary:
        return f"hour {summary['hour'][:16]}: {summary['observed']} observed, {summary['forecast']} forecast alerts{sent}"
    if "claimed" in summary:
        return sent.removeprefix("; ")
    return str(summary)[:200]

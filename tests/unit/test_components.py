"""Pure HTML builders, without a browser: what the pages' tables, chips and cards hold."""
from datetime import UTC, datetime

import pandas as pd

from core.aqi.engine import categories
from dashboard.components.cards import (
    job_progress,
    perf_tile_body,
    perf_tile_border,
    station_card,
)
from dashboard.components.chips import daily_strip, legend
from dashboard.components.controls import slider_marks, timeline
from dashboard.components.tables import (
    rankings_tables,
    run_summary,
    station_table,
    timer_table,
)
from dashboard.ids import Map, Perf

AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _station(i, aqi, kind="reference", name=None, age=0):
    return {"id": i, "name": name or f"S{i}", "city": "Delhi", "kind": kind, "aqi": aqi, "main_pollutant": "pm25",
            "age_hours": age,
            "timezone": "Asia/Kolkata", "category": "Moderate" if aqi else None, "color": "#FFFF00",
            "health_message": "Unusually sensitive people should consider limiting exertion.", "reason": None,
            "pollutants": {"pm25": {"sub_index": aqi, "concentration": 20.04, "unit": "µg/m³"}} if aqi else {}}


def _text(component) -> str:
    """All the text a component tree shows, in order."""
    if isinstance(component, (list, tuple)):
        return " ".join(_text(c) for c in component)
    if isinstance(component, str | int | float):
        return str(component)
    children = getattr(component, "children", None)
    return "" if children is None else _text(children)


def _rows(table) -> list:
    body = next(part for part in table.children if type(part).__name__ == "Tbody")
    return body.children


def test_station_table_lists_the_worst_first_greys_stale_and_missing_and_offers_each_panel():
    snapshot = {"as_of": AS_OF, "stations": [_station(1, 42), _station(2, None, age=None),
                                             _station(3, 160, "low_cost"), _station(4, 90, age=5)]}
    table = station_table(snapshot, "us_epa", "aqi", categories("us_epa"), stale_after_h=3)
    assert table.id == Map.TABLE_GRID
    rows = [_text(r) for r in _rows(table)]
    assert rows[0].startswith("S3") and "Unhealthy" in rows[0] and "20.0 (EPA-corrected)" in rows[0]
    assert rows[1].startswith("S4") and "Not current (older than 3 h)" in rows[1] and "5 h before" in rows[1]
    assert rows[-1].startswith("S2") and "No data" in rows[-1] and "none in 24 h" in rows[-1]
    assert "at 2026-11-20 12:00 UTC, worst first" in _text(table.children[0])
    pick = next(c for c in _rows(table)[0]._traverse() if "station-pick" in (getattr(c, "className", "") or ""))
    assert type(pick).__name__ == "Button" and getattr(pick, "data-station") == 3  # keyboard-focusable


def test_station_table_keeps_the_worst_rows_of_a_large_network():
    snapshot = {"as_of": AS_OF, "stations": [_station(i, i) for i in range(1, 31)]}
    table = station_table(snapshot, "us_epa", "aqi", categories("us_epa"), stale_after_h=3, limit=10)
    assert [_text(r).split()[0] for r in _rows(table)] == [f"S{i}" for i in range(30, 20, -1)]
    assert "the 10 worst of 30" in _text(table.children[0])


def test_rankings_keep_only_the_chosen_city_and_say_level_for_eea():
    ranked = {"cities": [{"city": "Delhi", "value": 4, "category": "Poor", "worst_station": "S1"}],
              "stations": [{"name": "S1", "city": "Delhi", "value": 4, "category": "Poor"},
                           {"name": "S9", "city": "Paris", "value": 2, "category": "Fair"}]}
    row = rankings_tables(ranked, "Delhi", "eea", categories("eea"))
    cities, stations = (col.children for col in row.children)
    assert cities.id == Map.RANK_CITIES and "Level" in _text(cities)
    assert [_text(r) for r in _rows(stations)] == ["1 S1 Delhi 4 Poor"]


def test_legend_has_every_category_then_not_current_and_no_data_and_the_palette_note():
    surface = {"stations": 12, "reach_km": 75.0, "bands": []}
    items = legend(categories("india_naqi"), surface, palette_note="US EPA only.", stale_after_h=3)
    names = [i.children for i in items if getattr(i, "className", "") == "legend-chip"]
    assert names == [c["name"] for c in categories("india_naqi")] + ["Not current (older than 3 h)", "No data"]
    assert "worst among them" in _text(items[-2])
    assert "inverse-distance" in _text(items[-2]) and "75 km" in _text(items[-2]) and _text(items[-1]) == "US EPA only."
    assert "inverse-distance" not in _text(legend(categories("us_epa"), None, None, 3))


def test_station_card_shows_the_index_on_its_colour_local_time_source_and_reading_age():
    history = pd.DataFrame({"parameter": ["pm25"], "ts": [pd.Timestamp(AS_OF)], "value": [20.0], "unit": ["µg/m³"]})
    card = station_card(_station(7, 63, name="Anand Vihar", age=4), "us_epa", categories("us_epa"), AS_OF, history,
                        "airnow", stale_after_h=3)
    text = _text(card)
    assert "Anand Vihar" in text and "Fri 20 Nov 17:30 local" in text  # Kolkata is UTC+5:30
    assert "Source: AirNow" in text
    assert "Newest reading: 4 h before this hour (not current: older than 3 h)" in text
    badge = next(c for c in card._traverse() if getattr(c, "id", None) == Map.STATION_AQI)
    assert badge.children == "63" and badge.style == {"background": "#FFFF00", "color": "#000000"}


def test_perf_tile_shows_figure_status_and_advice_in_the_status_colour():
    check = {"key": "api_p95", "label": "API p95", "value": 1500.0, "unit": "ms", "status": "critical",
             "warn": 500, "crit": 1000, "series": [{"minute": "12:00", "value": 1500.0}],
             "recommendation": "Slowest: GET /api/v1/slow"}
    body = perf_tile_body(check)
    assert "API p95 1500 ms Critical" in _text(body) and "GET /api/v1/slow" in _text(body)
    assert perf_tile_border(check) == {"borderTop": "5px solid #C62828"}
    assert Perf.tile("api_p95") == {"type": "perf-tile", "check": "api_p95"}


def test_timer_table_says_when_the_window_is_empty():
    assert "No samples" in _text(timer_table([]))
    table = timer_table([{"kind": "api", "name": "GET /x", "count": 3, "p50_ms": 4.0, "p95_ms": 12.0, "p99_ms": 12.0,
                          "errors": 0}])
    assert _text(_rows(table)[0]) == "api GET /x 3 4.0 ms 12 ms 12 ms 0"


def test_job_progress_of_a_running_a_finished_and_a_never_run_job():
    running = {"status": "running", "progress": 0.25, "message": "3 of 12"}
    finished = {"status": "failed", "progress": 1.0, "message": "boom", "finished_at": AS_OF}
    assert job_progress(running) == (25, "25%", "primary", "Running · 3 of 12")
    assert job_progress(finished) == (100, "failed", "danger", "Last: failed 2026-11-20 12:00 UTC · boom")
    assert job_progress(None) == (0, "", "info", "Never run.")


def test_run_summary_reads_each_job_kind():
    indexes = {"indexes": [{"index": "ix_a", "outcome": "created"}, {"index": "ix_b", "outcome": "exists"}],
               "queries": [{"query": "latest", "before_ms": 80, "after_ms": 3}]}
    assert run_summary({"summary": indexes, "message": ""}) == "created: ix_a. latest 80 → 3 ms"
    assert run_summary({"summary": None, "message": "cancelled"}) == "cancelled"
    delivery = {"claimed": 3, "sent": 2, "failed": 1, "dead": 0, "dropped": 0}
    assert run_summary({"summary": {"rules": 7, "transitions": 1, "messages": 2, "delivery": delivery}}) == (
        "7 rules, 1 transitions, 2 messages; sent 2, failed 1, dead-lettered 0")
    assert run_summary({"summary": {"hour": "2026-12-01 13:00:00+00:00", "observed": 4, "forecast": 0,
                                    "delivery": delivery}}) == (
        "hour 2026-12-01 13:00: 4 observed, 0 forecast alerts; sent 2, failed 1, dead-lettered 0")
    assert run_summary({"summary": delivery}) == "sent 2, failed 1, dead-lettered 0"
    assert run_summary({"summary": {"decision": "kept 202612 (mean MAE 9.1 not below 8.7)"}}).startswith("kept")


def test_daily_strip_has_a_chip_per_day():
    strip = daily_strip([{"date": "2026-11-21", "category": "Good", "color": "#00E400", "aqi": 40},
                         {"date": "2026-11-22", "category": None, "color": "#9E9E9E", "aqi": None}])
    assert [_text(d) for d in strip[1:]] == ["Sat 21 Nov Good AQI 40", "Sun 22 Nov No index —"]


def test_timeline_slider_marks_midnights_and_range_inputs_stay_empty_unless_picked():
    lo = int(AS_OF.timestamp() // 3600) - 71
    marks = slider_marks(lo, lo + 71)
    assert list(marks.values()) == ["18 Nov", "19 Nov", "20 Nov"]
    row = timeline(lo, lo + 71, lo + 71, lo, None)
    start, end = (c for c in row._traverse() if getattr(c, "id", None) in (Map.START, Map.END))
    assert start.value == "2026-11-17T13:00" and end.value == ""

"""The live map in a real browser: markers, legend per standard, city filter, the station panel."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from dash.testing.wait import until
from selenium.webdriver.common.by import By

from core.snapshots import current
from tests.conftest import SEED_STATIONS

GRAPH = "document.querySelector('#map-graph .js-plotly-plot')"
US_EPA_COLOURS = {"#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#8F3F97", "#7E0023"}
NO_DATA = "#9E9E9E"
LEGENDS = {
    "US EPA": ["Good", "Moderate", "Unhealthy for Sensitive Groups", "Unhealthy", "Very Unhealthy", "Hazardous"],
    "India NAQI": ["Good", "Satisfactory", "Moderately polluted", "Poor", "Very Poor", "Severe"],
    "European EAQI": ["Good", "Fair", "Moderate", "Poor", "Very poor", "Extremely poor"],
}
# Dash rebuilds clickData from data[curveNumber].customdata[pointNumber], so the event must name the real point.
CLICK_STATION = f"""
const gd = {GRAPH}, id = arguments[0];
for (let c = 0; c < gd.data.length; c++) {{
  const p = (gd.data[c].customdata || []).indexOf(id);
  if (p >= 0) {{
    gd.emit('plotly_click', {{points: [{{curveNumber: c, pointNumber: p, customdata: id}}]}});
    return gd.data[c].text[p];
  }}
}}
return null;
"""


def open_map(dash_duo, app) -> None:
    dash_duo.start_server(app)
    dash_duo.wait_for_element("#map-graph .js-plotly-plot", timeout=20)
    dash_duo.wait_for_contains_text("#map-as-of", "stations reporting", timeout=20)


def markers(dash_duo) -> list[dict]:
    """Every station marker in the rendered figure: id, colour and hover text."""
    traces = dash_duo.driver.execute_script(f"return {GRAPH}.data.map(t => "
                                            "({ids: t.customdata || [], colors: (t.marker || {}).color || [], text: t.text || []}))")
    return [{"id": i, "color": c, "text": t}
            for tr in traces for i, c, t in zip(tr["ids"], tr["colors"], tr["text"])]


def page_errors(dash_duo) -> list[dict]:
    """Browser console errors (a CSP refusal of one of Dash's inline scripts would show here too)."""
    return list(dash_duo.get_logs() or [])


def wait_for_map_drawn(dash_duo, count: int) -> None:
    """Wait until MapLibre has drawn `count` station circles with WebGL (the plotly figure alone is not enough).

    Reference monitors also get a ring (a second, larger circle underneath), so those circles are added.
    """
    until(lambda: dash_duo.driver.execute_script(
        f"const gd = {GRAPH}, m = gd._fullLayout.map._subplot.map;"
        "const rings = gd.data.filter(t => t.name === 'monitor ring').reduce((n, t) => n + t.lat.length, 0);"
        "return m.loaded() && m.queryRenderedFeatures().filter(f => f.layer.type === 'circle').length - rings"
    ) == count, timeout=30)


def reporting(dash_duo) -> tuple[int, int]:
    found = re.search(r"(\d+) of (\d+) stations reporting", dash_duo.find_element("#map-as-of").text)
    assert found, dash_duo.find_element("#map-as-of").text
    return int(found[1]), int(found[2])


def legend(dash_duo) -> list[str]:
    return [chip.text for chip in dash_duo.find_elements("#map-legend .legend-chip")]


def choose_standard(dash_duo, label: str) -> None:
    dash_duo.driver.find_element(By.XPATH, f"//*[@id='map-standard']//label[normalize-space()='{label}']").click()


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two CSS rgb()/rgba() colours."""
    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in re.findall(r"\d+", css)[:3]]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_map_page_shows_every_station_in_category_colours(dash_duo, app, shot):
    open_map(dash_duo, app)
    links = [a.text for a in dash_duo.find_elements(".navbar .nav-link")]
    assert links[0] == "Live map" and "AQI calculator" in links

    stations = markers(dash_duo)
    assert stations, "the map has no station markers"
    assert len({s["id"] for s in stations}) == len(stations)
    assert {s["color"] for s in stations} <= US_EPA_COLOURS | {NO_DATA}
    assert {s["color"] for s in stations} & US_EPA_COLOURS, "no station has a category colour"
    reported, total = reporting(dash_duo)
    assert total == len(stations)
    assert reported == sum(s["color"] != NO_DATA for s in stations)
    assert dash_duo.find_element("#map-as-of").text.startswith("As of 2026-11-20 12:00 UTC")

    wait_for_map_drawn(dash_duo, len(stations))
    shot("map_all_stations")
    assert page_errors(dash_duo) == []


def test_legend_follows_the_standard(dash_duo, app, shot):
    open_map(dash_duo, app)
    assert legend(dash_duo) == LEGENDS["US EPA"] + ["No data"]

    choose_standard(dash_duo, "India NAQI")
    dash_duo.wait_for_text_to_equal("#map-legend .legend-chip:nth-child(2)", "Satisfactory")
    assert legend(dash_duo) == LEGENDS["India NAQI"] + ["No data"]
    shot("map_legend_india")

    choose_standard(dash_duo, "European EAQI")
    dash_duo.wait_for_text_to_equal("#map-legend .legend-chip:nth-child(2)", "Fair")
    assert legend(dash_duo) == LEGENDS["European EAQI"] + ["No data"]
    eea_colours = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#map-legend .legend-chip'))"
        ".map(e => getComputedStyle(e).backgroundColor)")
    until(lambda: not {s["color"] for s in markers(dash_duo)} & (US_EPA_COLOURS - {"#FFFF00"}), timeout=10)
    shot("map_legend_eea")

    # Every chip's text must stay readable on its category colour (WCAG AA for small text).
    for chip in dash_duo.find_elements("#map-legend .legend-chip"):
        fg, bg = (dash_duo.driver.execute_script(f"return getComputedStyle(arguments[0]).{p}", chip)
                  for p in ("color", "backgroundColor"))
        assert contrast(fg, bg) >= 4.5, (chip.text, fg, bg)
    assert len(set(eea_colours)) == len(eea_colours)


def test_choosing_a_city_keeps_only_its_stations(dash_duo, app, choose, shot):
    open_map(dash_duo, app)
    everywhere = markers(dash_duo)

    choose("map-city", "Delhi")
    until(lambda: len(markers(dash_duo)) < len(everywhere), timeout=10)
    in_delhi = markers(dash_duo)
    assert in_delhi
    assert all("<br>Delhi · " in s["text"] for s in in_delhi), [s["text"] for s in in_delhi]
    assert {s["id"] for s in in_delhi} == {s["id"] for s in everywhere if "<br>Delhi · " in s["text"]}
    dash_duo.wait_for_contains_text("#map-as-of", f"of {len(in_delhi)} stations reporting")

    wait_for_map_drawn(dash_duo, len(in_delhi))
    shot("map_city_delhi")


def test_clicking_a_station_opens_its_panel_with_72_hours(dash_duo, app, shot):
    open_map(dash_duo, app)
    dash_duo.wait_for_text_to_equal("#map-station-panel", "Click a station on the map to see its AQI, main "
                                                           "pollutant, health advice and the last 72 hours.")
    stations = markers(dash_duo)
    # Dash binds its click listener once Plotly has finished drawing the map.
    wait_for_map_drawn(dash_duo, len(stations))
    station = next(s for s in stations if s["color"] != NO_DATA)
    hover = dash_duo.driver.execute_script(CLICK_STATION, station["id"])
    name = re.match(r"<b>(.+?)</b>", hover)[1]
    aqi = re.search(r"AQI (\d+) — ", hover)[1]

    dash_duo.wait_for_text_to_equal("#map-station-name", name, timeout=15)
    dash_duo.wait_for_text_to_equal("#map-station-aqi", aqi)
    # The chosen station gets a halo: one extra trace (after the city outlines, under the monitor rings and markers).
    until(lambda: dash_duo.driver.execute_script(f"return {GRAPH}.data.map(t => t.name)")
          == ["city outline", "selected", "monitor ring", "Reference monitor", "Low-cost sensor"], timeout=10)

    dash_duo.wait_for_element("#map-station-panel .js-plotly-plot")
    history = dash_duo.driver.execute_script(
        "return document.querySelector('#map-station-panel .js-plotly-plot').data.map(t => ({name: t.name, x: t.x}))")
    assert history, "the 72-hour chart has no traces"
    table = [row.text.split("\n")[0].split(" ")[0]
             for row in dash_duo.find_elements("#map-station-panel tbody tr")]
    assert [t["name"] for t in history] == table
    for trace in history:
        times = [datetime.fromisoformat(x) for x in trace["x"]]
        assert times and max(times) - min(times) <= timedelta(hours=72), trace["name"]
    assert dash_duo.find_elements("#map-station-panel .js-plotly-plot .scatterlayer .trace path.js-line")
    shot("map_station_panel")
    assert page_errors(dash_duo) == []


def test_panel_shows_local_time_in_half_hour_zones(dash_duo, app):
    open_map(dash_duo, app)
    stations = markers(dash_duo)
    wait_for_map_drawn(dash_duo, len(stations))
    delhi = next(s for s in stations if "<br>Delhi · " in s["text"])
    dash_duo.driver.execute_script(CLICK_STATION, delhi["id"])
    dash_duo.wait_for_element("#map-station-name", timeout=15)
    header = dash_duo.find_element("#map-station-panel .card-header").text
    # As of 2026-11-20 12:00 UTC; Asia/Kolkata is UTC+5:30.
    assert "Fri 20 Nov 17:30 local" in header, header


# -- the analyst map: playback, surface, URL state, table, ranking, export, embed ---------------------------------
LATEST, RANGE_START = "As of 2026-11-20 12:00 UTC", "As of 2026-11-17 13:00 UTC"  # the default 72 hours


def _query(dash_duo) -> dict:
    from urllib.parse import parse_qs, urlparse
    return {k: v[0] for k, v in parse_qs(urlparse(dash_duo.driver.current_url).query).items()}


def test_playback_and_hour_steps_change_the_markers(dash_duo, app, shot):
    open_map(dash_duo, app)
    dash_duo.wait_for_contains_text("#map-as-of", LATEST)
    now = markers(dash_duo)

    dash_duo.find_element("#map-back").click()
    dash_duo.wait_for_contains_text("#map-as-of", "As of 2026-11-20 11:00 UTC", timeout=10)
    dash_duo.wait_for_text_to_equal("#map-time-label", "2026-11-20 11:00 UTC")
    assert _query(dash_duo)["time"] == "2026-11-20T11:00Z"
    dash_duo.find_element("#map-forward").click()
    dash_duo.wait_for_contains_text("#map-as-of", LATEST, timeout=10)
    assert "time" not in _query(dash_duo)  # back at the newest hour: the URL follows "latest"

    # Play from the newest hour wraps to the start of the range, then moves on an hour per second.
    dash_duo.find_element("#map-play").click()
    dash_duo.wait_for_text_to_equal("#map-play", "❚❚ Pause")
    dash_duo.wait_for_contains_text("#map-as-of", RANGE_START, timeout=10)
    dash_duo.wait_for_contains_text("#map-as-of", "As of 2026-11-17 14:00 UTC", timeout=10)
    dash_duo.find_element("#map-play").click()
    dash_duo.wait_for_text_to_equal("#map-play", "▶ Play")
    until(lambda: markers(dash_duo) != now, timeout=10)
    then = markers(dash_duo)
    # Other tests add stations to the shared database while the current snapshot stays cached: the seeded ones.
    assert {s["id"] for s in then if s["id"] <= SEED_STATIONS} == {s["id"] for s in now if s["id"] <= SEED_STATIONS}
    assert [s["text"] for s in then] != [s["text"] for s in now]
    wait_for_map_drawn(dash_duo, len(then))
    shot("map_playback")
    assert page_errors(dash_duo) == []


def test_surface_layer_switches_on_under_the_markers(dash_duo, app, choose, shot):
    open_map(dash_duo, app)
    choose("map-city", "Delhi")
    dash_duo.wait_for_contains_text("#map-as-of", "of 4 stations reporting", timeout=10)
    layers = f"return {GRAPH}.layout.map.layers.filter(l => l.sourcetype === 'image')"
    assert dash_duo.driver.execute_script(layers) == []
    dash_duo.driver.find_element(By.XPATH, "//*[@id='map-layers']//label[normalize-space()="
                                           "'Interpolated surface (IDW)']").click()
    until(lambda: len(dash_duo.driver.execute_script(layers)) == 1, timeout=10)
    image = dash_duo.driver.execute_script(layers)[0]
    assert image["source"].startswith("/export/surface.png?city=Delhi") and image["below"] == "traces"
    png = dash_duo.driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => done(r.status + ' ' + "
        "r.headers.get('content-type')), e => done(String(e)))", image["source"])
    assert png == "200 image/png"
    assert "surface" in _query(dash_duo)["layers"].split(",")
    wait_for_map_drawn(dash_duo, len(markers(dash_duo)))
    shot("map_surface")


def test_view_state_round_trips_through_the_url(dash_duo, app, shot):
    from core import catalog
    station = next(s for s in catalog.stations(app.server.extensions["aqi"], "Delhi") if s["kind"] == "reference")
    query = (f"city=Delhi&standard=us_epa&pollutant=pm25&time=2026-11-19T20:00Z&layers=surface,reference"
             f"&palette=cvd&view=table&station={station['id']}")
    dash_duo.start_server(app)
    dash_duo.driver.get(f"{dash_duo.server_url}/?{query}")
    dash_duo.wait_for_contains_text("#map-as-of", "As of 2026-11-19 20:00 UTC", timeout=20)
    dash_duo.wait_for_text_to_equal("#map-city .dash-dropdown-value", "Delhi")
    dash_duo.wait_for_text_to_equal("#map-station-name", station["name"], timeout=15)
    dash_duo.wait_for_element("#map-table-grid", timeout=10)
    assert dash_duo.find_element("#map-graph-wrap").get_attribute("hidden") is not None
    assert "PM2.5" in dash_duo.find_element("#map-table-grid caption").text
    assert dash_duo.find_element("#map-palette").is_selected()
    chips = dash_duo.driver.execute_script("return Array.from(document.querySelectorAll('#map-legend .legend-chip'))"
                                           ".map(e => getComputedStyle(e).backgroundColor)")
    assert chips[0] == "rgb(158, 255, 145)"  # #9EFF91, the colour-vision-assist Good
    expected = dict(p.split("=") for p in query.split("&"))
    until(lambda: _query(dash_duo) == expected, timeout=10)

    choose_standard(dash_duo, "India NAQI")
    until(lambda: _query(dash_duo).get("standard") == "india_naqi", timeout=10)
    shared = dash_duo.driver.current_url
    dash_duo.driver.get("about:blank")
    dash_duo.driver.get(shared)
    dash_duo.wait_for_contains_text("#map-as-of", "As of 2026-11-19 20:00 UTC", timeout=20)
    dash_duo.wait_for_element("#map-table-grid", timeout=10)
    checked = dash_duo.driver.find_element(By.XPATH, "//*[@id='map-standard']//input[@checked or @value='india_naqi']")
    assert checked.is_selected()
    assert _query(dash_duo) == {**expected, "standard": "india_naqi"}
    shot("map_table_view")


def test_ranking_export_link_and_embed_code_follow_the_view(dash_duo, app, choose, shot):
    open_map(dash_duo, app)
    until(lambda: "Pick a city or a station" in dash_duo.find_element("#map-embed-code").get_attribute("textContent"),
          timeout=10)
    choose("map-city", "Delhi")
    dash_duo.driver.find_element(By.XPATH, "//*[@id='map-view']//label[normalize-space()='Ranking']").click()
    dash_duo.wait_for_element("#map-rank-cities tbody tr", timeout=10)
    rows = dash_duo.find_elements("#map-rank-stations tbody tr")
    assert rows and all("Delhi" in r.text for r in rows)
    cities = dash_duo.find_elements("#map-rank-cities tbody tr")
    assert len(cities) == len({s["city"] for s in current(app.server.extensions["aqi"], "us_epa")["stations"]})
    until(lambda: "city=Delhi" in dash_duo.find_element("#map-export").get_attribute("href"), timeout=10)
    href = dash_duo.find_element("#map-export").get_attribute("href")
    assert "start=2026-11-17T13%3A00Z" in href and "end=2026-11-20T13%3A00Z" in href
    dash_duo.driver.set_script_timeout(15)
    csv_head = dash_duo.driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text())"
        ".then(t => done(t.split('\\n')[0]), e => done('failed: ' + e))", href)
    assert csv_head.startswith("ts_utc,station_id")
    code = dash_duo.find_element("#map-embed-code").get_attribute("textContent")
    assert code.startswith('<iframe src="') and "/embed/city/Delhi?standard=us_epa&pollutant=aqi" in code
    assert dash_duo.find_element("#map-embed-copy").text == "Embed this view"
    shot("map_ranking")


def test_phone_width_keeps_the_map_and_controls_usable(dash_duo, app, shot):
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(390, 844)
    dash_duo.driver.get(dash_duo.server_url + "/")
    dash_duo.wait_for_contains_text("#map-as-of", "stations reporting", timeout=20)
    width = dash_duo.driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px)"
    assert dash_duo.find_element("#map-play").is_displayed()
    shot("map_phone_390")
    dash_duo.driver.set_window_size(1400, 1000)

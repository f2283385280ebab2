"""The live map in a real browser: markers and groups, legend per standard, city filter, search, "near me", the
station panel with its comparison, keyboard use, and no tile or glyph request when tiles are off."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from dash.testing.wait import until
from selenium.webdriver.common.by import By

from core.snapshots import current
from tests.conftest import SEED_STATIONS

GRAPH = "document.querySelector('#map-graph .js-plotly-plot')"
US_EPA_COLOURS = {"#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#8F3F97", "#7E0023"}
NO_DATA, STALE = "#9E9E9E", "#CFD8DC"
LEGENDS = {
    "US EPA": ["Good", "Moderate", "Unhealthy for Sensitive Groups", "Unhealthy", "Very Unhealthy", "Hazardous"],
    "India NAQI": ["Good", "Satisfactory", "Moderately polluted", "Poor", "Very Poor", "Severe"],
    "European EAQI": ["Good", "Fair", "Moderate", "Poor", "Very poor", "Extremely poor"],
}
GREYS = ["Not current (older than 3 h)", "No data"]
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


def open_map(dash_duo, app, query: str = "") -> None:
    dash_duo.start_server(app)
    if query:
        dash_duo.driver.get(f"{dash_duo.server_url}/?{query}")
    dash_duo.wait_for_element("#map-graph .js-plotly-plot", timeout=20)
    dash_duo.wait_for_contains_text("#map-as-of", "stations reporting", timeout=20)


def markers(dash_duo) -> list[dict]:
    """Every single-station marker in the rendered figure: id, colour and hover text."""
    traces = dash_duo.driver.execute_script(f"return {GRAPH}.data.filter(t => t.name !== 'selected' && "
                                            "!t.name.startsWith('cluster: ')).map(t => "
                                            "({ids: t.customdata || [], color: t.marker.color, text: t.text || []}))")
    return [{"id": i, "color": tr["color"], "text": t} for tr in traces for i, t in zip(tr["ids"], tr["text"])]


def clusters(dash_duo) -> list[dict]:
    """Every group marker: its colour and how many stations it holds."""
    traces = dash_duo.driver.execute_script(f"return {GRAPH}.data.filter(t => t.name.startsWith('cluster: '))"
                                            ".map(t => ({color: t.marker.color, counts: t.text}))")
    return [{"color": tr["color"], "count": int(c)} for tr in traces for c in tr["counts"]]


def page_errors(dash_duo) -> list[dict]:
    """Browser console errors (a CSP refusal, a tile or glyph that could not load, would show here too)."""
    return list(dash_duo.get_logs() or [])


def wait_for_map_drawn(dash_duo) -> None:
    """Wait until MapLibre has drawn every marker of the figure with WebGL (the plotly figure alone is not enough)."""
    until(lambda: dash_duo.driver.execute_script(
        f"const gd = {GRAPH}, m = gd._fullLayout.map._subplot.map;"
        "const points = gd.data.reduce((n, t) => n + t.lat.length, 0);"
        "return m.loaded() && m.queryRenderedFeatures().filter(f => f.layer.type === 'circle').length === points"
    ), timeout=30)


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


def test_map_page_shows_every_station_in_category_colours_grouped_at_low_zoom(dash_duo, app, shot):
    open_map(dash_duo, app)
    links = [a.text for a in dash_duo.find_elements(".navbar .nav-link")]
    assert links[0] == "Live map" and "AQI calculator" in links

    singles, groups = markers(dash_duo), clusters(dash_duo)
    assert groups, "six cities seen from afar: their stations are grouped"
    reported, total = reporting(dash_duo)
    assert len(singles) + sum(g["count"] for g in groups) == total
    colours = {s["color"] for s in singles} | {g["color"] for g in groups}
    assert colours <= US_EPA_COLOURS | {NO_DATA, STALE} and colours & US_EPA_COLOURS
    assert reported >= sum(s["color"] in US_EPA_COLOURS for s in singles)
    assert dash_duo.find_element("#map-as-of").text.startswith("As of 2026-11-20 12:00 UTC")

    wait_for_map_drawn(dash_duo)
    # Each group's count is drawn as HTML over the map (MapLibre's own text would fetch glyphs from the internet).
    until(lambda: sorted(dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#map-graph .cluster-counts span')).map(e => +e.textContent)"))
          == sorted(g["count"] for g in groups), timeout=10)
    shot("map_all_stations")
    assert page_errors(dash_duo) == []


def test_legend_follows_the_standard(dash_duo, app, shot):
    open_map(dash_duo, app)
    assert legend(dash_duo) == LEGENDS["US EPA"] + GREYS

    choose_standard(dash_duo, "India NAQI")
    dash_duo.wait_for_text_to_equal("#map-legend .legend-chip:nth-child(2)", "Satisfactory")
    assert legend(dash_duo) == LEGENDS["India NAQI"] + GREYS
    shot("map_legend_india")

    choose_standard(dash_duo, "European EAQI")
    dash_duo.wait_for_text_to_equal("#map-legend .legend-chip:nth-child(2)", "Fair")
    assert legend(dash_duo) == LEGENDS["European EAQI"] + GREYS
    eea_colours = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#map-legend .legend-chip'))"
        ".map(e => getComputedStyle(e).backgroundColor)")
    until(lambda: not {c["color"] for c in clusters(dash_duo)} & (US_EPA_COLOURS - {"#FFFF00"}), timeout=10)
    shot("map_legend_eea")

    # Every chip's text must stay readable on its category colour (WCAG AA for small text).
    for chip in dash_duo.find_elements("#map-legend .legend-chip"):
        fg, bg = (dash_duo.driver.execute_script(f"return getComputedStyle(arguments[0]).{p}", chip)
                  for p in ("color", "backgroundColor"))
        assert contrast(fg, bg) >= 4.5, (chip.text, fg, bg)
    assert len(set(eea_colours)) == len(eea_colours)


def test_choosing_a_city_keeps_only_its_stations_and_fits_them(dash_duo, app, choose, shot):
    open_map(dash_duo, app)
    _, everywhere = reporting(dash_duo)

    choose("map-city", "Delhi")
    until(lambda: reporting(dash_duo)[1] < everywhere, timeout=10)
    in_delhi = markers(dash_duo)
    assert in_delhi and not clusters(dash_duo)  # fitted to the city: every station drawn as itself
    assert all("<br>Delhi · " in s["text"] for s in in_delhi), [s["text"] for s in in_delhi]
    dash_duo.wait_for_contains_text("#map-as-of", f"of {len(in_delhi)} stations reporting")
    assert dash_duo.driver.execute_script(f"return {GRAPH}._fullLayout.map.zoom") > 8

    wait_for_map_drawn(dash_duo)
    shot("map_city_delhi")


def test_clicking_a_station_opens_its_panel_with_72_hours_nowcast_and_a_comparison(dash_duo, app, choose, shot):
    open_map(dash_duo, app, "city=Delhi")
    dash_duo.wait_for_contains_text("#map-station-panel", "Click a station on the map")
    stations = markers(dash_duo)
    # Dash binds its click listener once Plotly has finished drawing the map.
    wait_for_map_drawn(dash_duo)
    station = next(s for s in stations if s["color"] in US_EPA_COLOURS)
    hover = dash_duo.driver.execute_script(CLICK_STATION, station["id"])
    name = re.match(r"<b>(.+?)</b>", hover)[1]
    aqi = re.search(r"AQI (\d+) — ", hover)[1]

    dash_duo.wait_for_text_to_equal("#map-station-name", name, timeout=15)
    dash_duo.wait_for_text_to_equal("#map-station-aqi", aqi)
    assert dash_duo.find_element("#map-station-source").text == "Source: Simulated demo data"
    assert dash_duo.find_element("#map-station-age").text == "Newest reading: this hour"
    # The chosen station gets a halo under every marker.
    until(lambda: dash_duo.driver.execute_script(f"return {GRAPH}.data[0].name") == "selected", timeout=10)

    dash_duo.wait_for_element("#map-station-panel .js-plotly-plot")
    history = dash_duo.driver.execute_script(
        "return document.querySelector('#map-station-panel .js-plotly-plot').data.map(t => ({name: t.name, x: t.x}))")
    table = [row.text.split("\n")[0].split(" ")[0] for row in dash_duo.find_elements("#map-station-panel tbody tr")]
    assert [t["name"] for t in history if t["name"].endswith(" hourly")] == [f"{p} hourly" for p in table]
    assert "PM2.5 NowCast" in [t["name"] for t in history]
    for trace in history:
        times = [datetime.fromisoformat(x) for x in trace["x"]]
        assert times and max(times) - min(times) <= timedelta(hours=72), trace["name"]

    # Compare with the nearest other station: its lines join the chart, dashed.
    # Below the panel, out of the window: clicked by script (the popover then opens in the page, not the window).
    dash_duo.driver.execute_script("arguments[0].click()", dash_duo.wait_for_element("#map-compare"))
    dash_duo.wait_for_element(".dash-dropdown-content [role=option]")
    other = dash_duo.find_elements(".dash-dropdown-content [role=option]")[0]
    other_name = other.text.split(" — ")[0]
    dash_duo.driver.execute_script("arguments[0].click()", other)
    until(lambda: any(n.startswith(f"{other_name}: ") for n in dash_duo.driver.execute_script(
        "return document.querySelector('#map-station-panel .js-plotly-plot').data.map(t => t.name)")), timeout=15)
    shot("map_station_panel")
    assert page_errors(dash_duo) == []


# -- the analyst map: playback, surface, URL state, table, ranking, export, embed ---------------------------------
LATEST, RANGE_START = "As of 2026-11-20 12:00 UTC", "As of 2026-11-17 13:00 UTC"  # the default 72 hours


def _query(dash_duo) -> dict:
    from urllib.parse import parse_qs, urlparse
    return {k: v[0] for k, v in parse_qs(urlparse(dash_duo.driver.current_url).query).items()}


def test_playback_and_hour_steps_change_the_markers(dash_duo, app, shot):
    open_map(dash_duo, app, "city=Delhi")
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
    wait_for_map_drawn(dash_duo)
    shot("map_playback")
    assert page_errors(dash_duo) == []


def test_category_bands_switch_on_under_the_markers(dash_duo, app, choose, shot):
    open_map(dash_duo, app, "city=Delhi")
    layers = f"return {GRAPH}.layout.map.layers.filter(l => l.type === 'fill')"
    assert dash_duo.driver.execute_script(layers) == []
    dash_duo.driver.find_element(By.XPATH, "//*[@id='map-layers']//label[normalize-space()="
                                           "'Category bands (interpolated)']").click()
    until(lambda: len(dash_duo.driver.execute_script(layers)) >= 1, timeout=15)
    bands = dash_duo.driver.execute_script(layers)
    assert all(b["below"] == "traces" and b["source"]["geometry"]["type"] == "MultiPolygon" for b in bands)
    assert {b["color"] for b in bands} <= US_EPA_COLOURS
    dash_duo.wait_for_contains_text("#map-legend", "inverse-distance")
    assert "surface" in _query(dash_duo)["layers"].split(",")
    wait_for_map_drawn(dash_duo)
    until(lambda: dash_duo.driver.execute_script(
        f"return {GRAPH}._fullLayout.map._subplot.map.queryRenderedFeatures().some(f => f.layer.type === 'fill')"),
        timeout=15)
    shot("map_bands")
    assert page_errors(dash_duo) == []


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


def _search(dash_duo, text: str) -> list:
    dash_duo.find_element("#map-search").click()
    box = dash_duo.wait_for_element(".dash-dropdown-content input")
    box.send_keys(text)
    until(lambda: any(text.casefold() in o.text.casefold()
                      for o in dash_duo.find_elements(".dash-dropdown-content [role=option]")), timeout=10)
    return dash_duo.find_elements(".dash-dropdown-content [role=option]")


def test_search_finds_areas_and_stations_as_you_type(dash_duo, app):
    from core import catalog
    station = catalog.stations(app.server.extensions["aqi"], "London")[0]
    open_map(dash_duo, app)
    found = _search(dash_duo, "Del")
    area = next(o for o in found if o.text.startswith("Delhi (area"))
    area.click()
    dash_duo.wait_for_text_to_equal("#map-city .dash-dropdown-value", "Delhi", timeout=10)
    dash_duo.wait_for_contains_text("#map-as-of", "of 4 stations reporting", timeout=10)

    found = _search(dash_duo, station["name"][:6])
    next(o for o in found if o.text == f"{station['name']} — London").click()
    dash_duo.wait_for_text_to_equal("#map-station-name", station["name"], timeout=15)
    dash_duo.wait_for_text_to_equal("#map-city .dash-dropdown-value", "London", timeout=10)


def test_near_me_asks_the_browser_and_opens_the_nearest_station(dash_duo, app):
    from core import catalog
    delhi = catalog.stations(app.server.extensions["aqi"], "Delhi")
    open_map(dash_duo, app)
    # The location is only asked for when the button is pressed; here the browser is told to answer Delhi.
    dash_duo.driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": dash_duo.server_url,
                                                                 "permissions": ["geolocation"]})
    dash_duo.driver.execute_cdp_cmd("Emulation.setGeolocationOverride",
                                    {"latitude": delhi[0]["lat"], "longitude": delhi[0]["lon"], "accuracy": 10})
    assert dash_duo.find_element("#map-near-note").text == ""
    dash_duo.find_element("#map-near").click()
    dash_duo.wait_for_contains_text("#map-near-note", "Nearest reporting station:", timeout=15)
    dash_duo.wait_for_text_to_equal("#map-city .dash-dropdown-value", "Delhi", timeout=10)
    assert dash_duo.find_element("#map-station-name").text in {s["name"] for s in delhi}


def test_the_table_view_slider_and_panel_work_from_the_keyboard(dash_duo, app):
    from selenium.webdriver.common.keys import Keys
    open_map(dash_duo, app, "city=Delhi&view=table")
    pick = dash_duo.wait_for_element("#map-table-grid .station-pick", timeout=15)
    name = pick.text
    dash_duo.driver.execute_script("arguments[0].focus()", pick)
    dash_duo.driver.switch_to.active_element.send_keys(Keys.ENTER)
    dash_duo.wait_for_text_to_equal("#map-station-name", name, timeout=15)

    thumb = dash_duo.find_element("#map-time [role=slider]")
    assert thumb.get_attribute("aria-label") == "Hour shown"
    dash_duo.driver.execute_script("arguments[0].focus()", thumb)
    dash_duo.driver.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    dash_duo.wait_for_text_to_equal("#map-time-label", "2026-11-20 11:00 UTC", timeout=10)
    dash_duo.wait_for_contains_text("#map-table-grid caption", "at 2026-11-20 11:00 UTC", timeout=10)


def test_unreachable_tiles_are_left_off_so_the_page_requests_none(dash_duo, app_with):
    app = app_with(map_tiles="http://127.0.0.1:9/{z}/{x}/{y}.png")  # nothing listens on port 9
    open_map(dash_duo, app)
    sources = dash_duo.driver.execute_script(f"return {GRAPH}.layout.map.layers.map(l => l.sourcetype)")
    assert "raster" not in sources
    wait_for_map_drawn(dash_duo)
    assert page_errors(dash_duo) == []


def test_an_unknown_city_gets_a_visible_message_not_an_error(client):
    inputs = [("map-standard", "value", "us_epa"), ("map-pollutant", "value", "aqi"), ("map-city", "value", "Nowhere"),
              ("map-time", "value", None), ("map-layers", "value", ["surface", "reference"]),
              ("map-palette", "value", False), ("map-refresh", "n_intervals", None), ("map-selected", "data", None),
              ("map-cluster-zoom", "data", None)]
    outputs = [("map-graph", "figure"), ("map-legend", "children"), ("map-as-of", "children")]
    client.get("/")
    response = client.post("/_dash-update-component", json={
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": ["map-city.value"], "state": []})
    assert response.status_code == 200
    message = response.get_json()["response"]["map-as-of"]["children"]
    assert "Nowhere" in str(message) and "Pick an area from the list" in str(message)

"""Pure figure builders, without a browser."""
import numpy as np
import pandas as pd

from core.aqi.engine import categories
from dashboard.figures import (
    CLUSTER_MAX_ZOOM,
    NO_DATA,
    STALE_COLOR,
    band_layers,
    category_of,
    cluster_cells,
    fit_view,
    history_figure,
    map_figure,
    nowcast_series,
    text_color,
)


def _station(i, aqi, kind="reference", city="A", lat=0.0, lon=0.0, age=0):
    return {"id": i, "name": f"S{i}", "city": city, "kind": kind, "lat": lat, "lon": lon, "aqi": aqi, "age_hours": age,
            "pollutants": {"pm25": {"sub_index": aqi, "concentration": 1.0, "unit": "µg/m³"}} if aqi else {}}


def _traces(fig) -> dict:
    return {t.name: t for t in fig.data}


def test_markers_take_their_category_colour_grey_when_stale_or_missing_and_the_worst_is_drawn_last():
    stations = [_station(1, 42), _station(2, 160, lat=0.1), _station(3, None, lat=0.2, lon=0.1, age=None),
                _station(4, 320, kind="low_cost", lon=0.2), _station(5, 45, lat=0.3, age=5)]
    fig = map_figure(stations, "aqi", "us_epa", categories("us_epa"), zoom=12, stale_after_h=3)
    traces = _traces(fig)
    assert [t.name for t in fig.data] == ["No data", "Not current (older than 3 h)", "Good", "Unhealthy", "Hazardous"]
    assert traces["Good"].marker.color == "#00E400" and list(traces["Good"].customdata) == [1]
    assert traces["No data"].marker.color == NO_DATA and traces["Not current (older than 3 h)"].marker.color == STALE_COLOR
    assert "Newest reading 5 h old" in traces["Not current (older than 3 h)"].text[0]
    assert traces["Hazardous"].marker.size < traces["Good"].marker.size  # a sensor is smaller than a monitor


def test_low_zoom_groups_nearby_stations_under_their_worst_category_with_their_count():
    near = [_station(i, aqi, lat=40 + i * 0.01, lon=-100) for i, aqi in enumerate([20, 30, 120], start=1)]
    far = [_station(9, 40, lat=10, lon=20)]
    fig = map_figure(near + far, "aqi", "us_epa", categories("us_epa"), zoom=4)
    traces = _traces(fig)
    cluster = traces["cluster: Unhealthy for Sensitive Groups"]
    assert list(cluster.text) == ["3"] and cluster.textfont.color == text_color("#FF7E00")
    assert list(cluster.customdata[0]) == [-100.0, 40.02]  # where a click zooms in
    assert list(traces["Good"].customdata) == [9]  # alone in its square: drawn as itself
    chosen = map_figure(near + far, "aqi", "us_epa", categories("us_epa"), zoom=4, selected_id=3)
    assert list(_traces(chosen)["cluster: Good"].text) == ["2"]  # the selected station stands alone
    assert list(_traces(chosen)["Unhealthy for Sensitive Groups"].customdata) == [3]
    close = map_figure(near + far, "aqi", "us_epa", categories("us_epa"), zoom=CLUSTER_MAX_ZOOM)
    assert sorted(i for t in close.data for i in t.customdata) == [1, 2, 3, 9]


def test_cluster_cells_are_squares_of_the_screen_at_that_zoom():
    lats, lons = np.array([40.0, 40.0, 40.0]), np.array([-100.0, -99.9, -98.0])
    cells = cluster_cells(lats, lons, zoom=5)
    assert cells[0] == cells[1] != cells[2]
    assert len(set(cluster_cells(lats, lons, zoom=12))) == 3


def test_map_needs_no_internet_when_tiles_are_off():
    fig = map_figure([_station(1, 42)], "aqi", "us_epa", categories("us_epa"), tiles="")
    assert fig.layout.map.style == "white-bg"
    assert [layer.sourcetype for layer in fig.layout.map.layers] == ["geojson"]
    with_tiles = map_figure([_station(1, 42)], "aqi", "us_epa", categories("us_epa"), tiles="https://t/{z}/{x}/{y}")
    assert [layer.sourcetype for layer in with_tiles.layout.map.layers] == ["raster", "geojson"]
    assert not any(t.mode and "text" in t.mode for t in map_figure(
        [_station(i, 42, lat=i * 0.01) for i in range(5)], "aqi", "us_epa", categories("us_epa"), zoom=3).data)


def test_bands_become_one_fill_layer_per_category_under_the_markers():
    square = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]
    surface = {"bands": [{"category": 0, "polygons": [square]}, {"category": 3, "polygons": [square, square]}]}
    layers = band_layers(surface, categories("us_epa"))
    assert [(l["color"], l["type"], l["below"]) for l in layers] == [("#00E400", "fill", "traces"),
                                                                     ("#FF0000", "fill", "traces")]
    assert layers[1]["source"]["geometry"] == {"type": "MultiPolygon", "coordinates": [square, square]}


def test_open_top_category_holds_values_above_500():
    assert category_of(612, categories("us_epa"))["name"] == "Hazardous"
    assert category_of(float("nan"), categories("us_epa")) is None


def test_chip_text_colour_keeps_contrast_on_dark_and_light_categories():
    assert text_color("#7E0023") == "#FFFFFF"
    assert text_color("#FFFF00") == "#000000"


def test_fit_view_zooms_in_on_a_city_out_on_the_world_and_ignores_a_few_remote_sites():
    _, city_zoom = fit_view([28.4, 28.8], [77.0, 77.4])
    centre, world_zoom = fit_view([51.5, -23.5, 34.0], [-0.1, -46.6, -118.2])
    assert city_zoom > 8 and world_zoom < 2
    assert -90 < centre["lon"] < -30
    rng = np.random.default_rng(1)
    lats = list(rng.uniform(30, 45, 200)) + [28.6, 13.7]  # two embassy monitors abroad
    lons = list(rng.uniform(-120, -75, 200)) + [77.2, 100.5]
    centre, zoom = fit_view(lats, lons)
    assert -105 < centre["lon"] < -90 and zoom > 2.5


def test_nowcast_follows_the_hours_and_needs_two_of_the_last_three():
    hourly = np.array([10.0] * 12 + [40.0, np.nan, np.nan])
    nowcast = nowcast_series(hourly, "pm25")
    assert nowcast[11] == 10.0
    assert 10.0 < nowcast[12] < 40.0
    assert np.isnan(nowcast[14])  # only one of the last three hours


def test_history_breaks_lines_at_missing_hours_and_draws_nowcast_and_the_compared_station():
    ts = pd.to_datetime(["2026-11-20T00:00Z", "2026-11-20T01:00Z", "2026-11-20T03:00Z"], utc=True)
    history = pd.DataFrame({"parameter": "pm25", "ts": ts, "value": [10.0, 12.0, 9.0], "unit": "µg/m³"})
    fig = history_figure(history, "Asia/Kolkata", compare=history.assign(value=[1.0, 2.0, 3.0]), compare_name="B")
    assert [t.name for t in fig.data] == ["PM2.5 hourly", "PM2.5 NowCast", "B: PM2.5"]
    y = list(fig.data[0].y)
    assert len(y) == 4 and pd.isna(y[2])  # 02:00 is missing: a gap, not a straight line
    assert str(fig.data[0].x[0].tz) == "Asia/Kolkata"

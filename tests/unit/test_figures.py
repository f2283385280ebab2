"""Pure figure builders, without a browser."""
import pandas as pd

from core.aqi.engine import categories
from dashboard.figures import (NO_DATA, category_of, convex_hull, fit_view, history_figure, map_figure,
                               text_color)


def _station(i, aqi, kind="reference", city="A", lat=0.0, lon=0.0):
    return {"id": i, "name": f"S{i}", "city": city, "kind": kind, "lat": lat, "lon": lon, "aqi": aqi,
            "pollutants": {"pm25": {"sub_index": aqi, "concentration": 1.0, "unit": "µg/m³"}} if aqi else {}}


def test_markers_take_their_category_colour_and_grey_without_data():
    stations = [_station(1, 42), _station(2, 160, lat=0.1), _station(3, None, lat=0.2, lon=0.1),
                _station(4, 320, kind="low_cost", lon=0.2)]
    fig = map_figure(stations, "aqi", "us_epa", categories("us_epa"))
    reference = next(t for t in fig.data if t.name == "Reference monitor")
    sensors = next(t for t in fig.data if t.name == "Low-cost sensor")
    assert list(reference.marker.color) == ["#00E400", "#FF0000", NO_DATA]
    assert list(sensors.marker.color) == ["#7E0023"]
    assert reference.marker.size > sensors.marker.size
    assert list(reference.customdata) == [1, 2, 3]


def test_map_needs_no_internet_when_tiles_are_off():
    fig = map_figure([_station(1, 42)], "aqi", "us_epa", categories("us_epa"), tiles="")
    assert fig.layout.map.style == "white-bg"
    assert [layer.sourcetype for layer in fig.layout.map.layers] == ["geojson"]
    with_tiles = map_figure([_station(1, 42)], "aqi", "us_epa", categories("us_epa"), tiles="https://t/{z}/{x}/{y}")
    assert [layer.sourcetype for layer in with_tiles.layout.map.layers] == ["raster", "geojson"]


def test_open_top_category_holds_values_above_500():
    assert category_of(612, categories("us_epa"))["name"] == "Hazardous"
    assert category_of(float("nan"), categories("us_epa")) is None


def test_chip_text_colour_keeps_contrast_on_dark_and_light_categories():
    assert text_color("#7E0023") == "#FFFFFF"
    assert text_color("#FFFF00") == "#000000"


def test_convex_hull_outlines_the_points_closed():
    hull = convex_hull([(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5)])
    assert hull[0] == hull[-1] and len(hull) == 5 and (0.5, 0.5) not in hull


def test_fit_view_zooms_in_on_a_city_and_out_on_the_world():
    _, city_zoom = fit_view([28.4, 28.8], [77.0, 77.4])
    centre, world_zoom = fit_view([51.5, -23.5, 34.0], [-0.1, -46.6, -118.2])
    assert city_zoom > 8 > 2 > world_zoom
    assert -90 < centre["lon"] < -30


def test_history_breaks_lines_at_missing_hours():
    ts = pd.to_datetime(["2026-11-20T00:00Z", "2026-11-20T01:00Z", "2026-11-20T03:00Z"], utc=True)
    history = pd.DataFrame({"parameter": "pm25", "ts": ts, "value": [10.0, 12.0, 9.0], "unit": "µg/m³"})
    fig = history_figure(history, "Asia/Kolkata")
    y = list(fig.data[0].y)
    assert len(y) == 4 and pd.isna(y[2])  # 02:00 is missing: a gap, not a straight line
    assert str(fig.data[0].x[0].tz) == "Asia/Kolkata"

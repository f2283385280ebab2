"""The forecast page's figures, without a browser."""
from datetime import UTC, datetime, timedelta

import pandas as pd

from dashboard.forecast_figures import explanation_figure, forecast_figure

ISSUED = datetime(2026, 11, 20, 12, tzinfo=UTC)
BANDS = [{"name": "Good", "low": 0.0, "high": 9.0, "color": "#00E400"},
         {"name": "Moderate", "low": 9.0, "high": 35.4, "color": "#FFFF00"},
         {"name": "Unhealthy for Sensitive Groups", "low": 35.4, "high": 55.4, "color": "#FF7E00"},
         {"name": "Unhealthy", "low": 55.4, "high": None, "color": "#FF0000"}]


def _observed(values):
    ts = pd.date_range(ISSUED - timedelta(hours=len(values) - 1), ISSUED, freq="h")
    return pd.DataFrame({"ts": ts, "value": values})


def _forecast(p50s):
    return {"issued_at": ISSUED, "data": [{"time": ISSUED + timedelta(hours=h + 1), "p10": v - 5, "p50": v,
                                           "p90": v + 5, "aqi": None if h else 80} for h, v in enumerate(p50s)]}


def test_band_sits_between_p10_and_p90_after_the_observed_line():
    fig = forecast_figure(_observed([10.0, 12.0]), _forecast([20.0, 30.0]), BANDS, "Asia/Kolkata",
                          "PM2.5", "µg/m³")
    traces = {t.name: t for t in fig.data}
    assert list(traces) == ["Observed", "p90", "p10–p90", "Forecast (p50)"]
    assert traces["p10–p90"].fill == "tonexty" and list(traces["p90"].y) == [25.0, 35.0]
    assert str(traces["Forecast (p50)"].x[0].tzinfo) == "Asia/Kolkata"
    assert [list(c) for c in traces["Forecast (p50)"].customdata] == [[15.0, 25.0, 80], [25.0, 35.0, "—"]]


def test_y_axis_reaches_above_the_highest_p90_and_bands_stop_there():
    fig = forecast_figure(_observed([10.0]), _forecast([40.0]), BANDS, "UTC", "PM2.5", "µg/m³")
    top = fig.layout.yaxis.range[1]
    assert top == 45.0 * 1.1
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == sum(1 for b in BANDS if b["low"] < top)
    assert max(r.y1 for r in rects) == top
    assert fig.layout.yaxis.title.text == "PM2.5 (µg/m³)"


def test_without_a_forecast_only_the_observed_hours_show():
    fig = forecast_figure(_observed([10.0, 11.0]), None, BANDS, "UTC", "O₃", "ppb")
    assert [t.name for t in fig.data] == ["Observed"]
    assert not [s for s in fig.layout.shapes if s.type == "line"]  # no "issued" marker


def test_explanation_bars_are_red_up_green_down_largest_on_top():
    explanation = {"unit": "µg/m³", "attributions": [{"feature": "pm25 lag 1", "contribution": 4.0},
                                                     {"feature": "wind", "contribution": -2.0},
                                                     {"feature": "hour", "contribution": 0.5}]}
    bar = explanation_figure(explanation, top=2).data[0]
    assert list(bar.y) == ["wind", "pm25 lag 1"]
    assert list(bar.marker.color) == ["#2ca02c", "#d62728"]
    assert explanation_figure({"unit": "ppb", "attributions": []}).data[0].x == ()


def test_reliability_plot_draws_the_diagonal_and_one_line_per_scored_horizon():
    from dashboard.forecast_figures import reliability_figure

    metrics = {"quantiles": [0.1, 0.5, 0.9], "horizons": [1, 24, 72],
               "reliability": {"pm25": {"observed": [[0.1, 0.5, 0.9], [0.2, 0.5, 0.8], [None, None, None]]}}}
    fig = reliability_figure(metrics, "pm25")
    assert [t.name for t in fig.data] == ["ideal", "1 h", "24 h"]
    assert list(fig.data[0].x) == [0, 1] and list(fig.data[0].y) == [0, 1]
    assert list(fig.data[2].x) == [0.1, 0.5, 0.9] and list(fig.data[2].y) == [0.2, 0.5, 0.8]


def test_cams_as_published_is_its_own_line_and_lifts_the_axis_when_higher():
    cams = [{"time": ISSUED + timedelta(hours=h), "value": v} for h, v in ((-1, 12.0), (0, 14.0), (1, 60.0))]
    fig = forecast_figure(_observed([10.0, 12.0]), _forecast([20.0]), BANDS, "Asia/Kolkata", "PM2.5", "µg/m³",
                          cams=cams)
    traces = {t.name: t for t in fig.data}
    assert list(traces) == ["Observed", "p90", "p10–p90", "Forecast (p50)", "CAMS as published"]
    line = traces["CAMS as published"]
    assert list(line.y) == [12.0, 14.0, 60.0] and str(line.x[0].tzinfo) == "Asia/Kolkata"
    assert fig.layout.yaxis.range[1] == 60.0 * 1.1


def test_without_cams_rows_there_is_no_cams_line():
    fig = forecast_figure(_observed([10.0]), _forecast([20.0]), BANDS, "UTC", "PM2.5", "µg/m³", cams=[])
    assert "CAMS as published" not in [t.name for t in fig.data]


"""US EPA AQI (TAD 2024): breakpoints, truncate → interpolate → round half up, cautionary statements."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from core.aqi import Category, SubIndex
from core.aqi.categories import position
from core.aqi.scale import Scale, scale

CATEGORIES: tuple[Category, ...] = (
    Category("Good", "#00E400", 0, 50, "Air quality is satisfactory, and air pollution poses little or no risk."),
    Category("Moderate", "#FFFF00", 51, 100,
             "Air quality is acceptable. However, there may be a risk for some people, particularly those who are "
             "unusually sensitive to air pollution."),
    Category("Unhealthy for Sensitive Groups", "#FF7E00", 101, 150,
             "Members of sensitive groups may experience health effects. The general public is less likely to be "
             "affected."),
    Category("Unhealthy", "#FF0000", 151, 200,
             "Some members of the general public may experience health effects; members of sensitive groups may "
             "experience more serious health effects."),
    Category("Very Unhealthy", "#8F3F97", 201, 300,
             "Health alert: the risk of health effects is increased for everyone."),
    Category("Hazardous", "#7E0023", 301, None,
             "Health warning of emergency conditions: everyone is more likely to be affected."),
)
# TAD 2024 Table 3, the colour-vision-assist palette, in category order.
CVD_COLORS: tuple[str, ...] = ("#9EFF91", "#FFC905", "#FF8205", "#F02200", "#890997", "#640015")

_O3_8H_NOTE = ("8-hour ozone does not define the AQI above 300 (0.201 ppm and more): a 1-hour ozone value is "
               "needed (o3_1h)")
SCALES: dict[str, Scale] = {s.code: s for s in (
    scale("o3_8h", "ppm", 3, [("0.000", "0.054", 0, 50), ("0.055", "0.070", 51, 100), ("0.071", "0.085", 101, 150),
                              ("0.086", "0.105", 151, 200), ("0.106", "0.200", 201, 300)],
          "none", above_note=_O3_8H_NOTE),
    scale("o3_1h", "ppm", 3, [("0.125", "0.164", 101, 150), ("0.165", "0.204", 151, 200), ("0.205", "0.404", 201, 300),
                              ("0.405", "0.604", 301, 500)],
          "extend", below_note="1-hour ozone defines the AQI only from 0.125 ppm (101); below that use the "
                               "8-hour value (o3_8h)"),
    scale("pm25_24h", "ug/m3", 1, [("0.0", "9.0", 0, 50), ("9.1", "35.4", 51, 100), ("35.5", "55.4", 101, 150),
                                   ("55.5", "125.4", 151, 200), ("125.5", "225.4", 201, 300),
                                   ("225.5", "325.4", 301, 500)], "extend"),
    scale("pm10_24h", "ug/m3", 0, [("0", "54", 0, 50), ("55", "154", 51, 100), ("155", "254", 101, 150),
                                   ("255", "354", 151, 200), ("355", "424", 201, 300), ("425", "604", 301, 500)],
          "extend"),
    scale("co_8h", "ppm", 1, [("0.0", "4.4", 0, 50), ("4.5", "9.4", 51, 100), ("9.5", "12.4", 101, 150),
                              ("12.5", "15.4", 151, 200), ("15.5", "30.4", 201, 300), ("30.5", "50.4", 301, 500)],
          "extend"),
    scale("so2_1h", "ppb", 0, [("0", "35", 0, 50), ("36", "75", 51, 100), ("76", "185", 101, 150),
                               ("186", "304", 151, 200)],
          "cap", above_note="1-hour SO2 defines the AQI only up to 200: at 305 ppb or more the AQI is 200 unless "
                            "the 24-hour average is also 305 ppb or more (so2_24h)"),
    scale("so2_24h", "ppb", 0, [("305", "604", 201, 300), ("605", "1004", 301, 500)],
          "extend", below_note="24-hour SO2 defines the AQI only from 305 ppb (201); below that use the 1-hour "
                               "value (so2_1h)"),
    scale("no2_1h", "ppb", 0, [("0", "53", 0, 50), ("54", "100", 51, 100), ("101", "360", 101, 150),
                               ("361", "649", 151, 200), ("650", "1249", 201, 300), ("1250", "2049", 301, 500)],
          "extend"),
)}
# Hourly PM (a NowCast or a single hour) is read on the 24-hour table, as AirNow does.
SCALES["pm25_1h"] = replace(SCALES["pm25_24h"], code="pm25_1h")

# The 2024 PM2.5 table is in force from 6 May 2024 (TAD 2024); before, the 2012 one (TAD 2018 Table 5).
PM25_2024_FROM = date(2024, 5, 6)
PM25_2012 = scale("pm25_24h", "ug/m3", 1, [("0.0", "12.0", 0, 50), ("12.1", "35.4", 51, 100),
                                           ("35.5", "55.4", 101, 150), ("55.5", "150.4", 151, 200),
                                           ("150.5", "250.4", 201, 300), ("250.5", "350.4", 301, 400),
                                           ("350.5", "500.4", 401, 500)], "extend")
SCALES["pm10_1h"] = replace(SCALES["pm10_24h"], code="pm10_1h")



def pm25_scale(on: date | None = None, code: str = "pm25_24h") -> Scale:
    """The PM2.5 table in force on a date (None: today's, 2024); code pm25_24h, or pm25_1h for hourly values."""
    table = SCALES["pm25_24h"] if on is None or on >= PM25_2024_FROM else PM25_2012
    return replace(table, code=code)


POLLUTANT_CODES: tuple[str, ...] = ("pm25_24h", "pm25_1h", "pm10_24h", "pm10_1h", "o3_8h", "o3_1h", "co_8h",
                                    "so2_1h", "so2_24h", "no2_1h")

SENSITIVE_GROUPS: dict[str, str] = {
    "o3": "People with lung disease such as asthma, children and teenagers, older adults, people who are active "
          "outdoors (including outdoor workers), people with certain genetic variants, and people with diets "
          "limited in certain nutrients",
    "pm25": "People with heart or lung disease, older adults, children, and people of lower socioeconomic status",
    "pm10": "People with heart or lung disease, older adults, children, and people of lower socioeconomic status",
    "co": "People with heart disease",
    "so2": "People with asthma, children, and older adults",
    "no2": "People with asthma, children, and older adults",
}

_PM_GROUPS = "People with heart or lung disease, older adults, children, and people of lower socioeconomic status"
_PM_STATEMENTS = (
    "None.",
    "Unusually sensitive people should consider reducing prolonged or heavy exertion.",
    f"{_PM_GROUPS} should reduce prolonged or heavy exertion.",
    f"{_PM_GROUPS} should avoid prolonged or heavy exertion; everyone else should reduce prolonged or heavy "
    "exertion.",
    f"{_PM_GROUPS} should avoid all physical activity outdoors; everyone else should avoid prolonged or heavy "
    "exertion.",
    "Everyone should avoid all physical activity outdoors; "
    f"{_PM_GROUPS[0].lower()}{_PM_GROUPS[1:]} should remain indoors and keep activity levels low.",
)
_O3_GROUPS = "People with lung disease, such as asthma, children, older adults, and outdoor workers"
_CO_GROUPS = "People with heart disease, such as angina,"
_GAS_GROUPS = "People with asthma, children and older adults"
# Cautionary statements by pollutant, in category order.
CAUTIONARY_STATEMENTS: dict[str, tuple[str, ...]] = {
    "pm25": _PM_STATEMENTS,
    "pm10": _PM_STATEMENTS,
    "o3": (
        "None.",
        "Unusually sensitive people should consider reducing prolonged or heavy outdoor exertion.",
        f"{_O3_GROUPS} should reduce prolonged or heavy outdoor exertion.",
        f"{_O3_GROUPS} should avoid prolonged or heavy outdoor exertion; everyone else should reduce prolonged or "
        "heavy outdoor exertion.",
        f"{_O3_GROUPS} should avoid all physical activity outdoors; everyone else should avoid prolonged or heavy "
        "outdoor exertion.",
        "Everyone should avoid all physical activity outdoors.",
    ),
    "co": (
        "None.",
        "None.",
        f"{_CO_GROUPS} should reduce heavy exertion and avoid sources of CO, such as heavy traffic.",
        f"{_CO_GROUPS} should reduce moderate exertion and avoid sources of CO, such as heavy traffic.",
        f"{_CO_GROUPS} should avoid exertion and sources of CO, such as heavy traffic.",
        f"{_CO_GROUPS} should avoid exertion and sources of CO, such as heavy traffic; everyone else should reduce "
        "heavy exertion.",
    ),
    "so2": (
        "None.",
        "None.",
        "People with asthma should consider limiting outdoor exertion.",
        "Children, people with asthma, or other lung diseases, should limit outdoor exertion.",
        "Children, people with asthma, or other lung diseases, should avoid outdoor exertion; everyone else should "
        "reduce outdoor exertion.",
        "Children, people with asthma, or other lung diseases, should remain indoors; everyone else should avoid "
        "outdoor exertion.",
    ),
    "no2": (
        "None.",
        "Unusually sensitive individuals should consider limiting prolonged exertion especially near busy roads.",
        f"{_GAS_GROUPS} should limit prolonged exertion especially near busy roads.",
        f"{_GAS_GROUPS} should avoid prolonged exertion near roadways; everyone else should limit prolonged "
        "exertion especially near busy roads.",
        f"{_GAS_GROUPS} should avoid all outdoor exertion; everyone else should avoid prolonged exertion "
        "especially near busy roads.",
        f"{_GAS_GROUPS} should remain indoors; everyone else should avoid all outdoor exertion.",
    ),
}

def assess(code: str, value: Decimal, on: date | None = None) -> SubIndex:
    """Sub-index of a concentration in the table's unit (see SCALES[code].unit); PM2.5 by the table in force `on`."""
    table = pm25_scale(on, code) if code.startswith("pm25") else SCALES[code]
    index, note = table.evaluate(table.steps(value))
    return SubIndex(index, position(CATEGORIES, index), note)


def ozone_index_array(steps_8h: np.ndarray, steps_1h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ozone sub-index from truncated ppm steps: (index, undefined) where undefined marks 8-h ≥ 0.201 ppm alone.

    The 8-h value is required; the 1-h value counts only from 0.125 ppm, and then the higher index wins.
    """
    index_8h, index_1h = SCALES["o3_8h"].index_array(steps_8h), SCALES["o3_1h"].index_array(steps_1h)
    has_8h = ~np.isnan(steps_8h)
    index = np.where(has_8h, np.fmax(index_8h, index_1h), np.nan)
    return index, has_8h & np.isnan(index)


def so2_index_array(steps_1h: np.ndarray, steps_24h: np.ndarray) -> np.ndarray:
    """SO2 sub-index from truncated ppb: the 1-h table up to 200, the 24-h average from 305 ppb (201+)."""
    # The 1-h table holds 200 from 305 ppb up; the 24-h table has an index only from 305 ppb, so the
    # higher of the two is the rule: 1-h ≥ 305 with 24-h < 305 gives exactly 200.
    return np.fmax(SCALES["so2_1h"].index_array(steps_1h), SCALES["so2_24h"].index_array(steps_24h))


DAILY_O3_FIRST_START, DAILY_O3_LAST_START = 7, 23  # 40 CFR 50 App. U: 17 windows beginning 07:00–23:00 local
O3_8H_MIN_HOURS = 6  # an 8-hour mean needs 6 of its 8 hours


def daily_max_8h_ozone(hourly: pd.Series, day: date, tz: str) -> float | None:
    """A day's 8-hour ozone: the highest mean of the 17 windows beginning 07:00–23:00 local time on `day`.

    `hourly` is indexed by aware hour-start times (any zone); a window counts with 6 of its 8 hours. None when
    no window does. The last windows reach 06:00 the next day.
    """
    zone = ZoneInfo(tz)
    times = pd.DatetimeIndex(hourly.index)
    best = None
    for hour in range(DAILY_O3_FIRST_START, DAILY_O3_LAST_START + 1):
        start = pd.Timestamp(datetime.combine(day, time(hour), tzinfo=zone))
        window = hourly[(times >= start) & (times < start + timedelta(hours=8))].dropna()
        if len(window) >= O3_8H_MIN_HOURS:
            best = float(window.mean()) if best is None else max(best, float(window.mean()))
    return best

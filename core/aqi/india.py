"""India National AQI (CPCB, 2014): sub-indices by the EPA-style linear equation, capped at 500."""
from __future__ import annotations

from decimal import Decimal

from core.aqi import Category, SubIndex
from core.aqi.categories import position
from core.aqi.scale import Scale, scale

CATEGORIES: tuple[Category, ...] = (
    Category("Good", "#00B050", 0, 50, "Minimal impact."),
    Category("Satisfactory", "#92D051", 51, 100, "May cause minor breathing discomfort to sensitive people."),
    Category("Moderately polluted", "#FFFF00", 101, 200,
             "May cause breathing discomfort to people with lung disease such as asthma, and discomfort to people "
             "with heart disease, children and older adults."),
    Category("Poor", "#FF6500", 201, 300,
             "May cause breathing discomfort to people on prolonged exposure, and discomfort to people with heart "
             "disease."),
    Category("Very Poor", "#FF0000", 301, 400,
             "May cause respiratory illness to people on prolonged exposure; the effect may be more pronounced in "
             "people with lung and heart diseases."),
    Category("Severe", "#C00000", 401, 500,
             "May cause respiratory effects even on healthy people, and serious health impacts on people with lung "
             "or heart disease; the effects may be felt even during light physical activity."),
)

_BANDS = ((0, 50), (51, 100), (101, 200), (201, 300), (301, 400), (401, 500))


def _capped(code: str, unit: str, decimals: int, bounds: list[tuple[str, str]],
            bands: tuple[tuple[int, int], ...] = _BANDS, below_note: str | None = None) -> Scale:
    # CPCB prints no upper bound for Severe ("430+"); its calculator's bounds end the table, and above
    # them the index stays at 500.
    note = f"above {bounds[-1][1]} {'mg/m³' if unit == 'mg/m3' else 'µg/m³'} the index is capped at 500"
    return scale(code, unit, decimals, [(lo, hi, i_lo, i_hi) for (lo, hi), (i_lo, i_hi) in zip(bounds, bands)],
                 "cap", below_note=below_note, above_note=note)


_O3_BOUNDS = [("0", "50"), ("51", "100"), ("101", "168"), ("169", "208"), ("209", "748"), ("749", "1288")]

SCALES: dict[str, Scale] = {s.code: s for s in (
    _capped("pm10_24h", "ug/m3", 0, [("0", "50"), ("51", "100"), ("101", "250"), ("251", "350"), ("351", "430"),
                                     ("431", "510")]),
    _capped("pm25_24h", "ug/m3", 0, [("0", "30"), ("31", "60"), ("61", "90"), ("91", "120"), ("121", "250"),
                                     ("251", "380")]),
    _capped("no2_24h", "ug/m3", 0, [("0", "40"), ("41", "80"), ("81", "180"), ("181", "280"), ("281", "400"),
                                    ("401", "520")]),
    # The table's Very Poor and Severe ozone rows are 1-hour values; an 8-h mean above 208 µg/m³ continues
    # on them (our convention) rather than leaving ozone without an index above 300.
    _capped("o3_8h", "ug/m3", 0, _O3_BOUNDS),
    _capped("co_8h", "mg/m3", 1, [("0", "1.0"), ("1.1", "2.0"), ("2.1", "10"), ("10.1", "17"), ("17.1", "34"),
                                  ("34.1", "51")]),
    _capped("so2_24h", "ug/m3", 0, [("0", "40"), ("41", "80"), ("81", "380"), ("381", "800"), ("801", "1600"),
                                    ("1601", "2400")]),
    _capped("nh3_24h", "ug/m3", 0, [("0", "200"), ("201", "400"), ("401", "800"), ("801", "1200"), ("1201", "1800"),
                                    ("1801", "2400")]),
    _capped("pb_24h", "ug/m3", 1, [("0", "0.5"), ("0.6", "1.0"), ("1.1", "2.0"), ("2.1", "3.0"), ("3.1", "3.5"),
                                   ("3.6", "4.0")]),
)}
SCALES["o3_1h"] = _capped("o3_1h", "ug/m3", 0, _O3_BOUNDS[4:], _BANDS[4:],
                          below_note="the table's 1-hour ozone rows start at 209 µg/m³ (Very Poor); below that "
                                     "use the 8-hour mean (o3_8h)")

POLLUTANT_CODES: tuple[str, ...] = ("pm25_24h", "pm10_24h", "no2_24h", "so2_24h", "co_8h", "o3_8h", "o3_1h",
                                    "nh3_24h", "pb_24h")
MIN_SUB_INDICES = 3  # an AQI needs at least this many sub-indices, one of them PM2.5 or PM10
MIN_HOURS_24H = 16   # valid hours for a 24-h mean
MIN_HOURS_8H = 6     # valid hours of 8 for an 8-h mean (CO, O3)

def assess(code: str, value: Decimal) -> SubIndex:
    """Sub-index of a concentration in the table's unit, truncated to the table's step (1, or 0.1 for CO and Pb)."""
    index, note = SCALES[code].evaluate(SCALES[code].steps(value))
    return SubIndex(index, position(CATEGORIES, index), note)

"""The registry of standards: codes, one category rule for every layer, palettes, advice and chip contrast."""
import math

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from core.aqi import AQIError
from core.aqi.standards import (
    STANDARD_CODES,
    STANDARDS,
    StandardCode,
    advice,
    category,
    category_array,
    category_of,
    contrast,
    palette,
    standard,
    text_color,
)


def test_the_three_standards_and_their_names():
    assert STANDARD_CODES == ("us_epa", "india_naqi", "eea")
    assert [STANDARDS[c].name for c in STANDARD_CODES] == ["US EPA", "India NAQI", "European EAQI"]
    with pytest.raises(AQIError, match="unknown standard 'uk_daqi'; use one of: us_epa, india_naqi, eea"):
        standard("uk_daqi")


def test_pydantic_literal_accepts_exactly_the_registered_codes():
    class Query(BaseModel):
        standard: StandardCode

    assert Query(standard="eea").standard == "eea"
    with pytest.raises(ValidationError):
        Query(standard="uk_daqi")
    assert Query.model_json_schema()["properties"]["standard"]["enum"] == list(STANDARD_CODES)


@pytest.mark.parametrize("index, expected", [(0, 0), (50, 0), (50.4, 0), (50.5, 1), (100.49, 1), (100.5, 2),
                                             (300, 4), (300.5, 5), (612, 5), (float("nan"), -1), (None, -1)])
def test_us_category_rounds_the_index_half_up_then_looks_it_up(index, expected):
    assert category_of("us_epa", index) == expected


def test_india_and_eea_use_the_same_rule():
    assert category_of("india_naqi", 200.4) == 2 and category_of("india_naqi", 200.5) == 3
    assert [category_of("eea", level) for level in range(1, 7)] == [0, 1, 2, 3, 4, 5]


def test_array_lookup_equals_the_scalar_one():
    values = np.array([0.0, 49.5, 50.5, 150.5, np.nan, 1000.0])
    assert category_array("us_epa", values).tolist() == [category_of("us_epa", v) for v in values]


def test_category_positions_and_no_index():
    assert category("us_epa", 5).name == "Hazardous" and category("us_epa", -1).name == "No index"
    with pytest.raises(AQIError, match="categories 0–5"):
        category("eea", 6)


def test_cvd_palette_only_where_defined():
    assert palette("us_epa", "cvd")[0] == "#9EFF91"
    with pytest.raises(AQIError, match="palette 'cvd' is not defined for india_naqi"):
        palette("india_naqi", "cvd")


def test_us_sensitive_groups_only_above_100_with_the_category_statement():
    moderate, usg = advice("us_epa", "pm25", 1), advice("us_epa", "pm25", 2)
    assert moderate["sensitive_groups"] is None and moderate["cautionary_statement"].startswith("Unusually sensitive")
    assert "lower socioeconomic status" in usg["sensitive_groups"]
    assert advice("us_epa", "o3", -1) == {"health_message": "", "sensitive_groups": None, "cautionary_statement": None}
    assert advice("eea", "pm25", 0)["sensitive_groups"] and advice("india_naqi", "pm25", 0)["sensitive_groups"] is None


def test_chip_text_meets_wcag_aa_on_every_palette_colour():
    assert text_color("#FFFF00") == "#000000" and text_color("#7E0023") == "#FFFFFF"
    for s in STANDARDS.values():
        for colors in s.palettes.values():
            for color in colors:
                assert contrast(text_color(color), color) >= 4.5, color


def test_contrast_ratio_extremes():
    assert math.isclose(contrast("#000000", "#FFFFFF"), 21.0) and contrast("#777777", "#777777") == 1.0

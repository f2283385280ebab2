"""The AQI calculator page in a real browser: both directions and input errors."""
from __future__ import annotations

from selenium.webdriver.common.keys import Keys


def open_calculator(dash_duo, app, choose) -> None:
    dash_duo.start_server(app)
    dash_duo.wait_for_element("#map-as-of")
    dash_duo.find_element(".navbar a.nav-link[href='/calculator']").click()
    dash_duo.wait_for_element("#calc-concentration")
    # Go through another standard so that the choice really changes the pollutant list.
    choose("calc-standard", "European EAQI")
    dash_duo.wait_for_text_to_equal("#calc-pollutant .dash-dropdown-value", "pm25_1h")
    choose("calc-standard", "US EPA")
    choose("calc-pollutant", "pm25_24h")


def enter(dash_duo, input_id: str, text: str) -> None:
    """Type into a debounced input; Enter commits the value."""
    field = dash_duo.find_element(f"#{input_id}")
    dash_duo.clear_input(field)
    field.send_keys(text + Keys.ENTER)


def present(dash_duo, selector: str) -> bool:
    """Whether the page has `selector` now (find_elements would wait out the implicit wait)."""
    return dash_duo.driver.execute_script("return !!document.querySelector(arguments[0])", selector)


def test_concentration_and_index_convert_both_ways(dash_duo, app, choose, shot):
    open_calculator(dash_duo, app, choose)
    assert dash_duo.find_element(".navbar .nav-link.active").text == "AQI calculator"

    enter(dash_duo, "calc-concentration", "35.5")
    dash_duo.wait_for_text_to_equal("#calc-aqi-value", "101")
    result = dash_duo.find_element("#calc-result").text
    assert "Unhealthy for Sensitive Groups" in result and "35.5 µg/m³" in result
    shot("calc_concentration_to_index")

    # The range is the concentrations whose rounded index is exactly 101, not the whole 101–150 category.
    enter(dash_duo, "calc-aqi", "101")
    dash_duo.wait_for_text_to_equal("#calc-range-text", "35.5 to 35.7 µg/m³")
    assert "Unhealthy for Sensitive Groups" in dash_duo.find_element("#calc-range").text
    shot("calc_index_to_range")


def test_negative_concentration_shows_an_error(dash_duo, app, choose, shot):
    open_calculator(dash_duo, app, choose)
    enter(dash_duo, "calc-concentration", "-3")
    dash_duo.wait_for_element("#calc-error")
    error = dash_duo.find_element("#calc-error")
    assert error.is_displayed()
    assert "negative" in error.text and "-3" in error.text
    assert not present(dash_duo, "#calc-aqi-value")
    shot("calc_negative_error")

    # A valid value replaces the error: 9.0 µg/m³ is the top of "Good" (2024 breakpoints).
    enter(dash_duo, "calc-concentration", "9.0")
    dash_duo.wait_for_text_to_equal("#calc-aqi-value", "50")
    assert not present(dash_duo, "#calc-error")


def test_index_badge_is_wide_enough_for_its_number(dash_duo, app, choose):
    open_calculator(dash_duo, app, choose)
    enter(dash_duo, "calc-concentration", "35.5")
    dash_duo.wait_for_text_to_equal("#calc-aqi-value", "101")
    overflow = dash_duo.driver.execute_script(
        "const b = document.querySelector('#calc-aqi-value'); return b.scrollWidth - b.clientWidth")
    assert overflow <= 0, f"the number is {overflow}px wider than its badge"

"""Browser fixtures: headless Chromium with WebGL (SwiftShader) for the dash_duo tests."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from dash.testing.wait import until
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.keys import Keys

CHROMIUM = "/usr/bin/chromium"
os.environ.setdefault("DASH_TEST_CHROMEPATH", CHROMIUM)


def pytest_setup_options():
    """Chromium options for dash_duo: map traces are WebGL, which headless Chromium has only via SwiftShader."""
    options = Options()
    options.binary_location = os.environ["DASH_TEST_CHROMEPATH"]
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--window-size=1400,1000"):
        options.add_argument(flag)
    return options


@pytest.fixture(scope="session", autouse=True)
def _browser_tools():
    if not shutil.which("chromedriver") or not Path(os.environ["DASH_TEST_CHROMEPATH"]).exists():
        pytest.skip("chromium and chromedriver are needed for the browser tests")


@pytest.fixture()
def shot(dash_duo, tmp_path):
    """Save the page as <the test's tmp_path>/<name>.png."""
    def save(name: str) -> Path:
        path = tmp_path / f"{name}.png"
        dash_duo.driver.save_screenshot(str(path))
        return path
    return save


@pytest.fixture()
def choose(dash_duo):
    """Pick an option of a Dash 4 dcc.Dropdown by its label.

    Dash 4's Dropdown is a <button id=...> that opens a Radix popover (rendered in a portal, not inside the
    button) holding a search box and <label role="option"> rows.
    """
    def pick(dropdown_id: str, label: str) -> None:
        dash_duo.find_element(f"#{dropdown_id}").click()
        dash_duo.wait_for_element(".dash-dropdown-content [role=option]")
        options = dash_duo.find_elements(".dash-dropdown-content [role=option]")
        matches = [o for o in options if o.text == label]
        assert matches, f"{label!r} is not among {[o.text for o in options]}"
        if matches[0].get_attribute("aria-selected") == "true":
            # Picking the current value leaves the popover open.
            dash_duo.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        else:
            matches[0].click()
        until(lambda: dash_duo.driver.execute_script("return !document.querySelector('.dash-dropdown-content')"),
              timeout=5)
        dash_duo.wait_for_text_to_equal(f"#{dropdown_id} .dash-dropdown-value", label)
    return pick


PASSWORD = "browser tests only"


@pytest.fixture(scope="session")
def browser_users(seeded_pg):
    """One user per role in the seeded database."""
    import uuid

    from core.users import create_user

    suffix = uuid.uuid4().hex[:6]
    names = {role: f"browser-{role}-{suffix}" for role in ("analyst", "operator", "admin")}
    for role, name in names.items():
        create_user(seeded_pg, name, role, PASSWORD)
    return names


def _login(dash_duo, name: str, path: str) -> None:
    dash_duo.driver.get(f"{dash_duo.server_url}/login?next={path}")
    dash_duo.wait_for_element("#name").send_keys(name)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    until(lambda: dash_duo.driver.current_url.endswith(path), timeout=10)


@pytest.fixture()
def operator_login(browser_users):
    """Sign in through the login form as an operator, then open `path` (call after dash_duo.start_server)."""
    return lambda dash_duo, path: _login(dash_duo, browser_users["operator"], path)


@pytest.fixture()
def admin_login(browser_users):
    return lambda dash_duo, path: _login(dash_duo, browser_users["admin"], path)


AXE_JS = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture()
def axe(dash_duo):
    """Run axe-core on the current page; return its serious and critical violations (id, impact, targets).

    axe.min.js comes from npm (`npm ci --prefix tests/integration/axe`) and is injected by the test, so the app
    never serves it.
    """
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci --prefix tests/integration/axe`")
    source = AXE_JS.read_text(encoding="utf-8")

    def run() -> list[dict]:
        dash_duo.driver.execute_script(source)
        dash_duo.driver.set_script_timeout(60)
        found = dash_duo.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => ("
            "{id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))),"
            " e => done([{id: 'axe-error', impact: 'critical', help: String(e), targets: []}]))")
        return [v for v in found if v["impact"] in ("serious", "critical")]
    return run

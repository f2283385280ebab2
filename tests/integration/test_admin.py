"""The admin page in a real browser: run a job, watch it finish, see it in the history; refused to others."""
from dash.testing.wait import until


def test_admin_runs_a_job_and_sees_it_in_the_history(dash_duo, app, admin_login, shot):
    dash_duo.start_server(app)
    admin_login(dash_duo, "/admin")
    dash_duo.wait_for_element('[id*="admin-run"][id*="db_settings"]', timeout=20).click()
    dash_duo.wait_for_contains_text("#admin-history-table", "Database settings check", timeout=30)
    until(lambda: "succeeded" in dash_duo.find_element("#admin-history-table").text, timeout=60)
    assert "restart needed for" in dash_duo.find_element("#admin-history-table").text
    shot("admin")


def test_admin_page_is_refused_to_an_operator(dash_duo, app, operator_login):
    dash_duo.start_server(app)
    operator_login(dash_duo, "/admin")
    dash_duo.wait_for_contains_text("#auth-required", "sign in as an admin", timeout=20)
    assert not dash_duo.find_elements('[id*="admin-run"]')


def test_the_navbar_signs_out_with_a_post(dash_duo, app, admin_login):
    dash_duo.start_server(app)
    admin_login(dash_duo, "/admin")
    dash_duo.wait_for_text_to_equal("#nav-auth", "Sign out (admin)", timeout=20)
    dash_duo.find_element("#nav-auth").click()
    until(lambda: dash_duo.driver.current_url.endswith("/login"), timeout=10)
    dash_duo.driver.get(f"{dash_duo.server_url}/admin")
    dash_duo.wait_for_contains_text("#auth-required", "sign in as an admin", timeout=20)

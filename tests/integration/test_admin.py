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


def test_admin_rolls_the_model_back_and_the_page_shows_the_previous_version_serving(dash_duo, app_with, admin_login,
                                                                                   tmp_path):
    from core.forecast import versions
    from core.forecast.demo import tiny_model

    first, second = "20260101000000", "20260102000000"
    for version in (first, second):
        tiny_model(tmp_path, version=version)
        versions.promote(tmp_path, version, "test", "trained for the rollback test")
    dash_duo.start_server(app_with(forecast_model_dir=str(tmp_path)))
    admin_login(dash_duo, "/admin")
    # The first look loads (and compiles) the model in the server: allow for a busy machine.
    dash_duo.wait_for_contains_text("#admin-model-status", f"Serving version {second}", timeout=120)
    dash_duo.wait_for_contains_text("#admin-model-versions-table", first, timeout=10)
    dash_duo.wait_for_element('[id*="admin-run"][id*="rollback_model"]', timeout=20).click()
    until(lambda: f"rolled back from {second} to {first}" in dash_duo.find_element("#admin-history-table").text,
          timeout=60)
    assert "browser-admin" in dash_duo.find_element("#admin-history-table").text  # who did it
    dash_duo.wait_for_contains_text("#admin-model-status", f"Serving version {first}", timeout=120)
    assert versions.promoted(tmp_path)["promoted_by"].startswith("browser-admin")

"""Sign-in and sessions replayed over real HTTP: redirects, cross-site requests, logout, timeouts, forced
password change, and the transport settings (HSTS, cookies, the secret key)."""
from __future__ import annotations

import os
import re
import stat
import threading
import uuid

import httpx
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from core.settings import SettingsError
from core.users import authenticate, create_user, disable_user, ensure_first_admin
from dashboard import create_app
from dashboard.cli import cli
from dashboard.security import secret_key
from tests.conftest import settings_for_tests

PASSWORD = "correct horse battery"
SECRET = "a-test-secret-key-of-at-least-32-bytes-0123456789"
EVIL = "https://evil.example"
NAVIGATION = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # a browser's


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD, target: str = "/") -> httpx.Response:
    """Post the sign-in form as a browser does: with the CSRF token of the form it was served."""
    form = client.get(f"/login?next={target}").text
    return client.post(f"/login?next={target}", data={"name": name, "password": password,
                                                      "csrf_token": form_token(form)})


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def navbar_token(client: httpx.Client) -> str:
    """The CSRF token of the navbar's sign-out form, as Dash's layout carries it."""
    def find(node) -> str | None:
        if isinstance(node, dict) and node.get("name") == "csrf_token":
            return node["value"]
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        return next((found for child in children if (found := find(child))), None)

    return find(client.get("/_dash-layout").json())


def signed_in(client: httpx.Client) -> bool:
    return client.get("/api/v1/jobs").status_code == 200


@pytest.fixture(scope="module")
def steady_admin(seeded_pg) -> str:
    """An admin whose sessions and password no test here changes."""
    name = f"sec-admin-{uuid.uuid4().hex[:6]}"
    create_user(seeded_pg, name, "admin", PASSWORD)
    return name


@pytest.fixture()
def admin(seeded_pg) -> str:
    """An admin of this test's own (tests end its sessions, change its password, disable it)."""
    name = f"sec-admin-{uuid.uuid4().hex[:6]}"
    create_user(seeded_pg, name, "admin", PASSWORD)
    return name


# -- open redirect ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/%5Cevil.example", "/\\evil.example",
                                    "https://evil.example/", "javascript:alert(1)", "/%0D%0A/evil.example",
                                    "evil.example"])
def test_sign_in_never_redirects_off_site(live_server, steady_admin, target):
    with httpx.Client(base_url=live_server()) as client:
        response = sign_in(client, steady_admin, target=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_sign_in_returns_to_a_path_on_this_site(live_server, steady_admin):
    with httpx.Client(base_url=live_server()) as client:
        response = sign_in(client, steady_admin, target="/performance")
    assert response.headers["Location"] == "/performance"


# -- cross-site requests ------------------------------------------------------------------------------------------

def test_a_cross_site_job_start_with_the_admin_cookie_is_refused(live_server, admin):
    with httpx.Client(base_url=live_server()) as client:
        sign_in(client, admin)
        before = client.get("/api/v1/jobs/runs").json()["meta"]["found"]
        for headers in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}, {}):
            refused = client.post("/api/v1/jobs/db_settings/start", headers=headers)
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "cross_site_refused"
        assert client.get("/api/v1/jobs/runs").json()["meta"]["found"] == before  # nothing started


def test_same_origin_requests_and_the_csrf_header_pass(live_server, admin):
    base = live_server()
    with httpx.Client(base_url=base) as client:
        sign_in(client, admin)
        # Cancelling a run that does not exist reaches the view (404) without changing anything.
        for headers in ({"Origin": base}, {"Sec-Fetch-Site": "same-origin"}, {"X-CSRFToken": navbar_token(client)}):
            assert client.post("/api/v1/jobs/runs/999999/cancel", headers=headers).status_code == 404
        assert client.post("/api/v1/jobs/runs/999999/cancel",
                           headers={"X-CSRFToken": "forged"}).status_code == 403


def test_a_cross_site_dash_callback_with_the_cookie_is_refused(live_server, admin):
    body = {"output": "admin-notice.children", "outputs": {"id": "admin-notice", "property": "children"},
            "inputs": [[{"id": {"type": "admin-run", "job": "indexes"}, "property": "n_clicks", "value": 1}], []],
            "state": [], "changedPropIds": ['{"job":"indexes","type":"admin-run"}.n_clicks']}
    with httpx.Client(base_url=live_server()) as client:
        sign_in(client, admin)
        refused = client.post("/_dash-update-component", json=body, headers={"Origin": EVIL})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "cross_site_refused"


def test_the_sign_in_form_needs_its_token(live_server, steady_admin):
    with httpx.Client(base_url=live_server()) as client:
        forged = client.post("/login", data={"name": steady_admin, "password": PASSWORD})
        assert forged.status_code == 400 and "did not come from this site" in forged.text
        assert not signed_in(client)


def test_logout_is_a_post_with_its_token(live_server, admin):
    with httpx.Client(base_url=live_server()) as client:
        sign_in(client, admin)
        client.get("/logout")  # what a link or an <img> on any page would do
        assert client.post("/logout").status_code == 400  # no token
        assert signed_in(client)
        assert "Sign out (admin)" in client.get("/_dash-layout").text  # the navbar's form
        response = client.post("/logout", data={"csrf_token": navbar_token(client)})
        assert response.status_code == 302 and response.headers["Location"].endswith("/login")
        assert not signed_in(client)


# -- sessions end -------------------------------------------------------------------------------------------------

def copy_of(client: httpx.Client, base: str) -> httpx.Client:
    """Another client holding a copy of `client`'s session cookie (as someone who copied it would)."""
    return httpx.Client(base_url=base, cookies={"session": client.cookies["session"]})


def test_a_copied_cookie_stops_working_at_logout(live_server, admin):
    base = live_server()
    with httpx.Client(base_url=base) as client:
        sign_in(client, admin)
        with copy_of(client, base) as thief:
            assert signed_in(thief)
            client.post("/logout", data={"csrf_token": navbar_token(client)})
            assert not signed_in(thief)


def test_a_password_change_or_disabling_ends_other_sessions(live_server, admin, seeded_pg):
    base = live_server()
    with httpx.Client(base_url=base) as client, httpx.Client(base_url=base) as other:
        sign_in(client, admin)
        sign_in(other, admin)
        form = client.get("/password").text
        changed = client.post("/password", data={"current": PASSWORD, "new": "another good password",
                                                 "confirm": "another good password", "csrf_token": form_token(form)})
        assert changed.status_code == 302
        assert signed_in(client) and not signed_in(other)  # the one that changed it goes on
        disable_user(seeded_pg, admin)
        assert not signed_in(client)


def test_users_logout_signs_a_user_out_everywhere(live_server, admin, pg_settings):
    with httpx.Client(base_url=live_server()) as client:
        sign_in(client, admin)
        result = CliRunner().invoke(cli, ["users", "logout", admin], obj=pg_settings)
        assert result.output == f"signed '{admin}' out everywhere\n"
        assert not signed_in(client)


def forged(cookie: str, **changes: int) -> str:
    """The session cookie re-signed with some of its fields moved (what a stolen cookie replayed later is)."""
    app = Flask("forge")
    app.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    data = serializer.loads(cookie)
    return serializer.dumps({**data, **{k: data[k] + v for k, v in changes.items()}})


@pytest.mark.parametrize("field, moved", [("seen_at", -31 * 60), ("signed_in_at", -3 * 3600)])
def test_idle_and_old_sessions_end(live_server, admin, field, moved):
    base = live_server(secret_key=SECRET, session_idle_timeout_min=30, session_absolute_timeout_h=2)
    with httpx.Client(base_url=base) as client:
        sign_in(client, admin)
        assert signed_in(client)
        fresh = forged(client.cookies["session"])
        with httpx.Client(base_url=base, cookies={"session": fresh}) as same:
            assert signed_in(same)  # re-signing alone changes nothing
        with httpx.Client(base_url=base, cookies={"session": forged(fresh, **{field: moved})}) as late:
            assert not signed_in(late)


# -- the first admin's password -----------------------------------------------------------------------------------

def test_a_given_password_must_be_changed_before_anything_else(live_server, seeded_pg):
    name = f"sec-first-{uuid.uuid4().hex[:6]}"
    given = create_user(seeded_pg, name, "admin", must_change_password=True)
    with httpx.Client(base_url=live_server()) as client:
        response = sign_in(client, name, given, target="/admin")
        assert response.status_code == 302 and response.headers["Location"] == "/password?next=/admin"
        held = client.get("/admin", headers=NAVIGATION)
        assert held.status_code == 302 and held.headers["Location"].startswith("/password")
        assert client.get("/api/v1/jobs").json()["error"]["code"] == "password_change_required"
        assert client.get("/assets/00-bootstrap.min.css", headers={"Accept": "text/css,*/*;q=0.1"}).status_code == 200
        assert httpx.get(f"{live_server()}/api/v1/jobs", auth=(name, given)).status_code == 403  # Basic too
        page = client.get("/password?next=/admin").text
        assert "choose your own" in page

        def change(current: str, new: str, confirm: str) -> httpx.Response:
            return client.post("/password?next=/admin", data={"current": current, "new": new, "confirm": confirm,
                                                               "csrf_token": form_token(page)})

        assert change("wrong one!", "my own password", "my own password").status_code == 401
        assert change(given, "my own password", "my own passw0rd").status_code == 400
        assert change(given, "short", "short").status_code == 400
        done = change(given, "my own password", "my own password")
        assert done.status_code == 302 and done.headers["Location"] == "/admin"
        assert client.get("/admin", headers=NAVIGATION).status_code == 200 and signed_in(client)
    assert authenticate(seeded_pg, name, "my own password")["must_change_password"] is False


def test_the_first_admin_password_can_come_from_an_owner_only_file(sqlite_engine, tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("from-a-secret-store\n")
    secret.chmod(0o644)
    with pytest.raises(ValueError, match="first_admin_password_file: .* mode 0600"):
        ensure_first_admin(sqlite_engine, str(secret))
    secret.chmod(0o600)
    assert ensure_first_admin(sqlite_engine, str(secret)) == ("admin", None)  # nothing to print
    assert authenticate(sqlite_engine, "admin", "from-a-secret-store")["must_change_password"] is False


# -- transport ----------------------------------------------------------------------------------------------------

def test_production_over_https_sends_hsts_and_host_only_secure_cookies(live_server):
    base = live_server(environment="production", secret_key=SECRET, trusted_proxies=1)
    https = httpx.get(f"{base}/login", headers={"X-Forwarded-Proto": "https"})
    assert https.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    cookie = https.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "Strict-Transport-Security" not in httpx.get(f"{base}/login").headers  # plain HTTP: meaningless


def test_forwarded_headers_are_ignored_without_trusted_proxies(live_server):
    base = live_server(environment="production", secret_key=SECRET)
    spoofed = httpx.get(f"{base}/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers


def test_production_refuses_a_short_secret_key(pg_settings):
    with pytest.raises(SettingsError, match="secret_key: must be at least 32 bytes"):
        create_app(settings_for_tests(database_url=pg_settings.database_url, environment="production",
                                      secret_key="too-short"))


def test_workers_starting_together_share_one_owner_only_key(tmp_path):
    path, keys = tmp_path / "var" / "secret_key", []
    settings = settings_for_tests()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        keys.append(secret_key(settings, path))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary file left behind

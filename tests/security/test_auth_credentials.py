"""Credentials replayed over real HTTP: password guessing (limits, proxies, timing), HTTP Basic only under /api/,
and API tokens (scoped, hashed at rest, revocable, shown once)."""
from __future__ import annotations

import hashlib
import statistics
import time
import uuid

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from core.users import create_user, disable_user
from dashboard.cli import cli
from tests.security.test_auth_sessions import PASSWORD, sign_in


@pytest.fixture(scope="module")
def accounts(seeded_pg) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:6]
    names = {role: f"cred-{role}-{suffix}" for role in ("analyst", "admin", "other")}
    for role, name in names.items():
        create_user(seeded_pg, name, "analyst" if role == "other" else role, PASSWORD)
    return names


def fresh_name() -> str:
    """An account name of its own, so no other test's failures count against it."""
    return f"cred-{uuid.uuid4().hex[:8]}"


# -- guessing -----------------------------------------------------------------------------------------------------

def test_http_basic_is_ignored_outside_the_api(live_server, accounts):
    """On Dash's endpoints a guess was unlimited and the navbar told whether it worked."""
    layout = httpx.get(f"{live_server()}/_dash-layout", auth=(accounts["admin"], PASSWORD)).text
    assert "Sign in" in layout and "Sign out" not in layout


def test_a_forged_forwarded_for_does_not_reset_the_limit(live_server):
    """Without a trusted proxy the address is the socket's: X-Forwarded-For picks nothing."""
    with httpx.Client(base_url=live_server(login_rate_limit="3/minute")) as client:
        codes = []
        for i in range(4):
            client.headers["X-Forwarded-For"] = f"198.51.100.{i}"
            codes.append(sign_in(client, fresh_name(), "wrong password").status_code)
    assert codes == [401, 401, 401, 429]


def test_failed_sign_ins_are_limited_per_account_from_any_address(live_server, seeded_pg):
    name = fresh_name()
    create_user(seeded_pg, name, "analyst", PASSWORD)
    with httpx.Client(base_url=live_server(login_rate_limit="3/minute", trusted_proxies=1)) as client:
        codes = []
        for i in range(4):
            client.headers["X-Forwarded-For"] = f"198.51.100.{i}"  # believed: a new client address each time
            codes.append(sign_in(client, name, "wrong password").status_code)
        assert codes == [401, 401, 401, 429]
        client.headers["X-Forwarded-For"] = "198.51.100.99"
        locked = sign_in(client, name)  # the right password too, until the window passes
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    assert "Too many failed sign-ins" in locked.text


def test_http_basic_guesses_count_in_the_same_limit(live_server, seeded_pg):
    name = fresh_name()
    create_user(seeded_pg, name, "analyst", PASSWORD)
    base = live_server(login_rate_limit="3/minute", trusted_proxies=1)
    forwarded = {"X-Forwarded-For": "192.0.2.77"}  # an address of this test's own, behind the trusted proxy
    codes = [httpx.get(f"{base}/api/v1/cities", auth=(name, "wrong password"), headers=forwarded).status_code
             for _ in range(3)]
    with httpx.Client(base_url=base, headers=forwarded) as client:
        codes.append(sign_in(client, name).status_code)  # the form is the same limit
    assert codes == [401, 401, 401, 429]
    refused = httpx.get(f"{base}/api/v1/cities", auth=(name, PASSWORD), headers={"X-Forwarded-For": "192.0.2.78"})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"


def test_a_trusted_proxy_hop_names_the_client(live_server):
    base = live_server(login_rate_limit="3/minute", trusted_proxies=1)
    codes = [httpx.post(f"{base}/api/v1/jobs/runs/1/cancel", auth=(fresh_name(), "wrong password"),
                        headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(5)]
    assert codes == [401] * 5  # five clients behind the proxy, one failure each


def test_unknown_names_cost_what_known_ones_do(live_server, accounts):
    """Timing must not tell which user names exist (a password hash is checked either way)."""
    base = live_server()

    def median_s(name: str) -> float:
        durations = []
        for _ in range(5):
            started = time.perf_counter()
            assert httpx.get(f"{base}/api/v1/cities", auth=(name, "wrong password")).status_code == 401
            durations.append(time.perf_counter() - started)
        return statistics.median(durations)

    known, unknown = median_s(accounts["other"]), median_s(fresh_name())
    assert 0.5 < unknown / known < 2, (known, unknown)  # it was about 3 ms against 100 ms


# -- API tokens ---------------------------------------------------------------------------------------------------

@pytest.fixture()
def invoke(pg_settings):
    return lambda *args: CliRunner().invoke(cli, list(args), obj=pg_settings)


def created_token(invoke, *args: str) -> tuple[int, str]:
    result = invoke("users", "token", "create", *args)
    assert result.exit_code == 0, result.output
    header, token = result.output.strip().splitlines()
    return int(header.split()[1]), token


def test_a_scoped_token_is_the_api_credential(live_server, accounts, invoke):
    base = live_server()
    _id, reader = created_token(invoke, accounts["admin"], "--label", "dashboard wall")
    _id, operator = created_token(invoke, accounts["admin"], "--scope", "read", "--scope", "jobs")

    def call(method: str, path: str, token: str) -> httpx.Response:
        return httpx.request(method, f"{base}/api/v1{path}", headers={"Authorization": f"Bearer {token}"})

    assert call("GET", "/jobs", reader).status_code == 200  # the admin's role, within the scope
    refused = call("POST", "/jobs/runs/999999/cancel", reader)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
    assert call("POST", "/jobs/runs/999999/cancel", operator).status_code == 404  # reached the view
    assert call("GET", "/jobs", "aqi_" + "x" * 43).status_code == 401
    layout = httpx.get(f"{base}/_dash-layout", headers={"Authorization": f"Bearer {reader}"}).text
    assert "Sign out" not in layout  # only under /api/


def test_tokens_are_stored_hashed_listed_without_value_and_revocable(live_server, accounts, invoke, seeded_pg):
    base = live_server()
    token_id, token = created_token(invoke, accounts["analyst"], "--label", "nightly export")
    with seeded_pg.connect() as conn:
        stored = conn.execute(text("SELECT digest FROM api_tokens WHERE id = :id"), {"id": token_id}).scalar()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    listed = invoke("users", "token", "list", accounts["analyst"]).output
    assert "nightly export" in listed and "active" in listed and token not in listed

    def status() -> int:
        return httpx.get(f"{base}/api/v1/cities", headers={"Authorization": f"Bearer {token}"}).status_code

    assert status() == 200
    assert invoke("users", "token", "revoke", str(token_id)).output == f"revoked token {token_id}\n"
    assert status() == 401 and "revoked" in invoke("users", "token", "list", accounts["analyst"]).output
    again = invoke("users", "token", "revoke", str(token_id))
    assert again.exit_code == 1 and f"no active token with id {token_id}" in again.output


def test_a_disabled_users_tokens_stop_working(live_server, seeded_pg, invoke):
    name = fresh_name()
    create_user(seeded_pg, name, "operator", PASSWORD)
    _id, token = created_token(invoke, name)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live_server()}/api/v1/metrics", headers=headers).status_code == 200
    disable_user(seeded_pg, name)
    assert httpx.get(f"{live_server()}/api/v1/metrics", headers=headers).status_code == 401


@pytest.mark.parametrize("args, message", [
    (("nobody-at-all",), "error: no active user named 'nobody-at-all'"),
    (("x", "--scope", "write"), "Invalid value for '--scope'"),
])
def test_token_creation_refuses_bad_input(invoke, args, message):
    result = invoke("users", "token", "create", *args)
    assert result.exit_code in (1, 2) and message in result.output

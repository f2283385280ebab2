"""The rate limiters count in Redis, single or cluster: failed sign-ins lock an account on both."""
from __future__ import annotations

import uuid

from core.users import create_user
from tests.api.test_auth_and_jobs import sign_in


def test_failed_sign_ins_are_counted_in_redis_and_lock_the_account(app_with, seeded_pg, shared_redis):
    name = f"limited-{uuid.uuid4().hex[:6]}"
    create_user(seeded_pg, name, "analyst", "correct horse battery")
    app = app_with(login_rate_limit="2/minute", **shared_redis)
    client = app.server.test_client()
    codes = [sign_in(client, name, "wrong password").status_code for _ in range(3)]
    assert codes == [401, 401, 429]  # a limiter whose store failed would let every guess through


def test_the_api_limit_is_counted_in_redis(app_with, shared_redis):
    app = app_with(api_rate_limit="3/minute", **shared_redis)
    client = app.server.test_client()
    codes = [client.get("/api/v1/cities").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]

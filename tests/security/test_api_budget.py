"""The API's per-address budget counted by workers that share Redis: one budget, synchronised in batches."""
from __future__ import annotations

import uuid

import pytest
from limits.storage import storage_from_string

from core.settings import SettingsError
from dashboard.security import AddressBudget
from tests.conftest import TEST_REDIS_URL


def address() -> str:
    return "10." + ".".join(str(b) for b in uuid.uuid4().bytes[:3])  # Redis outlives the run: a fresh budget


def admitted(budget: AddressBudget, client: str) -> bool:
    return budget.hit(client)[0]


def test_two_workers_sharing_redis_hold_one_budget():
    # Interval long enough that only the first request and explicit syncs reach Redis.
    one, two = (AddressBudget("4/minute", storage_from_string(TEST_REDIS_URL), sync_every_s=600) for _ in range(2))
    client = address()
    assert admitted(one, client) and admitted(one, client)
    one.sync()
    assert admitted(two, client)  # its first request reads both of one's
    assert two.hit(client)[:2] == (True, 0)
    assert not admitted(two, client)
    two.sync()
    one.hit(client)  # counted in one until its next sync: the overshoot is bounded by one interval's requests
    one.sync()
    assert not admitted(one, client)  # one has read two's requests back


def test_a_worker_counts_alone_while_redis_is_unreachable():
    budget = AddressBudget("3/minute", storage_from_string("redis://127.0.0.1:1/0"), sync_every_s=0)
    client = address()
    assert [admitted(budget, client) for _ in range(4)] == [True, True, True, False]


def test_each_window_starts_a_new_budget(monkeypatch):
    budget = AddressBudget("2/minute", storage_from_string("memory://"), sync_every_s=0.5)
    client, now = address(), [1_000_020.0]
    monkeypatch.setattr("dashboard.security.time.time", lambda: now[0])
    assert [admitted(budget, client) for _ in range(3)] == [True, True, False]
    assert budget.hit(client)[2] == 1_000_080  # the window ends on the minute
    now[0] += 60
    assert admitted(budget, client)


def test_a_budget_of_several_limits_is_refused_not_cut_to_its_first():
    with pytest.raises(SettingsError, match="api_rate_limit"):
        AddressBudget("100/minute;5/second", storage_from_string("memory://"), sync_every_s=0.5)

"""API test fixtures: the shared app's rate limiter, reset before each test so counts never leak between tests."""
from __future__ import annotations

import pytest


@pytest.fixture()
def limiter(app):
    return app.server.extensions["api_limiter"]


@pytest.fixture(autouse=True)
def _fresh_rate_limit(limiter):
    limiter.reset()

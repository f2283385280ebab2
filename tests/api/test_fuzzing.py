"""Schemathesis against the live OpenAPI document, through the WSGI app: no 5xx, every response as documented."""
from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from dashboard import api


def _document_server() -> Flask:
    # The document needs no database, so it can be loaded at collection time (schemathesis' fixture-based loader
    # does not work with pytest 9); the requests themselves go to the seeded app.
    server = Flask(__name__)
    api.init_app(server)
    return server


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _document_server())
SENT: Counter[str] = Counter()


@pytest.fixture()
def unlimited(limiter):
    limiter.enabled = False  # hundreds of requests from one address: the rate limit has its own tests
    yield
    limiter.enabled = True


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_as_documented(case, app, unlimited):
    SENT[case.operation.label] += 1
    case.call_and_validate(app=app.server)


def test_the_fuzzer_sent_hundreds_of_requests_to_every_operation():
    if not SENT:
        pytest.skip("run together with the fuzzing test")
    print(dict(SENT))
    assert set(SENT) == {f"GET {path}" for path in schema.raw_schema["paths"]}
    assert sum(SENT.values()) >= 300

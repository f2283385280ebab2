"""Schemathesis against the OpenAPI document, through the WSGI app: no 5xx, every response as documented."""
from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core import context
from core.forecast.demo import tiny_model
from dashboard import create_app
from dashboard.api import openapi
from tests.conftest import settings_for_tests

# The document needs no server or database: built from the route registry and the default settings' roles.
schema = schemathesis.openapi.from_dict(openapi.document(settings_for_tests()))


@pytest.fixture(scope="module")
def fuzz_app(seeded_pg, pg_settings, tmp_path_factory):
    """Its own app: a small trained model, so the forecast endpoint answers forecasts (its 503 without one has its
    own test), and a limit hundreds of requests from one address never reach (the limit has its own tests)."""
    directory = tmp_path_factory.mktemp("fuzz-models")
    tiny_model(directory, stations=24)
    ctx = context.build(settings_for_tests(database_url=pg_settings.database_url, forecast_model_dir=str(directory),
                                           api_rate_limit="100000/minute"), engine=seeded_pg)
    return create_app(ctx=ctx)


def test_api_answers_every_generated_request_to_every_operation_as_documented(fuzz_app):
    sent: Counter[str] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()

        # Derandomized: the same few hundred generated requests every run, so CI is never red by chance.
        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            sent[case.operation.label] += 1
            # Every default check but one: some rules span parameters (a standard's own pollutant codes, a 31-day
            # JSON range) and a schema-valid query can still be a 400. Compression has its own tests: ask for none.
            case.call_and_validate(app=fuzz_app.server, headers={"Accept-Encoding": "identity"},
                                   excluded_checks=[positive_data_acceptance])

        fuzz()
    assert set(sent) == {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items()
                         for method in item}
    assert sum(sent.values()) >= 300, sent

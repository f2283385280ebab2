"""Schemathesis against the live OpenAPI document, through the WSGI app: no 5xx, every response as documented."""
from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.settings import load_settings
from dashboard import api


def _document_server() -> Flask:
    # The document needs no database, so it can be loaded at collection time (schemathesis' fixture-based loader
    # does not work with pytest 9); the requests themselves go to the seeded app.
    server = Flask(__name__)
    server.config["AQI_SETTINGS"] = load_settings(environment="test")
    api.init_app(server)
    return server


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _document_server())
SENT: Counter[str] = Counter()


@pytest.fixture()
def unlimited(limiter):
    limiter.enabled = False  # hundreds of requests from one address: the rate limit has its own tests
    yield
    limiter.enabled = True


@pytest.fixture(scope="module")
def forecast_model(tmp_path_factory):
    """A small trained model, so the forecast endpoint answers forecasts (its 503 without one has its own test)."""
    import os

    from core import settings as settings_module
    from core.forecast import predictor
    from core.forecast.demo import tiny_model

    directory = tmp_path_factory.mktemp("fuzz-models")
    tiny_model(directory, stations=24)
    previous = os.environ.get("AQI_FORECAST_MODEL_DIR")
    os.environ["AQI_FORECAST_MODEL_DIR"] = str(directory)
    settings_module.get_settings.cache_clear()
    predictor.reset()
    yield directory
    os.environ["AQI_FORECAST_MODEL_DIR"] = previous or ""
    settings_module.get_settings.cache_clear()
    predictor.reset()


@schema.parametrize()
# Derandomized: the same few hundred generated requests every run, so CI is never red by chance.
@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_as_documented(case, app, unlimited, forecast_model):
    SENT[case.operation.label] += 1
    # Every default check but one: some rules span parameters (a standard's own pollutant codes, a 31-day JSON
    # range) and a schema-valid query can still be a 400. Compression has its own tests: ask for none here.
    case.call_and_validate(app=app.server, headers={"Accept-Encoding": "identity"},
                           excluded_checks=[positive_data_acceptance])


def test_the_fuzzer_sent_hundreds_of_requests_to_every_operation():
    if not SENT:
        pytest.skip("run together with the fuzzing test")
    # Schemathesis leaves out the operation serving the document itself.
    assert set(SENT) == {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items()
                         for method in item if path != schema.location}
    assert sum(SENT.values()) >= 300, SENT

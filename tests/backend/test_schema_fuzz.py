"""Schemathesis: requests generated from /api/openapi.json, valid and invalid, never get a 5xx,
and every response matches the documented schema.

Quick by default (part of `make test`); LONG_FUZZ=1 runs many more examples.
(Schemathesis' own pytest plugin does not support pytest 9 yet, so its Hypothesis strategies are
driven directly.)"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

EXAMPLES = 300 if os.environ.get("LONG_FUZZ") == "1" else 12


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(app, mode):
    checked = []
    for operation in operations(app):
        if mode is GenerationMode.NEGATIVE and not (len(operation.body) or len(operation.path_parameters)):
            continue  # nothing in the request to make invalid

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            # What is checked: no 5xx, and every response (status, headers, body) as documented.
            # Not checked: whether a 2xx or a 4xx was "right". Schema-valid bytes are rarely an
            # image (415/422 is correct), and an empty list for top_k is, in multipart, no field
            # at all (the default applies).
            case.validate_response(response, excluded_checks=[checks.positive_data_acceptance,
                                                              checks.negative_data_rejection])

        check()
        checked.append(operation.label)
    assert {"POST /api/predict", "POST /api/predict/batch"} <= set(checked)

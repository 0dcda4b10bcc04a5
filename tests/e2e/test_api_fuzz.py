"""The HTTP API fuzzed from its own OpenAPI 3.1 document (contracts/openapi.py) with schemathesis, against the
whole stack: every answer must be one the document describes (status, content type, headers, body schema)
and never a 5xx. Bounded: a few examples per operation, so the suite stays fast."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import ignored_auth

from contracts.openapi import openapi_document
from tests.support.stack import RunningStack

EXAMPLES_PER_OPERATION = 12
schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_answer_is_one_the_openapi_document_describes(case: schemathesis.Case, stack: RunningStack) -> None:
    # Function keys (auth level FUNCTION) are enforced on Azure, not by the devstack host unless it runs with
    # --enable-auth (docs/app.md "HTTP API"), so "accepts invalid authentication" is not checked here.
    case.call_and_validate(base_url=stack.base_url, excluded_checks=[ignored_auth])

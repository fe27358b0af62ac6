"""Schemathesis against the gateway's own OpenAPI document, on the distributed stack: generated
requests (valid and invalid) must never cause a 5xx, and every answer must match the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.e2e.conftest import API_KEY, StackFactory
from tests.support.stack import Stack

# Live feeds stream until the client leaves; a generated request would wait forever.
ENDLESS = r"/(agent/feed|sessions/\{session_id\}/events)$"
EXAMPLES = 12
# Invalid data may also be refused for its size: a generated list of 1000 ids can pass the
# 64 KiB body limit, and a 413 is a refusal like the others.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422"),
                    *("428", "429", "5xx"),
                ]
            }
        }
    }
)
# Not checked: "schema-valid requests are accepted". The API rightly refuses some of them with
# 422 (a whitespace-only message, an unsupported file type) for rules a schema cannot express.


@pytest.fixture(scope="module")
def conformance_stack(stack_factory: StackFactory) -> Stack:
    """A stack of its own: generated uploads and chats must not touch other tests' data."""
    return stack_factory(TURN_TIMEOUT_SECONDS="10")


def _check(operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode) -> None:
    # pytest 9 and schemathesis' pytest plugin disagree on node ids, so drive Hypothesis here.
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers={"X-API-Key": API_KEY}, timeout=30, excluded_checks=[positive_data_acceptance]
        )

    run()


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_the_api_matches_its_openapi_document(
    conformance_stack: Stack, mode: schemathesis.GenerationMode
) -> None:
    gateway = conformance_stack.of("gateway")[0].url
    schema = schemathesis.openapi.from_url(f"{gateway}/openapi.json", config=CONFIG).exclude(
        path_regex=ENDLESS
    )
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, "the document lists the API"
    for operation in operations:
        try:
            _check(operation, mode)
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)

"""Schemathesis against the real server's ``/openapi.json`` (battery C1, bounded for CI).

Every operation gets generated valid and invalid requests, with a Bearer token; the default
checks apply: no 5xx, status codes and response bodies and headers as documented, invalid data
rejected, auth not ignored, on SQLite and on PostgreSQL. 25 examples per operation keep each
run under two minutes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation

from tests.e2e.shared_servers import SharedServers
from tests.support.server import ApiSession, ServerProcess, create_application

EXAMPLES_PER_OPERATION = 25
# How the API refuses invalid data (schemathesis's default list, with 413 and without 5xx).
REJECTION_STATUSES = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "413",
    "415",
    "422",
    "428",
    "429",
]


# Both databases: PostgreSQL refuses text SQLite stores (a NUL), so a fuzz on SQLite alone
# missed 500s that only PostgreSQL gave (issue 15.3).
@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def fuzzed_server(request: pytest.FixtureRequest, shared_servers: SharedServers) -> ServerProcess:
    """The shared server of the set-up (conftest.py); the fuzz uses an application of its own."""
    return shared_servers.get(str(request.param))


@pytest.fixture(scope="module")
def bearer(fuzzed_server: ServerProcess) -> Iterator[str]:
    app_id, secret = create_application(fuzzed_server.env["FOTP_DATABASE_URL"], "fuzz")
    session = ApiSession(fuzzed_server.url, app_id, secret)
    yield str(session.http.headers["Authorization"])
    session.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: ServerProcess, bearer: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            # The token for the HTTPBearer scheme; schemathesis also tries requests without it.
            "auth": {"openapi": {"HTTPBearer": {"bearer": bearer.removeprefix("Bearer ")}}},
            # Unknown query parameters are ignored, as HTTP APIs do: not "invalid data".
            "generation": {"allow-extra-parameters": False},
            # Invalid data may also be refused as too large (413, FOTP_MAX_REQUEST_BYTES) when
            # the generator makes a string past the limit; 5xx stays a failure (not_a_server_error).
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTION_STATUSES}},
        }
    )
    return schemathesis.openapi.from_url(fuzzed_server.url + "/openapi.json", config=config)


def _fuzz(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    seen: Counter[tuple[str, int]],
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call_and_validate(
            timeout=30,
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
        )
        seen[(operation.label, response.status_code)] += 1

    run()


# schemathesis.pytest.from_fixture does not work with pytest 9 (it reads Function._nodeid), so
# the operations are walked here, each with its own Hypothesis run. positive_data_acceptance is
# left out: JSON Schema cannot say which numbers are real mobiles (a schema-valid "to" is
# refused with 422), nor that orders are unique; every other default check applies.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(
    api_schema: schemathesis.BaseSchema, mode: GenerationMode
) -> None:
    failures: list[str] = []
    seen: Counter[tuple[str, int]] = Counter()
    operations = 0
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations += 1
        try:
            _fuzz(operation, mode, seen)
        except Unsatisfiable:
            # Nothing invalid to send (an operation without parameters or body).
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
            failures.append(f"{operation.label}:\n{exc}")
    assert operations >= 10
    assert not failures, "\n\n".join(failures)
    if mode is GenerationMode.POSITIVE:
        # The token was used: authenticated operations answered, not only 401s.
        assert seen[("GET /otp/failover", 200)] > 0, seen
        assert seen[("POST /failover/tracking", 200)] > 0, seen

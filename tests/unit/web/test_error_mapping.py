"""The one mapping from the services' refusals to HTTP: status, headers, the documented body."""

from __future__ import annotations

import orjson
import pytest

from failover_otp.services.abuse import CountryNotAllowed, NumberTypeNotAllowed
from failover_otp.services.errors import (
    Conflict,
    Invalid,
    Malformed,
    NotFound,
    RateLimited,
    Refused,
    ServiceError,
    Unauthenticated,
    Unavailable,
)
from failover_otp.services.idempotency import IdempotencyInProgress, IdempotencyKeyReused
from failover_otp.web.error_handlers import service_error_response


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ServiceError("x"), 400, "bad_request"),
        (Malformed("x", code="malformed_callback"), 400, "malformed_callback"),
        (Unauthenticated("x"), 401, "unauthorized"),
        (NotFound("x"), 404, "not_found"),
        (Invalid("x"), 422, "validation_failed"),
        (Refused("x"), 422, "refused"),
        (NumberTypeNotAllowed("x"), 422, "number_type_not_allowed"),
        (CountryNotAllowed("x"), 422, "country_not_allowed"),
        (IdempotencyKeyReused("x"), 422, "idempotency_key_reused"),
        (Conflict("x", retry_after=3), 409, "conflict"),
        (IdempotencyInProgress("x"), 409, "idempotency_in_progress"),
        (RateLimited("x", retry_after=7), 429, "rate_limited"),
        (RateLimited("x", retry_after=7, code="spend_cap_reached"), 429, "spend_cap_reached"),
        (Unavailable("x", retry_after=1), 503, "service_unavailable"),
    ],
)
def test_each_kind_has_its_status_and_code(error: ServiceError, status: int, code: str) -> None:
    response = service_error_response(error)
    assert response.status_code == status
    assert orjson.loads(response.body) == {"code": code, "message": "x"}


def test_a_refusal_that_says_when_sends_retry_after() -> None:
    assert service_error_response(RateLimited("x", retry_after=7)).headers["Retry-After"] == "7"
    assert service_error_response(IdempotencyInProgress("x")).headers["Retry-After"] == "1"
    assert "Retry-After" not in service_error_response(Invalid("x")).headers


def test_unauthenticated_asks_for_a_bearer_token() -> None:
    response = service_error_response(Unauthenticated("x"))
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_details_are_the_body_detail() -> None:
    details = [{"loc": ["body", "flow"], "msg": "duplicate order", "type": "value_error"}]
    body = orjson.loads(service_error_response(Invalid("flow: x", details=details)).body)
    assert body == {"code": "validation_failed", "message": "flow: x", "detail": details}

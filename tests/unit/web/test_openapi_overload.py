"""The OpenAPI document says which operations may answer 503 under overload (issue 15.10)."""

from __future__ import annotations

from failover_otp.settings import Settings
from failover_otp.web.app import create_app


def test_operations_on_the_database_document_503_with_retry_after() -> None:
    document = create_app(Settings(database_url="sqlite:///unused.db")).openapi()
    paths = document["paths"]
    for path, method in [("/otp/send-failover", "post"), ("/failover/tracking", "post")]:
        answer = paths[path][method]["responses"]["503"]
        assert "service_unavailable" in answer["description"]
        assert "Retry-After" in answer["headers"]
        assert answer["content"]["application/json"]["examples"]
    assert "503" not in paths["/health/live"]["get"]["responses"]
    readiness = paths["/health/ready"]["get"]["responses"]["503"]
    assert "Retry-After" not in readiness.get("headers", {})

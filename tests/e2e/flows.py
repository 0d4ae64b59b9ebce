"""Polling helpers for end-to-end tests."""

from __future__ import annotations

import time
from typing import Any

from tests.support.server import ApiSession


def wait_until_ended(
    api: ApiSession,
    flow_id: str,
    timeout: float = 20.0,
    *,
    step_statuses: list[str] | None = None,
) -> dict[str, Any]:
    """The flow's story once it is no longer InProgress (refresh-on-read included) and, if
    given, its steps show ``step_statuses`` (reports such as SEEN may follow the flow's end)."""
    deadline = time.monotonic() + timeout
    while True:
        story: dict[str, Any] = api.get(f"/otp/failover/{flow_id}").json()
        steps_match = (
            step_statuses is None or [s["status"] for s in story["steps"]] == step_statuses
        )
        if story["status"] != "InProgress" and steps_match:
            return story
        if time.monotonic() > deadline:
            raise AssertionError(f"flow {flow_id} still InProgress: {story}")
        time.sleep(0.1)

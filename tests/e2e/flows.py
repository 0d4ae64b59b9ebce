"""Polling helpers for end-to-end tests."""

from __future__ import annotations

from typing import Any

from tests.support.server import ApiSession
from tests.support.waiting import wait_until


def wait_until_ended(
    api: ApiSession,
    flow_id: str,
    timeout: float = 30.0,
    *,
    step_statuses: list[str] | None = None,
) -> dict[str, Any]:
    """The flow's story once it is no longer InProgress (refresh-on-read included) and, if
    given, its steps show ``step_statuses`` (reports such as SEEN may follow the flow's end)."""

    def ended() -> dict[str, Any] | None:
        story: dict[str, Any] = api.get(f"/otp/failover/{flow_id}").json()
        steps_match = (
            step_statuses is None or [s["status"] for s in story["steps"]] == step_statuses
        )
        return story if story["status"] != "InProgress" and steps_match else None

    story = wait_until(ended, timeout, what=f"flow {flow_id} to end", interval=0.1)
    assert story is not None
    return story

"""The send endpoints' answers, from the flow as started: pure renderers."""

from __future__ import annotations

from typing import Any

from failover_otp.domain.records import FlowRecord
from failover_otp.domain.statuses import FlowStatus
from failover_otp.services.story import iso


def otp_send_answer(record: FlowRecord) -> dict[str, Any]:
    """``POST /otp/send-failover``'s answer: the flow as started, each step's echo with its
    ``trackingId`` once a provider accepted it; a flow no channel took has no ``flowId``."""
    flow = record.flow
    accepted = [s for s in flow.steps if s.sent_at is not None]
    echo = []
    for index, step in enumerate(record.meta.request):
        sent = flow.step_for(index)
        tracking = sent.tracking_id if sent is not None and sent.sent_at is not None else None
        echo.append({**step, "trackingId": tracking})
    failed = flow.status is FlowStatus.FAILED
    body: dict[str, Any] = {
        "flowId": None if failed else flow.id,
        "status": flow.status.value,
        "type": accepted[-1].channel.type_name if accepted else None,
        "flow": echo,
        "createdAt": iso(flow.created_at),
        "statusCode": int(flow.status_code) if flow.status_code is not None else None,
    }
    if failed:
        body["error"] = flow.error
    return body


def standard_send_answer(record: FlowRecord) -> dict[str, Any]:
    """``POST /failover``'s answer: the tracking id, the steps as asked, the callback."""
    meta = record.meta
    callback = (
        {"url": meta.callback_url, "strategy": meta.callback_strategy}
        if meta.callback_url
        else None
    )
    return {
        "trackingId": record.flow.id,
        "flow": meta.request,
        "callback": callback,
        "createdAt": iso(record.flow.created_at),
    }

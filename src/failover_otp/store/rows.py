"""Rows ↔ core objects, so SQL shapes stay out of the domain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from failover_otp.domain.adaptive_ttl import AutoTtl, TtlChoice
from failover_otp.domain.flow import (
    Deadline,
    DeadlineKind,
    Flow,
    FlowKind,
    Role,
    Step,
    StepPlan,
)
from failover_otp.domain.records import FlowMeta, FlowRecord
from failover_otp.domain.statuses import (
    Channel,
    FlowStatus,
    RejectReason,
    StatusCode,
    StepStatus,
)


def plans_to_json(plans: Sequence[StepPlan]) -> list[dict[str, Any]]:
    return [_plan_to_json(p) for p in plans]


def _plan_to_json(plan: StepPlan) -> dict[str, Any]:
    stored: dict[str, Any] = {
        "channel": plan.channel.value,
        "to": plan.to,
        "ttl_seconds": plan.ttl_seconds,
        "failover_on": sorted(s.value for s in plan.failover_on),
        "failover_on_delivered": plan.failover_on_delivered,
        "expire_on_delivery": plan.expire_on_delivery,
    }
    if plan.auto_ttl is not None:  # absent for fixed ttls: older rows read the same
        auto = plan.auto_ttl
        stored["auto_ttl"] = [auto.min_seconds, auto.max_seconds, auto.threshold]
    return stored


def plans_from_json(data: Sequence[Mapping[Any, Any]]) -> tuple[StepPlan, ...]:
    return tuple(
        StepPlan(
            channel=Channel(p["channel"]),
            to=p["to"],
            ttl_seconds=p["ttl_seconds"],
            failover_on=frozenset(StepStatus(s) for s in p["failover_on"]),
            failover_on_delivered=p["failover_on_delivered"],
            expire_on_delivery=p["expire_on_delivery"],
            auto_ttl=AutoTtl(*p["auto_ttl"]) if p.get("auto_ttl") else None,
        )
        for p in data
    )


def step_values(flow: Flow, step: Step, label: str | None) -> dict[str, Any]:
    return {
        "flow_id": flow.id,
        "idx": step.index,
        "application_id": flow.application_id,
        "tracking_id": step.tracking_id,
        "role": step.role.value,
        "channel": step.channel.value,
        "phone": step.to,
        "label": label,
        "status": step.status.value,
        "detailed_status": step.detailed_status,
        "created_at": step.created_at,
        "updated_at": step.updated_at,
        "sent_at": step.sent_at,
        "delivered_at": step.delivered_at,
        "expired_on_delivery_at": step.expired_on_delivery_at,
        "price": step.price,
        "parts": step.parts,
        "country": step.country,
        "operator": step.operator,
        "error_message": step.error_message,
        "reject_reason": step.reject_reason.value if step.reject_reason else None,
        "failover_from": step.failover_from,
        "send_attempts": step.send_attempts,
        "answered_by": step.answered_by,
        "call_seconds": step.call_seconds,
        "ttl_seconds": step.ttl_choice.seconds if step.ttl_choice else None,
        "ttl_reason": step.ttl_choice.reason if step.ttl_choice else None,
    }


def step_from_row(row: Mapping[Any, Any]) -> Step:
    return Step(
        index=row["idx"],
        tracking_id=row["tracking_id"],
        role=Role(row["role"]),
        channel=Channel(row["channel"]),
        to=row["phone"],
        status=StepStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        detailed_status=row["detailed_status"],
        sent_at=row["sent_at"],
        delivered_at=row["delivered_at"],
        expired_on_delivery_at=row["expired_on_delivery_at"],
        price=row["price"],
        parts=row["parts"],
        country=row["country"],
        operator=row["operator"],
        error_message=row["error_message"],
        reject_reason=RejectReason(row["reject_reason"]) if row["reject_reason"] else None,
        failover_from=row["failover_from"],
        send_attempts=row["send_attempts"],
        answered_by=row["answered_by"],
        call_seconds=row["call_seconds"],
        ttl_choice=TtlChoice(row["ttl_seconds"], row["ttl_reason"] or "")
        if row["ttl_seconds"] is not None
        else None,
    )


def flow_state_values(flow: Flow) -> dict[str, Any]:
    """The columns a decision may change."""
    last = flow.steps[-1] if flow.steps else None
    return {
        "status": flow.status.value,
        "status_code": int(flow.status_code) if flow.status_code is not None else None,
        "error": flow.error,
        "total_cost": flow.total_cost,
        "termination_channel": last.channel.type_name if last and flow.status.is_terminal else None,
        "updated_at": flow.updated_at,
        "cancelled": flow.cancelled,
    }


def flow_from_rows(
    row: Mapping[Any, Any],
    step_rows: Sequence[Mapping[Any, Any]],
    deadline: Mapping[Any, Any] | None,
) -> Flow:
    return Flow(
        id=row["id"],
        application_id=row["application_id"],
        kind=FlowKind(row["kind"]),
        plans=plans_from_json(row["plans"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=FlowStatus(row["status"]),
        status_code=StatusCode(row["status_code"]) if row["status_code"] is not None else None,
        error=row["error"],
        steps=tuple(step_from_row(s) for s in sorted(step_rows, key=lambda r: r["idx"])),
        deadline=Deadline(
            deadline["due_at"], DeadlineKind(deadline["kind"]), deadline["step_index"]
        )
        if deadline
        else None,
        version=row["version"],
        cancelled=bool(row["cancelled"]),
    )


def meta_from_row(row: Mapping[Any, Any]) -> FlowMeta:
    """What a flow was created with, from its ``flows`` row."""
    return FlowMeta(
        request=list(row["request"]),
        phone=row["phone"],
        label=row["label"],
        callback_url=row["callback_url"],
        callback_strategy=row["callback_strategy"],
    )


def records_in_order(
    ids: Sequence[str],
    flow_rows: Sequence[Mapping[Any, Any]],
    step_rows: Sequence[Mapping[Any, Any]],
) -> list[FlowRecord]:
    """The flows of ``ids``, in that order, from their rows and their steps' rows (the deadline
    left out: no listing shows it)."""
    by_flow: defaultdict[str, list[Mapping[Any, Any]]] = defaultdict(list)
    for row in step_rows:
        by_flow[row["flow_id"]].append(row)
    rows = {row["id"]: row for row in flow_rows}
    return [
        FlowRecord(flow_from_rows(rows[i], by_flow[i], None), meta_from_row(rows[i]))
        for i in ids
        if i in rows  # always: a listing reads its flows in one snapshot
    ]

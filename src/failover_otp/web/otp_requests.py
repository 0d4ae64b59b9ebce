"""Turn a validated ``POST /otp/send-failover`` body into the core's plans and the stored echo."""

from __future__ import annotations

from typing import Any

from failover_otp.domain.adaptive_ttl import AutoTtl
from failover_otp.domain.flow import StepPlan
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel
from failover_otp.errors import ValidationFailed
from failover_otp.phones import InvalidPhoneNumber, normalize
from failover_otp.store.ttl_policy_store import BUILT_IN_POLICY, TtlPolicy
from failover_otp.web.otp_schemas import SendFailoverRequest, SmsStep, ViberOtpStep


def destination(to: str | list[str], where: list[str | int]) -> str:
    numbers = [to] if isinstance(to, str) else to
    if len(numbers) != 1:
        raise ValidationFailed(
            f"{'.'.join(map(str, where))}: exactly one destination number per step",
            details=[{"loc": where, "msg": "exactly one destination", "type": "value_error"}],
        )
    try:
        return normalize(numbers[0])
    except InvalidPhoneNumber as exc:
        raise ValidationFailed(
            f"{'.'.join(map(str, where))}: {exc}",
            details=[{"loc": where, "msg": str(exc), "type": "phone_number"}],
        ) from None


def check_unique_orders(orders: list[int]) -> None:
    if len(set(orders)) != len(orders):
        raise ValidationFailed(
            "flow: every step needs a unique order",
            details=[{"loc": ["body", "flow"], "msg": "duplicate order", "type": "value_error"}],
        )


def asks_for_auto(request: SendFailoverRequest) -> bool:
    """Whether a step asks for (or may default to) an auto ttl: the application's policy is
    read only then."""
    return any(step.ttl is None or step.ttl == "auto" for step in request.flow)


def _ttl(
    step: SmsStep | ViberOtpStep, position: int, policy: TtlPolicy
) -> tuple[float, AutoTtl | None]:
    """The step's ttl in seconds (an auto step's upper bound) and its auto bounds, if any."""
    if isinstance(step.ttl, int):
        return float(step.ttl), None
    if step.ttl == "auto" or policy.is_default:
        return policy.bounds.max_seconds, policy.bounds
    where: list[str | int] = ["body", "flow", position, "ttl"]
    raise ValidationFailed(
        f"flow.{position}.ttl: Field required",
        details=[{"loc": where, "msg": "Field required", "type": "missing"}],
    )


def otp_plans(
    request: SendFailoverRequest, policy: TtlPolicy = BUILT_IN_POLICY
) -> tuple[tuple[StepPlan, ...], FlowMeta]:
    """``policy``: the application's auto ttl settings (or the service's defaults)."""
    check_unique_orders([s.order for s in request.flow])
    ordered = sorted(enumerate(request.flow), key=lambda pair: pair[1].order)
    plans: list[StepPlan] = []
    echo: list[dict[str, Any]] = []
    for position, step in ordered:
        to = destination(step.to, ["body", "flow", position, "to"])
        ttl, auto = _ttl(step, position, policy)
        if isinstance(step, ViberOtpStep):
            plan = StepPlan(
                channel=Channel.VIBER,
                to=to,
                ttl_seconds=ttl,
                failover_on=DEFAULT_FAILOVER_ON[Channel.VIBER],
                failover_on_delivered=step.failoverOnDelivered,
                auto_ttl=auto,
            )
        else:
            assert isinstance(step, SmsStep)
            plan = StepPlan(
                channel=Channel.SMS,
                to=to,
                ttl_seconds=ttl,
                failover_on=DEFAULT_FAILOVER_ON[Channel.SMS],
                auto_ttl=auto,
            )
        plans.append(plan)
        echo.append(step.model_dump(mode="json", by_alias=True, exclude_none=True))
    first = ordered[0][1]
    meta = FlowMeta(
        request=echo,
        phone=plans[0].to,
        label=first.label,
        callback_url=str(request.callback.url) if request.callback else None,
    )
    return tuple(plans), meta

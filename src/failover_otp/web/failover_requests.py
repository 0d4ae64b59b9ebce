"""Turn a validated ``POST /failover`` body into the core's plans and the stored echo."""

from __future__ import annotations

from typing import Any

from failover_otp.domain.flow import StepPlan
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel, StepStatus
from failover_otp.services.errors import Invalid, shown
from failover_otp.services.otp_requests import check_unique_orders, destination
from failover_otp.services.tracking import FAILOVER_STATUSES, ordered_statuses
from failover_otp.web.failover_schemas import (
    VOICE_CALL_WINDOW_SECONDS,
    FailoverSmsStep,
    FailoverViberStep,
    FailoverVoiceStep,
    SendStandardFailoverRequest,
)

_CHANNEL = {"Sms": Channel.SMS, "Viber": Channel.VIBER, "Voice": Channel.VOICE}


def failover_on(
    channel: Channel, given: list[str] | None, where: list[str | int]
) -> frozenset[StepStatus]:
    """The step's failover triggers: the documented default, or the given list in any casing."""
    if given is None:
        return DEFAULT_FAILOVER_ON[channel]
    allowed = FAILOVER_STATUSES[channel]
    wanted: set[StepStatus] = set()
    for position, text in enumerate(given):
        try:
            status = StepStatus.parse(text)
        except ValueError:
            status = None
        if status not in allowed:
            names = ", ".join(s.render(channel) for s in allowed)
            raise Invalid(
                f"{'.'.join(map(str, where))}.{position}: {shown(text)} is not a "
                f"{channel.type_name} failover status (one of {names})",
                details=[
                    {"loc": [*where, position], "msg": f"one of {names}", "type": "enum"},
                ],
            )
        assert status is not None
        wanted.add(status)
    return frozenset(wanted)


def _sms_plan(step: FailoverSmsStep, where: list[str | int]) -> tuple[StepPlan, dict[str, Any]]:
    triggers = failover_on(Channel.SMS, step.failoverOnStatuses, [*where, "failoverOnStatuses"])
    plan = StepPlan(
        channel=Channel.SMS,
        to=destination(step.to, [*where, "to"]),
        ttl_seconds=step.ttl * 60.0,
        failover_on=triggers,
    )
    echo = _echo(step, Channel.SMS, triggers)
    # The step's label is the message's label when only that one is given (providers and the
    # tracking read the step-level key).
    label = step.label or step.message.label
    if label is not None:
        echo["label"] = label
    return plan, echo


def _viber_plan(step: FailoverViberStep, where: list[str | int]) -> tuple[StepPlan, dict[str, Any]]:
    triggers = failover_on(Channel.VIBER, step.failoverOnStatuses, [*where, "failoverOnStatuses"])
    plan = StepPlan(
        channel=Channel.VIBER,
        to=destination(step.to, [*where, "to"]),
        ttl_seconds=step.ttl * 60.0,
        failover_on=triggers,
        expire_on_delivery=step.expireOnDelivery,
    )
    return plan, _echo(step, Channel.VIBER, triggers)


def _voice_plan(step: FailoverVoiceStep, where: list[str | int]) -> tuple[StepPlan, dict[str, Any]]:
    triggers = failover_on(Channel.VOICE, step.failoverOnStatuses, [*where, "failoverOnStatuses"])
    if isinstance(step.to, str):
        to = destination(step.to, [*where, "to"])
    else:
        to = destination(step.to.phone, [*where, "to", "phone"])
    plan = StepPlan(
        channel=Channel.VOICE,
        to=to,
        ttl_seconds=VOICE_CALL_WINDOW_SECONDS,
        failover_on=triggers,
    )
    return plan, _echo(step, Channel.VOICE, triggers)


def _echo(
    step: FailoverSmsStep | FailoverViberStep | FailoverVoiceStep,
    channel: Channel,
    triggers: frozenset[StepStatus],
) -> dict[str, Any]:
    echo = step.model_dump(mode="json", by_alias=True, exclude_none=True)
    echo["failoverOnStatuses"] = [s.render(channel) for s in ordered_statuses(channel, triggers)]
    return echo


def standard_plans(
    request: SendStandardFailoverRequest,
) -> tuple[tuple[StepPlan, ...], FlowMeta]:
    check_unique_orders([s.order for s in request.flow])
    ordered = sorted(enumerate(request.flow), key=lambda pair: pair[1].order)
    plans: list[StepPlan] = []
    echo: list[dict[str, Any]] = []
    for position, step in ordered:
        where: list[str | int] = ["body", "flow", position]
        if isinstance(step, FailoverSmsStep):
            plan, item = _sms_plan(step, where)
        elif isinstance(step, FailoverViberStep):
            plan, item = _viber_plan(step, where)
        else:
            plan, item = _voice_plan(step, where)
        assert plan.channel is _CHANNEL[step.type]
        plans.append(plan)
        echo.append(item)
    callback = request.callback
    meta = FlowMeta(
        request=echo,
        phone=plans[0].to,
        label=None,
        callback_url=str(callback.url) if callback else None,
        callback_strategy=callback.strategy.value if callback else None,
    )
    return tuple(plans), meta

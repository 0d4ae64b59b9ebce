"""What ``POST /otp/send-failover`` asks, once validated (``OtpAsk``), and how it becomes the
core's plans and the stored echo. The web layer turns its request body into an ``OtpAsk``; the
application's auto ttl policy is read in between (``services/sending.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from failover_otp.domain.adaptive_ttl import BUILT_IN_POLICY, AutoTtl, TtlPolicy
from failover_otp.domain.flow import StepPlan
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel
from failover_otp.phones import InvalidPhoneNumber, normalize
from failover_otp.services.errors import Invalid

# The longest ttl an OTP step may ask for (a day), and so the cap of its auto ttl.
OTP_TTL_MAX_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class OtpStepAsk:
    """One step as the caller asked for it (``channel``: Viber for ``ViberOtp``, or SMS)."""

    channel: Channel
    to: str | list[str]
    order: int
    ttl: int | Literal["auto"] | None
    # The step as sent, in JSON (what the API echoes; the code is taken out before it is stored).
    echo: dict[str, Any]
    label: str | None = None
    pin: str | None = None  # ViberOtp: the caller's code, if any
    failover_on_delivered: bool = False  # ViberOtp
    sms_body: str = ""  # Sms: the text, where ``{pin}`` stands for the code


@dataclass(frozen=True, slots=True)
class OtpAsk:
    steps: tuple[OtpStepAsk, ...]  # in the request's order (error locations name positions)
    callback_url: str | None = None

    @property
    def asks_for_auto(self) -> bool:
        """Whether a step asks for (or may default to) an auto ttl: the application's policy
        is read only then."""
        return any(step.ttl is None or step.ttl == "auto" for step in self.steps)


def destination(to: str | list[str], where: list[str | int]) -> str:
    numbers = [to] if isinstance(to, str) else to
    if len(numbers) != 1:
        raise Invalid(
            f"{'.'.join(map(str, where))}: exactly one destination number per step",
            details=[{"loc": where, "msg": "exactly one destination", "type": "value_error"}],
        )
    try:
        return normalize(numbers[0])
    except InvalidPhoneNumber as exc:
        raise Invalid(
            f"{'.'.join(map(str, where))}: {exc}",
            details=[{"loc": where, "msg": str(exc), "type": "phone_number"}],
        ) from None


def check_unique_orders(orders: list[int]) -> None:
    if len(set(orders)) != len(orders):
        raise Invalid(
            "flow: every step needs a unique order",
            details=[{"loc": ["body", "flow"], "msg": "duplicate order", "type": "value_error"}],
        )


def _ttl(step: OtpStepAsk, position: int, policy: TtlPolicy) -> tuple[float, AutoTtl | None]:
    """The step's ttl in seconds (an auto step's upper bound) and its auto bounds, if any."""
    if isinstance(step.ttl, int):
        return float(step.ttl), None
    if step.ttl == "auto" or policy.is_default:
        return policy.bounds.max_seconds, policy.bounds
    where: list[str | int] = ["body", "flow", position, "ttl"]
    raise Invalid(
        f"flow.{position}.ttl: Field required",
        details=[{"loc": where, "msg": "Field required", "type": "missing"}],
    )


def otp_plans(
    ask: OtpAsk, policy: TtlPolicy = BUILT_IN_POLICY
) -> tuple[tuple[StepPlan, ...], FlowMeta]:
    """``policy``: the application's auto ttl settings (or the service's defaults)."""
    check_unique_orders([s.order for s in ask.steps])
    ordered = sorted(enumerate(ask.steps), key=lambda pair: pair[1].order)
    plans: list[StepPlan] = []
    echo: list[dict[str, Any]] = []
    for position, step in ordered:
        to = destination(step.to, ["body", "flow", position, "to"])
        ttl, auto = _ttl(step, position, policy)
        if step.channel is Channel.VIBER:
            plan = StepPlan(
                channel=Channel.VIBER,
                to=to,
                ttl_seconds=ttl,
                failover_on=DEFAULT_FAILOVER_ON[Channel.VIBER],
                failover_on_delivered=step.failover_on_delivered,
                auto_ttl=auto,
            )
        else:
            plan = StepPlan(
                channel=Channel.SMS,
                to=to,
                ttl_seconds=ttl,
                failover_on=DEFAULT_FAILOVER_ON[Channel.SMS],
                auto_ttl=auto,
            )
        plans.append(plan)
        echo.append(step.echo)
    first = ordered[0][1]
    meta = FlowMeta(
        request=echo,
        phone=plans[0].to,
        label=first.label,
        callback_url=ask.callback_url,
    )
    return tuple(plans), meta

"""``decide`` with a delivery model: a step with ``"ttl": "auto"`` waits for the chosen ttl."""

from __future__ import annotations

from dataclasses import replace

from failover_otp.domain.adaptive_ttl import AutoTtl
from failover_otp.domain.delivery_model import EMPTY_MODEL, DeliveryModel, ModelKey, bin_of
from failover_otp.domain.events import DeadlineReached, SendAccepted, Start
from failover_otp.domain.flow import DeadlineKind, Flow
from failover_otp.domain.machine import decide
from failover_otp.domain.statuses import Channel, StepStatus

from .factories import VIBER_ID, make_flow, moment, sms, viber

AUTO = AutoTtl(min_seconds=5, max_seconds=120, threshold=0.95)
GR = ModelKey(Channel.VIBER, "GR", "Cosmote")
# 70 % delivered by 3 s, 5 % by 10 s, 25 % waited 120 s in vain: auto picks 11 s.
LEARNED = DeliveryModel.from_counts(
    [(GR, bin_of(3), 700, 0), (GR, bin_of(10), 50, 0), (GR, bin_of(120), 0, 250)]
)


def auto_flow() -> Flow:
    return make_flow(replace(viber(120), auto_ttl=AUTO), sms())


def accepted(flow: Flow, model: DeliveryModel, *, time_scale: float = 1.0) -> Flow:
    flow = decide(flow, Start(), now=moment(0)).flow
    event = SendAccepted(0, VIBER_ID, StepStatus.QUEUED, 0.01, 1, "GR", "Cosmote")
    return decide(flow, event, now=moment(1), time_scale=time_scale, model=model).flow


def test_auto_waits_for_the_learned_ttl_and_records_why() -> None:
    flow = accepted(auto_flow(), LEARNED)
    assert flow.deadline is not None
    assert flow.deadline.kind is DeadlineKind.STEP_TTL
    assert flow.deadline.due_at == moment(1 + 11)
    choice = flow.steps[0].ttl_choice
    assert choice is not None
    assert choice.seconds == 11
    assert "viber GR Cosmote" in choice.reason


def test_auto_without_history_waits_for_the_upper_bound() -> None:
    flow = accepted(auto_flow(), EMPTY_MODEL)
    assert flow.deadline is not None
    assert flow.deadline.due_at == moment(1 + 120)
    choice = flow.steps[0].ttl_choice
    assert choice is not None
    assert choice.seconds == 120
    assert "too little history" in choice.reason


def test_the_learned_deadline_fails_over_to_sms() -> None:
    flow = accepted(auto_flow(), LEARNED)
    decision = decide(flow, DeadlineReached(DeadlineKind.STEP_TTL, 0), now=moment(12))
    assert [s.status for s in decision.flow.steps] == [StepStatus.EXPIRED, StepStatus.SENDING]


def test_time_scale_divides_the_chosen_ttl_like_a_fixed_one() -> None:
    flow = accepted(auto_flow(), LEARNED, time_scale=10)
    assert flow.deadline is not None
    assert flow.deadline.due_at == moment(1 + 1.1)


def test_a_fixed_ttl_ignores_the_model() -> None:
    flow = accepted(make_flow(viber(120), sms()), LEARNED)
    assert flow.deadline is not None
    assert flow.deadline.due_at == moment(1 + 120)
    assert flow.steps[0].ttl_choice is None

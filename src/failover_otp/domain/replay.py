"""What-if replay: recorded Viber → SMS flows under other failover policies.

Pure computation over what was recorded (``RecordedFlow``), nothing is sent. For each flow and
policy (a Viber ttl: fixed, or auto with a threshold), the outcome follows from the record:

- Viber delivered at ``t``: within the policy's ttl the user had the code at ``t`` by Viber;
  later, the failover fired at the ttl and the code came by SMS.
- Viber given up at ``c`` (its ttl ran out): a shorter ttl fails over sooner; a longer one is
  assumed not to have helped (the record cannot say what ``c``..ttl would have brought).
- Viber refused, undelivered or failed after ``r``: the failover fired at ``min(r, ttl)``.
- The SMS: the recorded one when the flow sent it (its own delivery time and price), else one
  drawn from the recorded SMS of the same country (a fixed quantile per flow, so a replay
  repeats); with no SMS recorded for the country, from every recorded SMS.

Auto policies choose each flow's ttl with ``choose_ttl`` on a model of the replayed period's
own Viber observations (what the live model would have held). docs/adaptive-failover.md says
what this can and cannot predict.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from failover_otp.domain.adaptive_ttl import AutoTtl, choose_ttl
from failover_otp.domain.delivery_model import NEVER_BIN, DeliveryModel, ModelKey, bin_of
from failover_otp.domain.statuses import Channel

FIXED_TTLS = (10.0, 20.0, 30.0, 60.0, 120.0)
THRESHOLDS = (0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class RecordedFlow:
    """One Viber → SMS flow as recorded; times in the flow's own seconds after the Viber send."""

    flow_id: str
    country: str | None
    operator: str | None
    start_offset: float  # from the flow's creation to the Viber send
    viber_price: float  # 0 when Viber refused the send
    viber_delivered: float | None  # when it was delivered
    viber_gave_up: float | None  # when its ttl ran out without a delivery (censored)
    viber_failed: float | None  # when it was refused (0), undelivered or failed
    sms_started: float | None  # when the SMS was sent, if it was
    sms_delivered: float | None  # how long the SMS took to be delivered, if it was
    sms_price: float | None
    viber_ttl: float | None = None  # the ttl the Viber step waited for (chosen, if auto)


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    ttl: float | None = None  # fixed
    auto: AutoTtl | None = None


@dataclass(frozen=True, slots=True)
class PolicyResult:
    policy: str
    flows: int
    codes: int  # flows whose user got a code
    median_seconds: float | None
    p95_seconds: float | None
    both_channels_share: float
    cost_per_code: float | None


def standard_policies(min_ttl: float = 5.0, max_ttl: float = 120.0) -> list[Policy]:
    fixed = [Policy(f"fixed {ttl:g} s", ttl=ttl) for ttl in FIXED_TTLS]
    auto = [
        Policy(f"auto {threshold:.0%}", auto=AutoTtl(min_ttl, max_ttl, threshold))
        for threshold in THRESHOLDS
    ]
    return fixed + auto


def viber_model(flows: Sequence[RecordedFlow]) -> DeliveryModel:
    """The Viber part of the delivery model, from the recorded flows themselves."""
    counts: list[tuple[ModelKey, int, int, int]] = []
    for flow in flows:
        key = ModelKey(Channel.VIBER, flow.country, flow.operator)
        if flow.viber_delivered is not None:
            counts.append((key, bin_of(flow.viber_delivered), 1, 0))
        elif flow.viber_gave_up is not None:
            counts.append((key, bin_of(flow.viber_gave_up), 0, 1))
        elif flow.viber_failed is not None and flow.viber_price:
            counts.append((key, NEVER_BIN, 0, 1))
    return DeliveryModel.from_counts(counts)


@dataclass(frozen=True, slots=True)
class _Sms:
    """Recorded SMS per country: sorted delivery times (None: never delivered) and prices."""

    times: dict[str | None, list[float | None]]
    prices: dict[str | None, float]

    @classmethod
    def of(cls, flows: Sequence[RecordedFlow]) -> _Sms:
        times: dict[str | None, list[float | None]] = {}
        prices: dict[str | None, list[float]] = {}
        for flow in flows:
            if flow.sms_started is None:
                continue
            for country in (flow.country, None):
                times.setdefault(country, []).append(flow.sms_delivered)
                if flow.sms_price is not None:
                    prices.setdefault(country, []).append(flow.sms_price)
        ordered = {
            k: sorted(v, key=lambda t: float("inf") if t is None else t) for k, v in times.items()
        }
        return cls(ordered, {k: statistics.fmean(v) for k, v in prices.items()})

    def draw(self, flow: RecordedFlow) -> tuple[float | None, float]:
        """(delivery time or None, price) of an SMS this flow did not send in the record."""
        times = self.times.get(flow.country) or self.times.get(None) or [None]
        # A fixed quantile per flow: the replay repeats, and the flows as a whole follow the
        # recorded distribution.
        fraction = uuid.uuid5(uuid.NAMESPACE_OID, flow.flow_id).int % 10_000 / 10_000
        price = self.prices.get(flow.country, self.prices.get(None, 0.0))
        return times[int(fraction * len(times))], price


def replay(flows: Sequence[RecordedFlow], policies: Sequence[Policy]) -> list[PolicyResult]:
    model = viber_model(flows)
    sms = _Sms.of(flows)
    lag = failover_lag(flows)
    return [_replay_one(flows, policy, model, sms, lag) for policy in policies]


def failover_lag(flows: Sequence[RecordedFlow]) -> float:
    """The median time the engine took from a ttl running out to the SMS being sent, in the
    record (the deadline worker's delay and the send): a replayed failover takes as long."""
    lags = [
        flow.sms_started - flow.viber_ttl
        for flow in flows
        if flow.sms_started is not None
        and flow.viber_gave_up is not None
        and flow.viber_ttl is not None
    ]
    return statistics.median(lags) if lags else 0.0


def _ttl_for(flow: RecordedFlow, policy: Policy, model: DeliveryModel) -> float:
    if policy.auto is not None:
        key = ModelKey(Channel.VIBER, flow.country, flow.operator)
        return choose_ttl(model, key, policy.auto).seconds
    assert policy.ttl is not None
    return policy.ttl


def _replay_one(
    flows: Sequence[RecordedFlow], policy: Policy, model: DeliveryModel, sms: _Sms, lag: float
) -> PolicyResult:
    times: list[float] = []
    both = 0
    cost = 0.0
    for flow in flows:
        ttl = _ttl_for(flow, policy, model)
        cost += flow.viber_price
        if flow.viber_delivered is not None and flow.viber_delivered <= ttl:
            times.append(flow.start_offset + flow.viber_delivered)
            continue
        if flow.viber_failed is not None and flow.viber_failed <= ttl:
            failover_at = flow.viber_failed  # the failure itself triggered the failover
        elif flow.viber_gave_up is not None and flow.viber_ttl == ttl and flow.sms_started:
            failover_at = flow.sms_started  # the recorded failover, its own delay included
        else:
            failover_at = ttl + lag
        if flow.sms_started is not None:
            sms_time, sms_price = flow.sms_delivered, flow.sms_price or 0.0
        else:
            sms_time, sms_price = sms.draw(flow)
        both += 1 if flow.viber_price else 0
        cost += sms_price
        if sms_time is not None:
            times.append(flow.start_offset + failover_at + sms_time)
    return PolicyResult(
        policy=policy.name,
        flows=len(flows),
        codes=len(times),
        median_seconds=round(statistics.median(times), 2) if times else None,
        p95_seconds=round(_p95(times), 2) if times else None,
        both_channels_share=round(both / len(flows), 4) if flows else 0.0,
        cost_per_code=round(cost / len(times), 6) if times else None,
    )


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

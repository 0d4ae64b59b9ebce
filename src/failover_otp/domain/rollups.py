"""Daily rollups: what one flow adds to the dashboard's per-day counters.

The charts and tiles sum these counters instead of reading every flow of their period
(docs/operations.md#the-dashboard). Three kinds of row, each keyed by application, UTC day,
channel and country:

- **flow rows**: day of the flow's creation, channel and country of its last step (the message
  the user most likely typed the code from): flows, OTP flows, verified OTP flows, succeeded,
  failed, flows that failed over, their cost, and the SMS parts an SMS-only flow would have paid;
- **step rows**: day of the step's creation, its channel and country: steps, delivered, failed,
  priced steps and their price;
- **latency rows**: the same key and a bucket of send-to-delivery time: deliveries per bucket,
  from which medians are read (within half a bucket, ``LATENCY_GROWTH``).

Only a flow whose status is final (Succeeded or Failed) is in the stored rollups; the store adds
what unfinished flows contribute when it reads (few: a flow ends within its steps' ttls). So a
flow's contribution is written by the transaction that ends it, and corrected by any later save
that changes it (a late delivery report, a verified code).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from failover_otp.domain.flow import Flow, FlowKind, Role
from failover_otp.domain.statuses import Channel, FlowStatus, Outcome

FLOW_FIELDS = (
    "flows",
    "otp_flows",
    "verified",
    "succeeded",
    "failed",
    "failovers",
    "cost",
    "sms_parts",
)
STEP_FIELDS = ("steps", "delivered", "failed", "priced", "price")
LATENCY_FIELDS = ("deliveries",)
# Columns holding money; every other counter is an integer.
MONEY_FIELDS = frozenset({"cost", "price"})

# Latency buckets: [0, 100 ms), then each bucket 7 % wider than the last, up to a day and beyond.
LATENCY_GROWTH = 1.07
LATENCY_FIRST_MS = 100


def _bounds() -> tuple[int, ...]:
    bounds = [LATENCY_FIRST_MS]
    while bounds[-1] < 86_400_000:
        bounds.append(max(bounds[-1] + 1, round(bounds[-1] * LATENCY_GROWTH)))
    return tuple(bounds)


# Upper bounds (exclusive, in ms) of buckets 0 .. len-1; bucket len holds everything longer.
LATENCY_BOUNDS_MS = _bounds()

K = TypeVar("K")
DayKey = tuple[str, str, str]  # (YYYY-MM-DD, channel, country)
LatencyKey = tuple[str, str, str, int]  # (YYYY-MM-DD, channel, country, bucket)


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def latency_bucket(ms: int) -> int:
    return bisect.bisect_right(LATENCY_BOUNDS_MS, max(0, ms))


def bucket_ms(bucket: int) -> float:
    """A bucket's representative time: the geometric middle of its bounds (the first bucket's
    middle; the last, open bucket's lower bound)."""
    if bucket <= 0:
        return LATENCY_FIRST_MS / 2
    low = LATENCY_BOUNDS_MS[bucket - 1]
    if bucket >= len(LATENCY_BOUNDS_MS):
        return float(low)
    return float((low * LATENCY_BOUNDS_MS[bucket]) ** 0.5)


def median_ms(histogram: Mapping[int, int]) -> float | None:
    """The median of the durations counted per bucket (the mean of the two middle ones for an
    even count), each duration taken at its bucket's representative time."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    ranks = ((total + 1) // 2, (total + 2) // 2)
    found: list[float] = []
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        while len(found) < 2 and seen >= ranks[len(found)]:
            found.append(bucket_ms(bucket))
    return sum(found) / 2


@dataclass(slots=True)
class Rollup:
    """Counters per key, for one application: added up, subtracted, compared."""

    flows: dict[DayKey, list[float]] = field(default_factory=dict)
    steps: dict[DayKey, list[float]] = field(default_factory=dict)
    latency: dict[LatencyKey, list[float]] = field(default_factory=dict)

    def add(self, other: Rollup, sign: int = 1) -> Rollup:
        for key, values in other.flows.items():
            _bump(self.flows, key, values, sign)
        for key, values in other.steps.items():
            _bump(self.steps, key, values, sign)
        for lkey, lvalues in other.latency.items():
            _bump(self.latency, lkey, lvalues, sign)
        return self

    def minus(self, other: Rollup) -> Rollup:
        """What turns ``other`` into this rollup (counters that do not change left out)."""
        delta = Rollup().add(self).add(other, -1)
        delta.flows = _nonzero(delta.flows)
        delta.steps = _nonzero(delta.steps)
        delta.latency = _nonzero(delta.latency)
        return delta

    @property
    def empty(self) -> bool:
        return not (self.flows or self.steps or self.latency)


def _nonzero(table: dict[K, list[float]]) -> dict[K, list[float]]:
    return {k: v for k, v in table.items() if any(abs(x) > 1e-9 for x in v)}


def _bump(table: dict[K, list[float]], key: K, values: Iterable[float], sign: int) -> None:
    values = list(values)
    current = table.get(key)
    if current is None:
        table[key] = [sign * v for v in values]
    else:
        for i, v in enumerate(values):
            current[i] += sign * v


def rolled_up(flow: Flow) -> bool:
    """Whether the stored rollups hold this flow (as saved): its status is final."""
    return flow.status.is_terminal


def contribution(flow: Flow, *, verified: bool) -> Rollup:
    """What ``flow`` adds to the stored rollups (nothing until its status is final).

    ``verified``: its code was approved (``flows.verified_at``, which the flow itself does not
    carry)."""
    rollup = Rollup()
    if not rolled_up(flow):
        return rollup
    return flow_counters(flow, verified=verified)


def flow_counters(flow: Flow, *, verified: bool) -> Rollup:
    """The counters of one flow as it stands, final or not."""
    rollup = Rollup()
    last = flow.steps[-1] if flow.steps else None
    key = (
        day_of(flow.created_at),
        last.channel.value if last else "",
        (last.country or "") if last else "",
    )
    otp = flow.kind is FlowKind.OTP
    sms_parts = max((s.parts for s in flow.steps if s.channel is Channel.SMS), default=1)
    rollup.flows[key] = [
        1,
        int(otp),
        int(otp and verified),
        int(flow.status is FlowStatus.SUCCEEDED),
        int(flow.status is FlowStatus.FAILED),
        int(any(s.role is Role.FAILOVER for s in flow.steps)),
        flow.total_cost,
        sms_parts,
    ]
    for step in flow.steps:
        step_key = (day_of(step.created_at), step.channel.value, step.country or "")
        outcome = step.status.outcome
        _bump(
            rollup.steps,
            step_key,
            [
                1,
                int(outcome is Outcome.SUCCESS),
                int(outcome is Outcome.FAILURE),
                int(step.price is not None),
                step.price or 0.0,
            ],
            1,
        )
        if step.sent_at is not None and step.delivered_at is not None:
            ms = round((step.delivered_at - step.sent_at).total_seconds() * 1000)
            _bump(rollup.latency, (*step_key, latency_bucket(ms)), [1], 1)
    return rollup

"""The dashboard's numbers: deliveries per channel, flows and cost per day, delivery latency,
code checks and conversion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ChannelDelivery:
    channel: str
    steps: int
    delivered: int
    failed: int

    @property
    def pending(self) -> int:
        return self.steps - self.delivered - self.failed


@dataclass(frozen=True, slots=True)
class DayFlows:
    """Flows created on one UTC day (``YYYY-MM-DD``)."""

    day: str
    flows: int
    succeeded: int
    failed: int
    in_progress: int
    failovers: int
    cost: float
    # Message parts an SMS-only flow would have paid for: the SMS step's parts, else 1.
    sms_parts: int


@dataclass(frozen=True, slots=True)
class DayChannelCost:
    day: str
    channel: str
    cost: float
    messages: int


@dataclass(frozen=True, slots=True)
class DeliveryLatency:
    """Median send-to-delivery time of delivered steps, in wall-clock seconds (read off the
    daily rollups' latency buckets: within 3.5 % of the exact median, domain/rollups.py)."""

    channel: str
    country: str
    median_seconds: float
    samples: int


@dataclass(frozen=True, slots=True)
class CodeChecks:
    """What is stored of a flow's code checks (``POST /otp/verify``): the attempts taken (each
    a wrong code but the one that approved it; 0 once the code's row is purged) and when the code
    was approved. The attempts' own times are not stored."""

    attempts: int
    verified_at: datetime | None

    @property
    def wrong(self) -> int:
        return max(0, self.attempts - (1 if self.verified_at is not None else 0))


@dataclass(frozen=True, slots=True)
class Conversion:
    """OTP flows created on one UTC day whose last step went by ``channel`` to ``country``, and
    how many of them had their code verified."""

    day: str
    channel: str
    country: str
    flows: int
    verified: int

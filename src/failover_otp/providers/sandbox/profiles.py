"""Named sandbox profiles: delivery times drawn from distributions instead of the digit table.

No profile (the default) keeps the contract's digit table exactly. ``realistic`` (issue 18,
docs/adaptive-failover.md) draws, per accepted message, from a seeded generator (the same seed
and the same sends in the same order give the same run):

- Viber: 70 % delivered after a log-normal time (median 3 s, p95 15 s); 5 % delivered late
  (uniform 30-300 s; past the message's ttl it expires instead); 25 % never delivered (no Viber
  account: EXPIRED at the ttl).
- SMS: delivered after a log-normal time (median 4 s, p95 20 s); 2 % undelivered (reported
  after a time from the same distribution).
- The first operator the run sees in each country is twice as slow between 00:00 and 06:00 UTC.

Prices are the digit table's. Refusals never happen in this profile.
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from typing import Protocol

from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.providers.sandbox.outcomes import AT_TTL, Outcome, ScheduledReport, outcome_for

PROFILES = ("realistic",)
# p95 of a log-normal: median * exp(1.645 sigma).
_Z95 = 1.6448536


class Profile(Protocol):
    def outcome(
        self, channel: Channel, to: str, *, ttl_seconds: float | None, operator_key: str,
        at: datetime,
    ) -> Outcome: ...  # fmt: skip


class DigitTable:
    """The contract's table: the destination's last digit picks the outcome."""

    def outcome(
        self, channel: Channel, to: str, *, ttl_seconds: float | None, operator_key: str,
        at: datetime,
    ) -> Outcome:  # fmt: skip
        return outcome_for(channel, to)


def _sigma(median: float, p95: float) -> float:
    return math.log(p95 / median) / _Z95


class Realistic:
    VIBER_MEDIAN, VIBER_P95 = 3.0, 15.0
    SMS_MEDIAN, SMS_P95 = 4.0, 20.0

    def __init__(self, seed: int = 0) -> None:
        self.random = random.Random(seed)
        self.slow_operator: dict[str, str] = {}  # country -> its slow-at-night operator

    def outcome(
        self, channel: Channel, to: str, *, ttl_seconds: float | None, operator_key: str,
        at: datetime,
    ) -> Outcome:  # fmt: skip
        country, _, operator = operator_key.partition("/")
        slow_one = self.slow_operator.setdefault(country, operator)
        factor = 2.0 if operator == slow_one and at.hour < 6 else 1.0
        draw = self.random.random()
        if channel is Channel.SMS:
            after = factor * self._lognormal(self.SMS_MEDIAN, self.SMS_P95)
            status = StepStatus.DELIVERED if draw >= 0.02 else StepStatus.UNDELIVERED
            return Outcome((_report(after, status),))
        if draw < 0.70:
            after = factor * self._lognormal(self.VIBER_MEDIAN, self.VIBER_P95)
        elif draw < 0.75:
            after = factor * self.random.uniform(30.0, 300.0)
        else:
            return Outcome((_report(AT_TTL, StepStatus.EXPIRED),))
        if ttl_seconds is not None and after > ttl_seconds:
            return Outcome((_report(AT_TTL, StepStatus.EXPIRED),))
        return Outcome((_report(after, StepStatus.DELIVERED),))

    def _lognormal(self, median: float, p95: float) -> float:
        return self.random.lognormvariate(math.log(median), _sigma(median, p95))


def _report(after: float, status: StepStatus) -> ScheduledReport:
    return ScheduledReport(after, status, status.render(Channel.SMS))


def profile_named(name: str | None, seed: int = 0) -> Profile:
    """The profile called ``name`` ("" or None: the digit table)."""
    if not name:
        return DigitTable()
    if name == "realistic":
        return Realistic(seed)
    raise ValueError(f"unknown sandbox profile {name!r} (known: {', '.join(PROFILES)})")

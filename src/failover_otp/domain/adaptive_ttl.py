"""The adaptive ttl (``"ttl": "auto"``): fail over once a delivery has become unlikely.

The rule (docs/adaptive-failover.md): of the messages the delivery model expects to be delivered
within the upper bound ``max_seconds``, wait until ``threshold`` of them would have arrived, plus
``MARGIN_SECONDS``; clamp to ``[min_seconds, max_seconds]``. Without a trusted history (too few
observations, or too few that waited long enough to say what happens up to the upper bound) the
upper bound is used, which is also how the history keeps learning about the long tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from failover_otp.domain.delivery_model import (
    MIN_SAMPLES,
    DeliveryCurve,
    DeliveryModel,
    ModelKey,
)

# Added to the learned time: bins are coarse, and a delivery report takes a moment to arrive.
MARGIN_SECONDS = 2.0
DEFAULT_THRESHOLD = 0.95


@dataclass(frozen=True, slots=True)
class AutoTtl:
    """What a step that asked for ``"ttl": "auto"`` may wait: bounds and threshold."""

    min_seconds: float
    max_seconds: float
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ValueError("auto ttl bounds need 0 < min <= max")
        if not 0 < self.threshold < 1:
            raise ValueError("auto ttl threshold must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class TtlChoice:
    """The ttl an auto step got, and why (shown in the step's tracking story)."""

    seconds: float
    reason: str


def choose_ttl(model: DeliveryModel, key: ModelKey, policy: AutoTtl) -> TtlChoice:
    upper = policy.max_seconds
    levels = model.levels(key)
    if not levels:
        return TtlChoice(upper, f"too little history (< {MIN_SAMPLES} messages): upper bound")
    # The finest level whose curve is trusted up to the upper bound: an operator with enough
    # messages but too few watched for long defers to its country, then to the channel.
    for level, histogram in levels:
        curve = histogram.curve()
        if curve.trusted_until() >= upper:
            return _from_curve(curve, _describe(level), policy)
    level, histogram = levels[0]
    return TtlChoice(
        upper,
        f"history of {_describe(level)} does not reach {upper:g} s yet "
        f"({histogram.samples} messages): upper bound",
    )


def _from_curve(curve: DeliveryCurve, where: str, policy: AutoTtl) -> TtlChoice:
    upper = policy.max_seconds
    eventual = curve.share_by(upper)
    if eventual <= 0.0:
        return TtlChoice(
            policy.min_seconds,
            f"{where}: none of {curve.samples} messages delivered within {upper:g} s",
        )
    learned = curve.time_for(policy.threshold * eventual)
    seconds = float(math.ceil(learned + MARGIN_SECONDS))
    seconds = min(max(seconds, policy.min_seconds), upper)
    return TtlChoice(
        seconds,
        f"{where}: {policy.threshold:.0%} of deliveries within {upper:g} s arrive by "
        f"{learned:.1f} s (+{MARGIN_SECONDS:g} s margin; {curve.samples} messages, "
        f"{eventual:.0%} delivered)",
    )


def _describe(key: ModelKey) -> str:
    parts = [key.channel.value]
    if key.country is not None:
        parts.append(key.country)
    if key.operator is not None:
        parts.append(key.operator)
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class TtlPolicy:
    """An application's ``"ttl": "auto"`` settings (``apps auto-ttl``), or the service's."""

    bounds: AutoTtl
    # Whether a step that omits its ttl gets auto (else omitting it is refused, as before).
    is_default: bool


# The settings' defaults (FOTP_AUTO_TTL_*), for callers without settings at hand.
BUILT_IN_POLICY = TtlPolicy(AutoTtl(5.0, 120.0, DEFAULT_THRESHOLD), is_default=False)

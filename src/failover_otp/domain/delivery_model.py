"""How long messages take to reach a handset, learned from the service's own history.

A ``DeliveryModel`` is a snapshot value (like ``now``): the shell builds it from stored counts and
hands it to ``decide``, which asks it for an adaptive ttl (``domain/adaptive_ttl.py``). Nothing
here reads or writes anything.

Each observation is one sent step that reached a final state, put in a bin of ``BIN_EDGES``:

- *delivered* after ``t`` seconds (send to the handset's report);
- *censored* at ``t``: it ran out of time (its ttl) without a delivery. It was not delivered
  within ``t``; whether it would have been later is unknown;
- *never*: the provider said it will not be delivered (undelivered, failed, rejected). It counts
  as censored beyond the last bin: at risk all along, never delivered.

Censoring is why the estimate is Kaplan-Meier's rather than a plain share: a step that gave up
after 10 s says nothing about 10-120 s, and counting it as "never delivered" would teach a short
ttl to look right because it was used (the trap of learning from your own decisions).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from failover_otp.domain.statuses import Channel

# Upper edges (seconds) of the bins delivery times fall in; one more bin (index len(BIN_EDGES))
# holds everything later and the steps that will never be delivered.
BIN_EDGES: tuple[float, ...] = (
    1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120,
    150, 180, 240, 300, 600, 1800, 3600,
)  # fmt: skip
NEVER_BIN = len(BIN_EDGES)

# Below this many observations a key is not trusted and the lookup falls back to a coarser one
# (channel x country x operator → channel x country → channel); below it everywhere, an adaptive
# ttl uses its upper bound.
MIN_SAMPLES = 100
# How many observations must still be undelivered-and-waiting at a time for the curve to be
# trusted up to that time (the tail of the curve is estimated from them alone).
MIN_AT_RISK = 20


def bin_of(seconds: float) -> int:
    """The bin of an observation ``seconds`` after the send (``NEVER_BIN`` past the last edge)."""
    return bisect_left(BIN_EDGES, max(seconds, 0.0))


@dataclass(frozen=True, slots=True)
class ModelKey:
    """channel x country x operator; ``None`` stands for "any" in the coarser keys."""

    channel: Channel
    country: str | None = None
    operator: str | None = None

    def coarser(self) -> tuple[ModelKey, ...]:
        """This key and the ones a lookup falls back to, finest first."""
        keys = [self]
        if self.operator is not None:
            keys.append(ModelKey(self.channel, self.country))
        if self.country is not None:
            keys.append(ModelKey(self.channel))
        return tuple(keys)


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts per bin: delivered in it, and censored in it (never delivered: ``NEVER_BIN``)."""

    delivered: tuple[int, ...] = (0,) * (NEVER_BIN + 1)
    censored: tuple[int, ...] = (0,) * (NEVER_BIN + 1)

    @property
    def samples(self) -> int:
        return sum(self.delivered) + sum(self.censored)

    def plus(self, other: Histogram) -> Histogram:
        return Histogram(
            tuple(a + b for a, b in zip(self.delivered, other.delivered, strict=True)),
            tuple(a + b for a, b in zip(self.censored, other.censored, strict=True)),
        )

    def curve(self) -> DeliveryCurve:
        """Kaplan-Meier: the share delivered by each edge, and how many were still at risk."""
        at_risk = self.samples
        survival = 1.0
        delivered_by: list[float] = []
        risk: list[int] = []
        for i in range(len(BIN_EDGES)):
            risk.append(at_risk)
            if at_risk > 0:
                survival *= 1.0 - self.delivered[i] / at_risk
            delivered_by.append(1.0 - survival)
            at_risk -= self.delivered[i] + self.censored[i]
        return DeliveryCurve(tuple(delivered_by), tuple(risk), self.samples)


@dataclass(frozen=True, slots=True)
class DeliveryCurve:
    """``delivered_by[i]``: estimated share of messages delivered within ``BIN_EDGES[i]``;
    ``at_risk[i]``: observations not yet delivered nor given up at the start of that bin."""

    delivered_by: tuple[float, ...]
    at_risk: tuple[int, ...]
    samples: int

    def share_by(self, seconds: float) -> float:
        """The estimated share delivered within ``seconds`` (linear between bin edges)."""
        if seconds <= 0:
            return 0.0
        i = bin_of(seconds)
        if i >= NEVER_BIN:
            return self.delivered_by[-1]
        low_edge = BIN_EDGES[i - 1] if i else 0.0
        low = self.delivered_by[i - 1] if i else 0.0
        high = self.delivered_by[i]
        return low + (high - low) * (seconds - low_edge) / (BIN_EDGES[i] - low_edge)

    def time_for(self, share: float) -> float:
        """The first time by which ``share`` of messages were delivered (linear in a bin)."""
        low_edge, low = 0.0, 0.0
        for edge, high in zip(BIN_EDGES, self.delivered_by, strict=True):
            if high >= share:
                if high <= low:
                    return edge
                return low_edge + (edge - low_edge) * (share - low) / (high - low)
            low_edge, low = edge, high
        return BIN_EDGES[-1]

    def trusted_until(self) -> float:
        """The latest edge up to which enough observations were at risk to trust the curve."""
        trusted = 0.0
        for edge, risk, share in zip(BIN_EDGES, self.at_risk, self.delivered_by, strict=True):
            if risk < MIN_AT_RISK and share < 1.0:
                break
            trusted = edge
        return trusted


@dataclass(frozen=True, slots=True)
class DeliveryModel:
    """Histograms per key, the coarser keys already summed (built by ``from_counts``)."""

    histograms: Mapping[ModelKey, Histogram] = field(default_factory=dict)

    @classmethod
    def from_counts(cls, counts: Iterable[tuple[ModelKey, int, int, int]]) -> DeliveryModel:
        """``counts``: (finest key, bin, delivered, censored) rows, summed into every level."""
        delivered: dict[ModelKey, list[int]] = {}
        censored: dict[ModelKey, list[int]] = {}
        for key, index, n_delivered, n_censored in counts:
            for level in key.coarser():
                delivered.setdefault(level, [0] * (NEVER_BIN + 1))[index] += n_delivered
                censored.setdefault(level, [0] * (NEVER_BIN + 1))[index] += n_censored
        return cls(
            {key: Histogram(tuple(delivered[key]), tuple(censored[key])) for key in delivered}
        )

    def lookup(self, key: ModelKey) -> tuple[ModelKey, Histogram] | None:
        """The finest level of ``key`` with at least ``MIN_SAMPLES`` observations."""
        return next(iter(self.levels(key)), None)

    def levels(self, key: ModelKey) -> list[tuple[ModelKey, Histogram]]:
        """The levels of ``key`` with at least ``MIN_SAMPLES`` observations, finest first."""
        found = []
        for level in key.coarser():
            histogram = self.histograms.get(level)
            if histogram is not None and histogram.samples >= MIN_SAMPLES:
                found.append((level, histogram))
        return found


EMPTY_MODEL = DeliveryModel()


_HOUR = 3600


@dataclass(frozen=True, slots=True)
class Observation:
    """One sent step's end: its key, its bin, and whether it was delivered in it."""

    key: ModelKey
    bin: int
    delivered: bool
    at: datetime


def hour_of(moment: datetime) -> int:
    return int(moment.timestamp()) // _HOUR * _HOUR

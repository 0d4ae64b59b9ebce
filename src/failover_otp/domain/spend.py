"""The daily spend cap's amounts (integers in micro-units of the account currency: no float
drift in the sums), days and reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from failover_otp.domain.limits import window_start

_DAY = 86_400

MICROS = 1_000_000


def micros(amount: float) -> int:
    return round(amount * MICROS)


def day_of(now: datetime) -> int:
    """The UTC day ``now`` falls in: its midnight, in seconds since the epoch."""
    return window_start(now, _DAY)


@dataclass(frozen=True, slots=True)
class Reservation:
    flow_id: str
    application_id: str
    day: int
    amount: int  # micro-units


@dataclass(frozen=True, slots=True)
class SpendDay:
    reserved: int = 0  # micro-units
    spent: int = 0

    @property
    def committed(self) -> int:
        return self.reserved + self.spent

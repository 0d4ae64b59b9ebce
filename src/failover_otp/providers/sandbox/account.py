"""The sandbox's Routee account: a balance that every accepted send spends, and its top-ups.

Routee charges a message when it takes it; a send it cannot pay for is refused with
``400001009`` (reference §6.1, §7.4). Refunds of failed messages (an inference from a reseller's
page) are not modelled: the balance only goes down by sends and up by top-ups.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

# The standalone sandbox's opening balance (EUR): about 26,000 SMS or 100,000 Viber messages.
DEFAULT_BALANCE = 1000.0


@dataclass(frozen=True, slots=True)
class TopUp:
    id: str
    amount: float
    before: float
    after: float
    at: datetime


@dataclass(slots=True)
class Account:
    """``opening`` None: an account that never runs out (the embedded sandbox)."""

    opening: float | None = DEFAULT_BALANCE
    balance: float = 0.0
    top_ups: list[TopUp] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.balance = 0.0
        self.top_ups.clear()
        if self.opening is not None:
            self.set_balance(self.opening)

    def charge(self, price: float) -> bool:
        """Spend ``price``; False (nothing spent) when the balance cannot pay it."""
        if self.opening is None and not self.top_ups:
            return True
        if price > self.balance + 1e-9:
            return False
        self.balance = round(self.balance - price, 6)
        return True

    def set_balance(self, amount: float) -> TopUp:
        """Top the account up (or down) to ``amount``, recorded as a transaction."""
        top_up = TopUp(
            str(uuid.uuid4()), amount - self.balance, self.balance, amount, datetime.now(UTC)
        )
        self.balance = amount
        self.top_ups.append(top_up)
        return top_up

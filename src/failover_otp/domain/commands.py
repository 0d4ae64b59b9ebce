"""What the shell must do after a decision is saved: the outputs of ``decide``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SendStep:
    """Hand step ``index`` to the provider (its intent row is already in the saved state)."""

    index: int
    # A retry after an unanswered attempt: the shell must look the message up before re-sending.
    retry: bool = False


@dataclass(frozen=True, slots=True)
class NotifyChange:
    """The flow's visible story changed: tell the customer's callback URL."""


Command = SendStep | NotifyChange

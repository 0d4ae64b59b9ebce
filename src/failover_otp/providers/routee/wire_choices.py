"""Routee wire facts we could not settle without a live account, each decided in one place.

Public material disagrees on two details of the Viber APIs (docs/routee.md, "verify on first
live use"):

* whether ``POST /viber/otp`` takes ``to`` as a string (the reference's §2.9 body) or as an
  array of strings (the Failover OTP examples show ``["+3069..."]``);
* which field carries a Viber button: ``viberAction`` (the single Viber tracking and callback
  objects, §5.4) or ``action {caption, targetUrl}`` (the Failover step and public client code).

Each choice is one function here, switched by a setting (``FOTP_ROUTEE_VIBER_OTP_TO``,
``FOTP_ROUTEE_VIBER_BUTTON_FIELD``). The standalone sandbox accepts only the defaults, so a body
built with the other form is refused there and a mismatch shows in tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ViberOtpRecipient(StrEnum):
    STRING = "string"  # "to": "+306912345670" (default: reference §2.9)
    ARRAY = "array"  # "to": ["+306912345670"]


class ViberButtonField(StrEnum):
    VIBER_ACTION = "viberAction"  # default: the name Routee's Viber objects use (§5.4)
    ACTION = "action"


@dataclass(frozen=True, slots=True)
class WireChoices:
    viber_otp_to: ViberOtpRecipient = ViberOtpRecipient.STRING
    viber_button: ViberButtonField = ViberButtonField.VIBER_ACTION

    def viber_otp_recipient(self, number: str) -> str | list[str]:
        """``to`` of a ``POST /viber/otp`` body for one ``+E.164`` number."""
        return [number] if self.viber_otp_to is ViberOtpRecipient.ARRAY else number

    def viber_button_entry(self, action: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The body key and value of a Viber button ``{caption, targetUrl}``."""
        return self.viber_button.value, {str(k): v for k, v in action.items()}


# What the standalone sandbox accepts: the documented forms.
DOCUMENTED = WireChoices()

"""How many billable parts an SMS body takes (GSM 03.38 or UCS-2), as operators count them."""

from __future__ import annotations

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_parts(body: str) -> int:
    """Parts billed for ``body``: 160/153 septets in GSM-7, 70/67 characters in UCS-2."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in body):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in body)
        single, multi = 160, 153
    else:
        # UCS-2 counts UTF-16 code units: characters outside the BMP take two.
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)


def is_unicode(body: str) -> bool:
    return not all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in body)

"""Phone numbers: E.164 validation and normalisation, and what a number says about itself."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import carrier

from failover_otp.metrics import register_cache

# A send looks at its numbers several times (validation, the abuse checks, the country and
# operator), so the answers are kept, but only for the numbers in use at the moment: a parsed
# number and its answers take ~0.5 KB, and a million distinct numbers must not mean 500 MB.
_PARSED_KEPT = 256
_ANSWERS_KEPT = 1024


class InvalidPhoneNumber(ValueError):
    pass


@lru_cache(maxsize=_PARSED_KEPT)
def _parse(text: str) -> phonenumbers.PhoneNumber:
    """``text`` ("+" and digits) parsed, once for the checks a send makes of its number (the
    parsed object is not changed by any of them)."""
    return phonenumbers.parse(text, None)


# Parsing a number costs ~0.1 ms and a send parses each of its steps' numbers (and the abuse
# checks again): the same numbers recur, so results are kept (a refused one raises: not kept).
@lru_cache(maxsize=_ANSWERS_KEPT)
def normalize(raw: str) -> str:
    """``raw`` as E.164 digits without the plus (``306912345671``), the form tracking reports.

    Accepts ``+306912345671`` and ``306912345671`` alike (Routee's docs show both).
    """
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("phone number is empty")
    candidate = text if text.startswith("+") else "+" + text
    try:
        number = _parse(candidate)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{raw!r} is not an E.164 phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


@lru_cache(maxsize=_ANSWERS_KEPT)
def describe(digits: str) -> tuple[str | None, str | None]:
    """(ISO country code, operator name) of an E.164 number, where known."""
    try:
        number = _parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None, None
    region = phonenumbers.region_code_for_number(number)
    operator = carrier.name_for_number(number, "en") or None
    return (region if region and region != "ZZ" else None), operator


@lru_cache(maxsize=_ANSWERS_KEPT)
def number_type(digits: str) -> int:
    """The number's ``phonenumbers.PhoneNumberType`` (mobile, fixed line, premium rate...)."""
    kind: int = phonenumbers.number_type(_parse("+" + digits))
    return kind


@lru_cache(maxsize=_ANSWERS_KEPT)
def is_global_network(digits: str) -> bool:
    """Whether the number belongs to no country: the non-geographic calling codes of
    ``phonenumbers`` (region ``001``): satellite systems (+870 Inmarsat, +881 Iridium,
    Globalstar...), international networks (+882, +883) and global services (+800, +808, +878,
    +888, +979). Their termination rates are the highest there are (toll-fraud targets)."""
    code = _parse("+" + digits).country_code
    return code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS


def _size_of(cached: Any) -> Callable[[], int]:
    return lambda: int(cached.cache_info().currsize)


for _name, _cached, _kept in (
    ("phone_parsed", _parse, _PARSED_KEPT),
    ("phone_normalized", normalize, _ANSWERS_KEPT),
    ("phone_described", describe, _ANSWERS_KEPT),
    ("phone_number_type", number_type, _ANSWERS_KEPT),
    ("phone_global_network", is_global_network, _ANSWERS_KEPT),
):
    register_cache(_name, _size_of(_cached), _kept)

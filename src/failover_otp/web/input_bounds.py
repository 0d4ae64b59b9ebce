"""Bounds on request text the service stores: phone numbers, statuses, and the fields the OTP
API passes through to the provider untouched (template parameters, SMS options).

Everything a request carries is stored (the flow's request echo, the idempotency row), so every
field has a length. Pass-through fields are the open end: they are kept to what a template
parameter or an SMS option can be — a few short scalars or small objects — and to numbers the
JSON encoder can write (an integer past 64 bits or a NaN cannot be stored).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# An E.164 number has at most 15 digits; spaces, dashes and a leading + fit in 32.
PhoneText = Annotated[str, Field(max_length=32)]
# A failover status name in any casing (the longest, "Undelivered", has 11 letters).
StatusText = Annotated[str, Field(max_length=32)]

MAX_EXTRA_FIELDS = 20
MAX_EXTRA_NAME = 64
MAX_EXTRA_TEXT = 1_000
MAX_EXTRA_ITEMS = 20
MAX_EXTRA_DEPTH = 3
_INT64 = 2**63


class PassThrough(BaseModel):
    """A request object whose undocumented fields are kept (and sent on), within bounds."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _bounded_extras(self) -> PassThrough:
        extra = self.__pydantic_extra__ or {}
        if len(extra) > MAX_EXTRA_FIELDS:
            raise ValueError(f"at most {MAX_EXTRA_FIELDS} fields beyond the documented ones")
        for name, value in extra.items():
            if not 1 <= len(name) <= MAX_EXTRA_NAME:
                raise ValueError(f"field names are 1 to {MAX_EXTRA_NAME} characters")
            problem = _problem(value, MAX_EXTRA_DEPTH)
            if problem is not None:
                raise ValueError(f"{name[:MAX_EXTRA_NAME]}: {problem}")
        return self


def _problem(value: Any, depth: int) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return None if len(value) <= MAX_EXTRA_TEXT else f"at most {MAX_EXTRA_TEXT} characters"
    if isinstance(value, int):
        return None if -_INT64 <= value < _INT64 else "integers must fit in 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else "numbers must be finite"
    if isinstance(value, dict | list):
        if depth == 0:
            return f"objects and arrays nest at most {MAX_EXTRA_DEPTH} deep"
        if len(value) > MAX_EXTRA_ITEMS:
            return f"at most {MAX_EXTRA_ITEMS} items per object or array"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and len(key) > MAX_EXTRA_NAME:
                return f"field names are at most {MAX_EXTRA_NAME} characters"
            problem = _problem(item, depth - 1)
            if problem is not None:
                return problem
        return None
    return f"unsupported value of type {type(value).__name__}"

"""Send limits: fixed windows (aligned on the epoch) and what going over one says."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` events per ``seconds`` (fixed windows aligned on the epoch) for ``key``."""

    name: str  # what the limit is called in errors and docs, e.g. "number_per_10min"
    key: str  # what is counted, e.g. "n:<application>:306912345670"
    seconds: int
    limit: int


@dataclass(frozen=True, slots=True)
class Exceeded:
    window: Window
    count: int
    retry_after: int  # whole seconds until the window ends


def window_start(now: datetime, seconds: int) -> int:
    """The start (epoch seconds) of the ``seconds``-long window ``now`` falls in."""
    epoch = math.floor(now.timestamp())
    return epoch - epoch % seconds


def exceeded_by(window: Window, count: int, now: datetime) -> Exceeded | None:
    """``count`` events in ``window``: over its limit, and for how long (else None)."""
    if count <= window.limit:
        return None
    end = window_start(now, window.seconds) + window.seconds
    return Exceeded(window, count, max(1, math.ceil(end - now.timestamp())))

"""The terminal the commands print to (made on first use: importing rich's console is kept out
of ``--help``), and the colours statuses are shown in."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

STATUS_STYLE = {"Succeeded": "green", "Failed": "red", "InProgress": "yellow", "Queued": "yellow"}


@cache
def console() -> Console:
    from rich.console import Console

    return Console()


def styled(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"

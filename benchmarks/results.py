"""Figures, targets and verdicts, as the suites record them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    bench: str  # send, get, list, timing, memory
    db: str  # sqlite, postgres, or "-"
    name: str  # what was measured
    value: float
    unit: str
    target: str = ""  # e.g. ">= 1000"
    ok: bool | None = None  # None: no target
    ceiling: float | None = None  # the bare ASGI endpoint's figure, same run, same load
    ratio: float | None = None  # value / ceiling
    # The reference app's figure for the same load in the same run (benchmarks/reference).
    reference: float | None = None
    vs_reference: float | None = None  # value / reference
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def at_least(value: float, target: float) -> bool:
    return value >= target


def at_most(value: float, target: float) -> bool:
    return value <= target


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        verdict = "" if figure.ok is None else ("  OK" if figure.ok else "  MISSED")
        ratio = f"  ({figure.ratio:.2f}x ceiling)" if figure.ratio is not None else ""
        if figure.vs_reference is not None:
            ratio += f"  ({figure.vs_reference:.2f}x reference)"
        target = f"  target {figure.target}" if figure.target else ""
        print(
            f"  [{figure.bench}/{figure.db}] {figure.name}: {figure.value:,.1f} {figure.unit}"
            f"{ratio}{target}{verdict}",
            flush=True,
        )
        return figure

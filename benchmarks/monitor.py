"""CPU accounting from /proc: who used the 2 cores during a measurement.

Everything shares the machine (load generator, service, database), and so may other work that
has nothing to do with the benchmark. Each measured phase records how many cores the service,
this process (the load generator), the PostgreSQL server and everything else used, and waits
for a quiet machine before it starts (see :func:`wait_until_quiet`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _total_busy() -> tuple[float, float]:
    """(busy seconds, steal seconds) summed over all CPUs since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq) / _TICKS, steal / _TICKS


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _postgres_cpu() -> float:
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        if name.startswith("postgres"):
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


@dataclass
class CpuSample:
    wall: float
    busy: float
    steal: float
    ours: dict[int, float]
    postgres: float


def sample(pids: Iterable[int]) -> CpuSample:
    busy, steal = _total_busy()
    return CpuSample(
        time.monotonic(), busy, steal, {p: _proc_cpu(p) for p in pids}, _postgres_cpu()
    )


def usage(before: CpuSample, after: CpuSample, names: dict[int, str]) -> dict[str, float]:
    """Cores used between two samples: per named process, PostgreSQL, and everything else."""
    wall = max(1e-6, after.wall - before.wall)
    result: dict[str, float] = {}
    ours = 0.0
    for pid, name in names.items():
        used = after.ours.get(pid, 0.0) - before.ours.get(pid, 0.0)
        ours += used
        result[name] = round(used / wall, 2)
    postgres = after.postgres - before.postgres
    busy = after.busy - before.busy
    result["postgres"] = round(postgres / wall, 2)
    result["machine"] = round(busy / wall, 2)
    result["other"] = round(max(0.0, busy - ours - postgres) / wall, 2)
    result["steal"] = round((after.steal - before.steal) / wall, 2)
    return result


def background_cores(exclude: Iterable[int], seconds: float = 1.0) -> float:
    """Cores used by processes other than ``exclude`` (and PostgreSQL) over ``seconds``."""
    pids = list(exclude)
    before = sample(pids)
    time.sleep(seconds)
    after = sample(pids)
    return usage(before, after, {p: str(p) for p in pids})["other"]


def wait_until_quiet(
    exclude: Iterable[int], *, limit: float = 0.3, patience: float = 120.0
) -> float:
    """Wait (at most ``patience`` s) until other processes use under ``limit`` cores; return
    the last reading, so a report can say when a figure was taken on a busy machine."""
    pids = list(exclude)
    deadline = time.monotonic() + patience
    while True:
        other = background_cores(pids)
        if other <= limit or time.monotonic() >= deadline:
            return other

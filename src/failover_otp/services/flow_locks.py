"""One asyncio lock per flow in use, so a process applies one event at a time per flow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class FlowLocks:
    """One asyncio lock per flow in use, so a process applies one event at a time per flow."""

    locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)

    @asynccontextmanager
    async def hold(self, flow_id: str) -> AsyncIterator[None]:
        lock, users = self.locks.get(flow_id, (asyncio.Lock(), 0))
        self.locks[flow_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.locks[flow_id]
            if users == 1:
                del self.locks[flow_id]
            else:
                self.locks[flow_id] = (lock, users - 1)

"""A resolver with a fixed DNS answer: the seam the SSRF guard resolves names through, so tests
can make a name resolve to any address without asking real DNS (or connecting anywhere)."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult


class FixedDns(AbstractResolver):
    """``answers`` maps a host name to its addresses; other names do not exist. The answer can
    be changed between look-ups (DNS rebinding), and every look-up is recorded."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError(socket.EAI_NONAME, f"{host}: name not known")
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in self.answers[host]
        ]

    async def close(self) -> None:
        return None

"""Where customer webhooks may go: the SSRF guard of ``callback.url`` (docs/security.md).

A callback URL is a request the service makes on a client's behalf, from inside the operator's
network. By default it must be ``https``, carry no ``user:password@``, and reach public
addresses only: never loopback, private, link-local, multicast, reserved, unspecified or other
special-use ranges, IPv4 and IPv6 alike, nor IPv6 forms that embed such an IPv4 address
(``::ffff:127.0.0.1``, 6to4, Teredo, NAT64). IPv4 literals are read the way resolvers read them,
so ``0x7f000001``, ``2130706433``, ``0177.0.0.1`` and ``127.1`` are all 127.0.0.1.

The URL is checked twice:

- when the flow is sent (:meth:`CallbackGuard.check`, a clear 422): the URL, and every address
  its host name resolves to now;
- on every delivery attempt: the URL again, and each address the name resolves to *then*, by the
  resolver the webhook worker connects through (:class:`GuardedResolver`): the addresses it
  checks are the ones the connection is made to, so a name that turned private after the send
  (DNS rebinding) is refused before any connection.

Operators open exceptions with ``FOTP_WEBHOOK_ALLOWED_TARGETS`` (host names, and addresses or
CIDR ranges) and ``FOTP_WEBHOOK_ALLOW_HTTP``.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# How long the send-time check waits for DNS. A name that cannot be resolved in time (or at all)
# is let through: the delivery-time check, which guards every connection, decides then.
RESOLVE_TIMEOUT_SECONDS = 2.0

# The forms inet_aton accepts: one to four parts, each decimal, octal (leading 0) or hex (0x).
_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}", re.IGNORECASE)
# NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_DEFAULT_PORTS = {"https": 443, "http": 80}


class RefusedDestination(OSError):
    """A callback URL, or an address it resolves to, that webhooks may not reach.

    An ``OSError`` so that, raised by the resolver, aiohttp reports it as the attempt's
    connection error (no connection is made).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EACCES, reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form a resolver accepts (None: it is a name)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise RefusedDestination(f"{host!r} is not a valid address") from None
    return None


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def _special_use(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address (None: it is)."""
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not public", not ip.is_global),  # e.g. 100.64.0.0/10, shared address space
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    # The address the host spells, if it is a literal (then no resolver is asked).
    address: IPAddress | None
    # Named in FOTP_WEBHOOK_ALLOWED_TARGETS: its addresses are not checked.
    trusted_name: bool


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    allow_http: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, allowed_targets: str, *, allow_http: bool) -> EgressPolicy:
        """``allowed_targets``: comma separated host names, addresses and CIDR ranges."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in allowed_targets.split(","):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not re.fullmatch(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?", entry):
                raise ValueError(f"not a host name, address or CIDR range: {raw.strip()!r}")
            hosts.add(entry)
        return cls(allow_http, frozenset(hosts), tuple(networks))

    def check_url(self, url: str) -> Target:
        """Refuse a URL that is not https (or allowed http), carries credentials, or names an
        address webhooks may not reach. Names are checked by :meth:`check_address` once
        resolved."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise RefusedDestination(f"not a valid URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or (scheme == "http" and not self.allow_http):
            allowed = "https or http" if self.allow_http else "https"
            raise RefusedDestination(f"the scheme must be {allowed}, not {scheme or 'none'}")
        if "@" in parts.netloc:
            raise RefusedDestination("credentials (user:password@) are not allowed in the URL")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise RefusedDestination("the URL has no host")
        address = literal_address(host)
        if address is None and ":" in host:
            raise RefusedDestination(f"{host!r} is not a valid address")
        if address is not None:
            self.check_address(address, host=host)
        return Target(
            host=host,
            port=port or _DEFAULT_PORTS[scheme],
            address=address,
            trusted_name=host in self.allowed_hosts,
        )

    def check_address(self, address: str | IPAddress, *, host: str) -> None:
        """Refuse an address that is not public unicast, unless an allowed range holds it."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if any(a in net for net in self.allowed_networks for a in (ip, mapped) if a is not None):
            return
        # A mapped address is its IPv4 address; other IPv6 forms are judged with what they carry.
        forms = [mapped] if mapped is not None else [*_embedded_ipv4(ip), ip]
        for form in forms:
            why = _special_use(form)
            if why is not None:
                shown = host if host == str(ip) else f"{host} ({ip})"
                raise RefusedDestination(
                    f"{shown} is a {why} address; webhooks go to public addresses only "
                    "(FOTP_WEBHOOK_ALLOWED_TARGETS lists exceptions)"
                )


class CallbackGuard:
    """The policy, and the resolver names are checked with: the system's (getaddrinfo, made on
    first use, in the running loop) unless one is given (tests give a fixed DNS answer)."""

    def __init__(
        self,
        policy: EgressPolicy | None = None,
        resolver: AbstractResolver | None = None,
        *,
        resolve_timeout: float = RESOLVE_TIMEOUT_SECONDS,
    ) -> None:
        self.policy = policy or EgressPolicy()
        self._resolver = resolver
        self.resolve_timeout = resolve_timeout

    @property
    def resolver(self) -> AbstractResolver:
        if self._resolver is None:
            self._resolver = DefaultResolver()
        return self._resolver

    async def check(self, url: str) -> None:
        """The send-time check: raise :class:`RefusedDestination` for a URL webhooks may not
        reach, judged by the addresses its host name resolves to now."""
        target = self.policy.check_url(url)
        if target.address is not None or target.trusted_name:
            return
        try:
            async with asyncio.timeout(self.resolve_timeout):
                found = await self.resolver.resolve(target.host, target.port, socket.AF_UNSPEC)
        except (OSError, TimeoutError):
            return  # unknown now: every delivery attempt checks again before connecting
        for result in found:
            self.policy.check_address(result["host"], host=target.host)

    def connector_resolver(self) -> GuardedResolver:
        """The resolver the webhook worker connects through."""
        return GuardedResolver(self.policy, self.resolver)


class GuardedResolver(AbstractResolver):
    """Resolves like ``inner``, then refuses the whole answer if any address in it is one
    webhooks may not reach. aiohttp connects only to addresses its resolver returned, so this
    is a check of the address actually connected to."""

    def __init__(self, policy: EgressPolicy, inner: AbstractResolver) -> None:
        self.policy = policy
        self.inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        name = host.lower().rstrip(".")
        if name not in self.policy.allowed_hosts:
            for result in found:
                self.policy.check_address(result["host"], host=name)
        return found

    async def close(self) -> None:
        await self.inner.close()

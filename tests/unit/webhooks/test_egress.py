"""The SSRF guard of callback URLs (docs/security.md): what is refused, what is let through,
and that names are judged by the addresses they resolve to. Nothing here connects anywhere:
names resolve through a fixed DNS answer."""

from __future__ import annotations

import asyncio

import pytest
from tests.support.fixed_dns import FixedDns

from failover_otp.services.egress import CallbackGuard, EgressPolicy, RefusedDestination

STRICT = EgressPolicy()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.com/hook", "scheme must be https"),
        ("ftp://example.com/hook", "scheme must be https"),
        ("https://user:pass@example.com/hook", "credentials"),
        ("https://token@example.com/hook", "credentials"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://127.0.0.1:5432/", "loopback"),
        ("https://0x7f000001/", "loopback"),
        ("https://2130706433/", "loopback"),
        ("https://0177.0.0.1/", "loopback"),
        ("https://127.1/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://[::ffff:127.0.0.1]/", "loopback"),
        ("https://[::ffff:7f00:1]/", "loopback"),
        ("https://10.0.0.1/", "private"),
        ("https://172.16.5.4/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://[fd00::1]/", "private"),
        ("https://[::ffff:10.1.2.3]/", "private"),
        ("https://[2002:a00:1::]/", "private"),  # 6to4 carrying 10.0.0.1
        ("https://[64:ff9b::a00:1]/", "private"),  # NAT64 carrying 10.0.0.1
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://224.0.0.1/", "multicast"),
        ("https://[ff02::1]/", "multicast"),
        ("https://240.0.0.1/", "reserved"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://[::]/", "unspecified"),
        ("https://100.64.0.1/", "not public"),
        ("https://999999999999/", "not a valid address"),
        ("https:///nohost", "no host"),
    ],
)
def test_refused_urls(url: str, why: str) -> None:
    with pytest.raises(RefusedDestination, match=why):
        STRICT.check_url(url)


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "https://93.184.216.34:8443/x", "https://[2606:4700::1]/"]
)
def test_public_https_urls_pass(url: str) -> None:
    STRICT.check_url(url)


def test_the_allow_list_opens_named_hosts_and_ranges_only() -> None:
    policy = EgressPolicy.from_settings(
        " 127.0.0.0/8, ::1 ,hooks.bank.internal., 10.20.0.0/16", allow_http=True
    )
    policy.check_url("http://127.0.0.1:8080/hook")
    policy.check_url("http://0x7f000001:8080/hook")
    policy.check_url("http://[::1]/hook")
    policy.check_url("http://[::ffff:127.0.0.1]/hook")
    policy.check_url("http://10.20.3.4/hook")
    assert policy.check_url("http://HOOKS.bank.internal/x").trusted_name
    for refused in ("http://10.21.0.1/", "http://192.168.0.1/", "https://u:p@127.0.0.1/"):
        with pytest.raises(RefusedDestination):
            policy.check_url(refused)
    with pytest.raises(ValueError, match="not a host name"):
        EgressPolicy.from_settings("hooks/internal", allow_http=False)


def test_names_are_judged_by_what_they_resolve_to() -> None:
    dns = FixedDns(
        {
            "private.test": ["10.0.0.1"],
            "metadata.test": ["169.254.169.254"],
            "mixed.test": ["93.184.216.34", "127.0.0.1"],
            "v6.test": ["::ffff:192.168.0.1"],
            "public.test": ["93.184.216.34", "2606:4700::1"],
        }
    )
    guard = CallbackGuard(STRICT, dns)

    async def check(url: str) -> None:
        await guard.check(url)

    for url, why in (
        ("https://private.test/hook", "private.test \\(10.0.0.1\\) is a private"),
        ("https://metadata.test/", "link-local"),
        ("https://mixed.test/", "loopback"),  # one bad address is enough
        ("https://v6.test/", "private"),
    ):
        with pytest.raises(RefusedDestination, match=why):
            asyncio.run(check(url))
    asyncio.run(check("https://public.test/hook"))
    # A name that does not resolve now is left to the delivery-time check.
    asyncio.run(check("https://nxdomain.test/hook"))
    # Literals never ask DNS; allowed names are not looked up either.
    dns.asked.clear()
    with pytest.raises(RefusedDestination):
        asyncio.run(check("https://10.0.0.1/"))
    trusting = CallbackGuard(EgressPolicy.from_settings("private.test", allow_http=False), dns)
    asyncio.run(trusting.check("https://private.test/hook"))
    assert dns.asked == []


def test_the_connect_time_resolver_refuses_before_any_connection() -> None:
    """DNS rebinding: the name was public at send time and is private at delivery time. The
    resolver the worker connects through refuses the answer, so no address reaches connect."""
    dns = FixedDns({"rebind.test": ["93.184.216.34"]})
    guard = CallbackGuard(STRICT, dns)
    resolver = guard.connector_resolver()

    async def scenario() -> None:
        await guard.check("https://rebind.test/hook")  # public now: accepted at send time
        assert [r["host"] for r in await resolver.resolve("rebind.test", 443)] == ["93.184.216.34"]
        dns.answers["rebind.test"] = ["10.0.0.1"]
        with pytest.raises(RefusedDestination, match="private"):
            await resolver.resolve("rebind.test", 443)

    asyncio.run(scenario())

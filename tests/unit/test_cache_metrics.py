"""Every in-memory cache is bounded and shown in /metrics."""

from __future__ import annotations

from prometheus_client import generate_latest

from failover_otp.phones import normalize


def test_the_phone_caches_show_their_size_and_bound() -> None:
    normalize("+306912345671")
    text = generate_latest().decode()
    assert 'fotp_cache_max_entries{cache="phone_normalized"} 1024.0' in text
    prefix = 'fotp_cache_entries{cache="phone_normalized"}'
    line = next(x for x in text.splitlines() if x.startswith(prefix))
    assert float(line.split()[-1]) >= 1

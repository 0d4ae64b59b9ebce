"""Prometheus metrics of the flows and the provider, served at ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

FLOWS_STARTED = Counter("fotp_flows_started_total", "Flows accepted by the API", ["kind"])
FLOWS_ENDED = Counter("fotp_flows_ended_total", "Flows that reached a final status", ["status"])
FAILOVERS = Counter("fotp_failovers_total", "Failover steps opened", ["channel"])
PROVIDER_SENDS = Counter(
    "fotp_provider_sends_total", "Provider send results", ["channel", "result"]
)
PROVIDER_LATENCY = Histogram(
    "fotp_provider_send_seconds",
    "Time the provider took to answer a send",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOK_ATTEMPTS = Counter(
    "fotp_webhook_attempts_total",
    "Customer webhook attempts by result (delivered, retry, dead, gone)",
    ["result"],
)

# Read from the database at each scrape (deployment-wide, so every process reports the same).
DEADLINES_PENDING = Gauge(
    "fotp_deadlines_pending",
    "Flows waiting on a timer (a ttl, a failover wait, a send retry): the flows in progress",
)
DEADLINE_LAG = Gauge(
    "fotp_deadline_lag_seconds",
    "How long the most overdue deadline has been due (0: none is late); high means the "
    "workers fall behind or none runs",
)


def set_deadline_gauges(pending: int, earliest_due: datetime | None, now: datetime) -> None:
    DEADLINES_PENDING.set(pending)
    lag = (now - earliest_due).total_seconds() if earliest_due is not None else 0.0
    DEADLINE_LAG.set(max(0.0, lag))


# -- in-memory caches ---------------------------------------------------------------------------
# Every cache the service keeps in memory is bounded by a small count of entries and registers
# here, so /metrics shows how full each one is (fotp_cache_entries / fotp_cache_max_entries).
_CACHES: dict[str, tuple[Callable[[], int], int]] = {}


def register_cache(name: str, size: Callable[[], int], max_entries: int) -> None:
    """Show the cache ``name`` in /metrics: its ``size()`` at each scrape, and its bound."""
    _CACHES[name] = (size, max_entries)


class _CacheCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        entries = GaugeMetricFamily(
            "fotp_cache_entries", "Entries held by an in-memory cache", labels=["cache"]
        )
        bounds = GaugeMetricFamily(
            "fotp_cache_max_entries", "The most entries an in-memory cache holds", labels=["cache"]
        )
        for name, (size, max_entries) in sorted(_CACHES.items()):
            entries.add_metric([name], size())
            bounds.add_metric([name], max_entries)
        yield entries
        yield bounds


REGISTRY.register(_CacheCollector())

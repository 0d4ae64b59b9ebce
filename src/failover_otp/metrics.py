"""Prometheus metrics of the flows and the provider, served at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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

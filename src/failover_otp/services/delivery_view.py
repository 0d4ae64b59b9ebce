"""The delivery model as the API and the dashboard show it: one entry per key with history."""

from __future__ import annotations

from typing import Any

from failover_otp.domain.delivery_model import BIN_EDGES, MIN_SAMPLES, DeliveryModel, ModelKey


def model_entries(model: DeliveryModel, channel: str | None = None) -> list[dict[str, Any]]:
    """Per channel x country x operator (and the coarser channel x country and channel), the
    time-to-deliver curve up to where it is trusted and the share not delivered by then."""
    entries = []
    for key, histogram in model.histograms.items():
        if channel is not None and key.channel.value != channel:
            continue
        curve = histogram.curve()
        horizon = curve.trusted_until()
        points = [
            {"seconds": edge, "deliveredShare": round(share, 4)}
            for edge, share in zip(BIN_EDGES, curve.delivered_by, strict=True)
            if edge <= horizon
        ]
        delivered = curve.share_by(horizon) if horizon else None
        entries.append(
            {
                "channel": key.channel.value,
                "country": key.country,
                "operator": key.operator,
                "samples": histogram.samples,
                "trusted": histogram.samples >= MIN_SAMPLES,
                "trustedUntilSeconds": horizon or None,
                "deliveredShare": round(delivered, 4) if delivered is not None else None,
                "notDeliveredShare": round(1 - delivered, 4) if delivered is not None else None,
                "medianSeconds": _time_for_share(curve.time_for, delivered, 0.5),
                "p95Seconds": _time_for_share(curve.time_for, delivered, 0.95),
                "curve": points,
            }
        )
    return sorted(entries, key=_order)


def _time_for_share(time_for: Any, delivered: float | None, share: float) -> float | None:
    """When ``share`` of the messages delivered within the trusted horizon had arrived."""
    if not delivered:
        return None
    return round(float(time_for(share * delivered)), 2)


def _order(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry["channel"], entry["country"] or "", entry["operator"] or "")


def key_label(key: ModelKey) -> str:
    return " / ".join(p for p in (key.channel.value, key.country, key.operator) if p)

"""Issue 16, items 2-4: the words and values the two tracking documents allow.

OTP tracking words SMS statuses lower-case and Viber upper-case (the seed's example); nothing
shows the engine's own `SENDING`; `expiredOnDeliveryAt` is present only when a message expired
after delivery; ttl in minutes stays within the document's range; Voice shows what was reported.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from tests.unit.domain.factories import PHONE, flow_with, make_step, sms, viber, voice

from failover_otp.domain.flow import Flow, FlowKind, Step, StepPlan
from failover_otp.domain.records import FlowMeta
from failover_otp.domain.statuses import Channel, StepStatus
from failover_otp.services.story import flow_story, otp_status
from failover_otp.services.tracking import tracking, ttl_minutes

S = StepStatus
META = FlowMeta(request=[], phone=PHONE, label=None)


def _step(index: int, channel: Channel, status: StepStatus) -> Step:
    return make_step(index, status, channel=channel)


def _flow(plans: tuple[StepPlan, ...], *steps: Step, kind: FlowKind = FlowKind.OTP) -> Flow:
    return replace(flow_with(plans, *steps), kind=kind)


# --- casing (item 3) and no SENDING (item 2) -----------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "status", "shown"),
    [
        # The seed's example: `"status": "EXPIRED"` (Viber) and `"status": "queued"` (SMS).
        pytest.param(Channel.VIBER, S.EXPIRED, "EXPIRED", id="viber-expired"),
        pytest.param(Channel.SMS, S.QUEUED, "queued", id="sms-queued"),
        # The same rule for every SMS status.
        pytest.param(Channel.SMS, S.SENT, "sent", id="sms-sent"),
        pytest.param(Channel.SMS, S.DELIVERED, "delivered", id="sms-delivered"),
        pytest.param(Channel.SMS, S.UNDELIVERED, "undelivered", id="sms-undelivered"),
        pytest.param(Channel.SMS, S.FAILED, "failed", id="sms-failed"),
        pytest.param(Channel.SMS, S.UNSENT, "unsent", id="sms-unsent"),
        pytest.param(Channel.VIBER, S.DELIVERED, "DELIVERED", id="viber-delivered"),
        pytest.param(Channel.VIBER, S.SEEN, "SEEN", id="viber-seen"),
        # A send in flight is queued, in the channel's casing.
        pytest.param(Channel.SMS, S.SENDING, "queued", id="sms-sending"),
        pytest.param(Channel.VIBER, S.SENDING, "QUEUED", id="viber-sending"),
        pytest.param(Channel.VOICE, S.NO_ANSWER, "NoAnswer", id="voice-routee-wording"),
    ],
)
def test_otp_story_status_wording(channel: Channel, status: StepStatus, shown: str) -> None:
    assert otp_status(_step(0, channel, status)) == shown


def test_otp_story_of_the_seed_example() -> None:
    plans = (viber(), sms())
    expired = replace(_step(0, Channel.VIBER, S.EXPIRED), detailed_status="Expired")
    queued = _step(1, Channel.SMS, S.QUEUED)
    story = flow_story(_flow(plans, expired, queued), META, 1.0)
    assert [s["status"] for s in story["steps"]] == ["EXPIRED", "queued"]
    assert story["steps"][0]["detailed_status"] == "Expired"  # detailed statuses: title case


def test_nothing_shows_sending() -> None:
    plans = (viber(), sms())
    flow = _flow(plans, _step(0, Channel.VIBER, S.EXPIRED), _step(1, Channel.SMS, S.SENDING))
    story = flow_story(flow, META, 1.0)
    body = tracking(flow, META, 1.0)
    assert "sending" not in repr(story).lower()
    assert "sending" not in repr([m["status"]["name"] for m in body["messages"]]).lower()
    assert body["messages"][1]["status"]["name"] == "Queued"  # the standard document: title case


def test_standard_tracking_keeps_routees_casing() -> None:
    plans = (viber(), sms(), voice())
    flow = _flow(
        plans,
        _step(0, Channel.VIBER, S.UNDELIVERED),
        _step(1, Channel.SMS, S.UNDELIVERED),
        _step(2, Channel.VOICE, S.NO_ANSWER),
        kind=FlowKind.STANDARD,
    )
    names = [m["status"]["name"] for m in tracking(flow, META, 1.0)["messages"]]
    assert names == ["UNDELIVERED", "Undelivered", "NoAnswer"]


# --- expiredOnDeliveryAt, ttl, Voice (item 4) ---------------------------------------------------


def test_expired_on_delivery_at_only_when_it_happened() -> None:
    plans = (viber(30.0, expire_on_delivery=True),)
    delivered = _step(0, Channel.VIBER, S.DELIVERED)
    expired_at = datetime(2026, 2, 16, 12, 0, 30, tzinfo=UTC)
    expired = replace(delivered, status=S.EXPIRED, expired_on_delivery_at=expired_at)
    (still,) = tracking(_flow(plans, delivered), META, 1.0)["messages"]
    (after,) = tracking(_flow(plans, expired), META, 1.0)["messages"]
    assert "expiredOnDeliveryAt" not in still
    assert still["expireOnDelivery"] is True
    assert after["expiredOnDeliveryAt"] == "2026-02-16T12:00:30.000Z"


@pytest.mark.parametrize(
    ("channel", "seconds", "minutes"),
    [
        pytest.param(Channel.VIBER, 1.0, 0.5, id="viber-1s-at-the-minimum"),
        pytest.param(Channel.VIBER, 10.0, 0.5, id="viber-10s-at-the-minimum"),
        pytest.param(Channel.VIBER, 30.0, 0.5, id="viber-30s"),
        pytest.param(Channel.VIBER, 45.0, 0.8, id="viber-45s-one-decimal"),
        pytest.param(Channel.VIBER, 120.0, 2, id="viber-2min"),
        pytest.param(Channel.VIBER, 86_400.0, 1440, id="viber-max"),
        pytest.param(Channel.SMS, 1.0, 1, id="sms-1s-at-the-minimum"),
        pytest.param(Channel.SMS, 90.0, 2, id="sms-whole-minutes-half-up"),
        pytest.param(Channel.SMS, 300.0, 5, id="sms-5min"),
        pytest.param(Channel.SMS, 86_400.0, 1440, id="sms-max"),
    ],
)
def test_ttl_minutes_stay_in_the_documents_range(
    channel: Channel, seconds: float, minutes: float
) -> None:
    plan = viber(seconds) if channel is Channel.VIBER else sms(seconds)
    assert ttl_minutes(plan) == minutes


def test_voice_shows_what_the_provider_reported() -> None:
    plans = (voice(),)
    answered = replace(_step(0, Channel.VOICE, S.COMPLETED), answered_by="machine", call_seconds=14)
    (call,) = tracking(_flow(plans, answered, kind=FlowKind.STANDARD), META, 1.0)["messages"]
    assert (call["answeredBy"], call["duration"]) == ("machine", 14)
    ringing = _step(0, Channel.VOICE, S.QUEUED)
    (call,) = tracking(_flow(plans, ringing, kind=FlowKind.STANDARD), META, 1.0)["messages"]
    assert (call["answeredBy"], call["duration"]) == (None, None)
    busy = _step(0, Channel.VOICE, S.BUSY)
    (call,) = tracking(_flow(plans, busy, kind=FlowKind.STANDARD), META, 1.0)["messages"]
    assert (call["answeredBy"], call["duration"]) == (None, 0)

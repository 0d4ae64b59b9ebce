"""The webhook retry schedule, event ids and the body each flow kind sends."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import orjson
import pytest
from tests.unit.domain.factories import T0, flow_with, make_step, sms, viber

from failover_otp.domain.flow import FlowKind
from failover_otp.domain.records import FlowMeta, FlowRecord
from failover_otp.domain.statuses import StepStatus
from failover_otp.services.story import flow_story
from failover_otp.services.tracking import tracking
from failover_otp.services.webhooks import WebhookEvents, event_id, webhook_body
from failover_otp.worker.webhooks import RetryPolicy


def test_nominal_schedule_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=1.0, cap_seconds=600.0)
    delays = [policy.nominal_delay(n) for n in range(1, 13)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    assert policy.nominal_delay(10_000) == 600


def test_jitter_stays_within_twenty_percent() -> None:
    policy = RetryPolicy(base_seconds=1.0)
    rng = random.Random(7)
    for failures in range(1, 15):
        nominal = policy.nominal_delay(failures)
        for _ in range(50):
            assert 0.8 * nominal <= policy.delay(failures, rng) <= 1.2 * nominal


def test_gives_up_after_max_attempts_or_max_age() -> None:
    policy = RetryPolicy(max_attempts=5, max_age_seconds=3600)
    assert not policy.gives_up(4, T0, T0 + timedelta(seconds=10))
    assert policy.gives_up(5, T0, T0 + timedelta(seconds=10))
    assert policy.gives_up(1, T0, T0 + timedelta(seconds=3600))


def test_default_budget_spans_about_a_day() -> None:
    policy = RetryPolicy()
    total = sum(policy.nominal_delay(n) for n in range(1, policy.max_attempts))
    assert 23 * 3600 < total < 25 * 3600


def test_event_ids_are_stable_per_saved_version() -> None:
    assert event_id("flow-1", 3) == event_id("flow-1", 3)
    assert event_id("flow-1", 3) != event_id("flow-1", 4)
    assert event_id("flow-1", 3) != event_id("flow-2", 3)
    assert event_id("flow-1", 3).startswith("msg_")
    assert len(event_id("flow-1", 3)) <= 64


def _record(
    kind: FlowKind, strategy: str | None = None, url: str | None = "https://x/h"
) -> FlowRecord:
    flow = replace(
        flow_with((viber(), sms()), make_step(0, StepStatus.DELIVERED, price=0.0093)), kind=kind
    )
    meta = FlowMeta(
        request=[{"type": "ViberOtp"}, {"type": "Sms"}],
        phone=flow.plans[0].to,
        callback_url=url,
        callback_strategy=strategy,
    )
    return FlowRecord(flow, meta)


def test_otp_flows_send_the_story_and_standard_flows_the_tracking() -> None:
    otp = _record(FlowKind.OTP)
    assert webhook_body(otp, 1.0) == flow_story(otp.flow, otp.meta, 1.0)
    standard = _record(FlowKind.STANDARD, "OnChange")
    assert webhook_body(standard, 1.0) == tracking(standard.flow, standard.meta, 1.0)


def test_on_completion_waits_for_the_end() -> None:
    assert webhook_body(_record(FlowKind.STANDARD, "OnCompletion"), 1.0) is None


@pytest.mark.parametrize("url", [None, ""])
def test_no_callback_url_no_event(url: str | None) -> None:
    events = WebhookEvents(time_scale=1.0)
    assert events.for_change(_record(FlowKind.OTP, url=url), version=1, now=T0) == []


def test_an_event_carries_the_rendered_body_and_its_id() -> None:
    record = _record(FlowKind.OTP)
    [event] = WebhookEvents(time_scale=1.0).for_change(record, version=2, now=T0)
    assert event.event_id == event_id(record.flow.id, 2)
    assert event.url == "https://x/h"
    assert event.flow_id == record.flow.id
    assert event.application_id == record.flow.application_id
    assert event.created_at == T0
    assert orjson.loads(event.body) == flow_story(record.flow, record.meta, 1.0)

"""What a flow adds to the dashboard's daily rollups, and medians read off latency buckets."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from failover_otp.domain.flow import Flow, FlowKind, Role, Step, StepPlan
from failover_otp.domain.rollups import (
    LATENCY_BOUNDS_MS,
    bucket_ms,
    contribution,
    latency_bucket,
    median_ms,
)
from failover_otp.domain.statuses import DEFAULT_FAILOVER_ON, Channel, FlowStatus, StepStatus

CREATED = datetime(2026, 5, 10, 23, 59, 30, tzinfo=UTC)


def _flow(status: FlowStatus) -> Flow:
    viber = Step(
        index=0,
        tracking_id=str(uuid.uuid4()),
        role=Role.PRIMARY,
        channel=Channel.VIBER,
        to="306912345678",
        status=StepStatus.EXPIRED,
        created_at=CREATED,
        updated_at=CREATED,
        sent_at=CREATED,
        price=0.01,
        country="GR",
    )
    sms = replace(
        viber,
        index=1,
        tracking_id=str(uuid.uuid4()),
        role=Role.FAILOVER,
        channel=Channel.SMS,
        status=StepStatus.DELIVERED,
        created_at=CREATED + timedelta(minutes=1),  # the next UTC day
        sent_at=CREATED + timedelta(minutes=1),
        delivered_at=CREATED + timedelta(minutes=1, seconds=4),
        price=0.08,
        parts=2,
    )
    return Flow(
        id=str(uuid.uuid4()),
        application_id="app",
        kind=FlowKind.OTP,
        plans=(StepPlan(Channel.VIBER, "306912345678", 60.0, DEFAULT_FAILOVER_ON[Channel.VIBER]),),
        created_at=CREATED,
        updated_at=CREATED,
        status=status,
        steps=(viber, sms),
    )


def test_an_unfinished_flow_adds_nothing_a_finished_one_its_counters() -> None:
    assert contribution(_flow(FlowStatus.IN_PROGRESS), verified=True).empty
    rollup = contribution(_flow(FlowStatus.SUCCEEDED), verified=True)
    # The flow under its creation day and its last step's channel and country.
    assert rollup.flows == {("2026-05-10", "sms", "GR"): [1, 1, 1, 1, 0, 1, 0.09, 2]}
    # Each step under its own creation day.
    assert rollup.steps == {
        ("2026-05-10", "viber", "GR"): [1, 0, 1, 1, 0.01],
        ("2026-05-11", "sms", "GR"): [1, 1, 0, 1, 0.08],
    }
    assert rollup.latency == {("2026-05-11", "sms", "GR", latency_bucket(4000)): [1]}


def test_a_change_is_the_difference_and_no_change_is_empty() -> None:
    succeeded = contribution(_flow(FlowStatus.SUCCEEDED), verified=False)
    failed = contribution(_flow(FlowStatus.FAILED), verified=False)
    assert succeeded.minus(succeeded).empty
    change = failed.minus(succeeded)
    assert change.flows == {("2026-05-10", "sms", "GR"): [0, 0, 0, -1, 1, 0, 0, 0]}
    assert not change.steps
    assert not change.latency


@pytest.mark.parametrize("ms", [100, 1000, 2345, 60_000, 3_600_000, 80_000_000])
def test_a_bucket_stands_for_its_durations_within_its_growth(ms: int) -> None:
    assert bucket_ms(latency_bucket(ms)) == pytest.approx(ms, rel=0.035)
    assert latency_bucket(ms) < len(LATENCY_BOUNDS_MS)


def test_medians_of_odd_and_even_counts() -> None:
    assert median_ms({}) is None
    odd = {latency_bucket(ms): 1 for ms in (1000, 5000, 30_000)}
    assert median_ms(odd) == pytest.approx(5000, rel=0.035)
    even = {latency_bucket(1000): 1, latency_bucket(3000): 1}
    assert median_ms(even) == pytest.approx(2000, rel=0.035)
    heavy = {latency_bucket(1000): 3, latency_bucket(9000): 1}
    assert median_ms(heavy) == pytest.approx(1000, rel=0.035)


def test_the_sql_bucket_is_the_python_bucket() -> None:
    """store/rollup_sql.py's nested CASE against domain/rollups.py's bisect, in SQLite."""
    import sqlite3

    from sqlalchemy import literal_column

    from failover_otp.store.rollup_sql import _bucket

    compiled = str(_bucket(literal_column(":ms")).compile(compile_kwargs={"literal_binds": True}))
    with sqlite3.connect(":memory:") as conn:
        for ms in [0, *(b + d for b in LATENCY_BOUNDS_MS for d in (-1, 0, 1)), 10**9]:
            assert conn.execute(f"SELECT {compiled}", {"ms": ms}).fetchone()[0] == latency_bucket(
                ms
            )

"""The send path's guards: counters, a send's admission and the spend cap, codes, Idempotency-Key
records, refusal counts and the delivery model's history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tests.support.stored_records import T0, an_application

from failover_otp.domain.code_records import CodeRow, failure_key
from failover_otp.domain.delivery_model import ModelKey, Observation
from failover_otp.domain.idempotency_keys import DONE, IN_PROGRESS, KeyRecord
from failover_otp.domain.limits import Window
from failover_otp.domain.spend import Reservation, SpendDay, day_of
from failover_otp.domain.statuses import Channel
from failover_otp.services.storage import Storage

pytestmark = pytest.mark.asyncio(loop_scope="session")
# 09:00:00 UTC: the hour's and the day's windows have a long way to go.
NOW = T0
TEN_MIN = Window("number_per_10min", "n:app-1:1", 600, 2)
DAILY = Window("number_per_day", "n:app-1:1", 86_400, 3)


async def test_windows_count_all_or_nothing(storage: Storage) -> None:
    counters = storage.counters
    assert await counters.take([TEN_MIN, DAILY], NOW) is None
    assert await counters.take([TEN_MIN, DAILY], NOW) is None
    over = await counters.take([TEN_MIN, DAILY], NOW)
    assert over is not None
    assert over.window == TEN_MIN
    assert over.count == 3
    assert over.retry_after == 600  # 09:00:00 starts a window
    # Refused: neither window counted the third event.
    assert await counters.current("n:app-1:1", 600, NOW) == 2
    assert await counters.current("n:app-1:1", 86_400, NOW) == 2
    # The next ten minutes are a new window; the day's holds one more.
    later = NOW + timedelta(minutes=10)
    assert await counters.take([TEN_MIN, DAILY], later) is None
    over = await counters.take([TEN_MIN, DAILY], later)
    assert over is not None
    assert over.window == DAILY
    assert await counters.add("other", 60, NOW) == 1
    assert await counters.add("other", 60, NOW) == 2


async def test_concurrent_increments_are_atomic(storage: Storage) -> None:
    window = Window("t", "t:1", 3600, 1000)
    await asyncio.gather(*(storage.counters.take([window], NOW) for _ in range(60)))
    assert await storage.counters.current("t:1", 3600, NOW) == 60


async def test_old_windows_are_purged(storage: Storage) -> None:
    await storage.counters.take([TEN_MIN], NOW)
    assert await storage.counters.purge(NOW) == 0
    assert await storage.counters.purge(NOW + timedelta(minutes=10, hours=1, seconds=1)) == 1
    assert await storage.counters.current("n:app-1:1", 600, NOW) == 0


async def test_an_admission_takes_its_windows_and_reservation_together(storage: Storage) -> None:
    day = day_of(NOW)
    first = Reservation("flow-1", "app-1", day, 600)
    assert await storage.admissions.take([DAILY], first, 1000, NOW) == (None, SpendDay(600, 0))
    # The same flow again (a retried request) is admitted on its reservation.
    assert await storage.admissions.take([DAILY], first, 1000, NOW) == (None, SpendDay(600, 0))
    # Over the cap: refused, and its window goes back with it.
    second = Reservation("flow-2", "app-1", day, 600)
    assert await storage.admissions.take([DAILY], second, 1000, NOW) == (None, None)
    assert await storage.counters.current("n:app-1:1", 86_400, NOW) == 2
    assert await storage.spend.today("app-1", NOW) == SpendDay(600, 0)
    # A window over its limit: nothing reserved.
    over, reserved = await storage.admissions.take([DAILY, DAILY], second, 10_000, NOW)
    assert over is not None
    assert reserved is None
    assert await storage.spend.today("app-1", NOW) == SpendDay(600, 0)
    assert await storage.admissions.take([], None, 0, NOW) == (None, None)


async def test_a_reservation_whose_flow_never_came_is_released(storage: Storage) -> None:
    orphan = Reservation("never-created", "app-1", day_of(NOW), 250)
    assert await storage.admissions.take([], orphan, 1000, NOW) == (None, SpendDay(250, 0))
    assert await storage.spend.purge(NOW + timedelta(minutes=30)) == 0
    assert await storage.spend.purge(NOW + timedelta(hours=2)) == 1
    assert await storage.spend.today("app-1", NOW) == SpendDay(0, 0)


def code(flow_id: str = "flow-1", *, attempts: int = 0, max_attempts: int = 3) -> CodeRow:
    return CodeRow(
        flow_id, "app-1", "306912345671", "hmac", "cipher", NOW, NOW + timedelta(minutes=10),
        attempts, max_attempts,
    )  # fmt: skip


async def test_a_codes_attempts_are_taken_one_at_a_time_until_none_is_left(
    storage: Storage,
) -> None:
    await storage.codes.put(code(max_attempts=2))
    assert await storage.codes.get("flow-1") == code(max_attempts=2)
    assert await storage.codes.take_attempt("flow-1", "app-2", NOW) == (
        code(max_attempts=2),
        False,
    )
    row, taken = await storage.codes.take_attempt("flow-1", "app-1", NOW)
    assert taken
    assert row == code(max_attempts=2)
    assert (await storage.codes.take_attempt("flow-1", "app-1", NOW))[1]
    row, taken = await storage.codes.take_attempt("flow-1", "app-1", NOW)
    assert not taken
    assert row is not None
    assert row.attempts == 2
    assert await storage.codes.take_attempt("nope", "app-1", NOW) == (None, False)
    # Expired: no attempt.
    await storage.codes.put(code("flow-2"))
    assert not (await storage.codes.take_attempt("flow-2", "app-1", NOW + timedelta(hours=1)))[1]


async def test_a_code_is_spent_once_and_gives_its_failure_slot_back(storage: Storage) -> None:
    await an_application(storage)
    await storage.codes.put(code())
    slot = failure_key("app-1", "306912345671")
    _, taken = await storage.codes.take_attempt("flow-1", "app-1", NOW, failure_budget=1)
    assert taken
    assert await storage.counters.current(slot, 86_400, NOW) == 1
    # The number's failure budget (1 a day) is used up: a second attempt is not taken.
    await storage.codes.put(code("flow-2"))
    assert not (await storage.codes.take_attempt("flow-2", "app-1", NOW, failure_budget=1))[1]
    assert (await storage.codes.get("flow-2")) == code("flow-2")
    results = await asyncio.gather(
        *(storage.codes.mark_used("flow-1", NOW, give_back=slot) for _ in range(5))
    )
    assert sorted(results) == [False] * 4 + [True]
    used = await storage.codes.get("flow-1")
    assert used is not None
    assert used.used_at == NOW
    assert used.code_cipher is None
    assert await storage.counters.current(slot, 86_400, NOW) == 0
    assert not (await storage.codes.take_attempt("flow-1", "app-1", NOW))[1]
    assert await storage.codes.purge(NOW + timedelta(days=1)) == 0
    assert await storage.codes.purge(NOW + timedelta(days=2)) == 2


def key_record(
    *, key: str = "k1", lease: int = 30, expires: int = 3600, fingerprint: str = "f"
) -> KeyRecord:
    return KeyRecord(
        "app-1", key, "/otp/send-failover", fingerprint, IN_PROGRESS, "flow-1", None, None, NOW,
        NOW + timedelta(seconds=lease), NOW + timedelta(seconds=expires),
    )  # fmt: skip


async def test_an_idempotency_key_is_claimed_once_and_completed(storage: Storage) -> None:
    keys = storage.idempotency
    assert await keys.claim(key_record(), NOW) is None
    held = await keys.claim(key_record(fingerprint="other"), NOW)
    assert held == key_record()
    # A runner that stopped renewing is taken over once (compare-and-set on the lease).
    assert await keys.take_over(held, NOW + timedelta(seconds=60))
    assert not await keys.take_over(held, NOW + timedelta(seconds=90))
    await keys.complete("app-1", "k1", 202, '{"ok":true}')
    done = await keys.claim(key_record(), NOW)
    assert done is not None
    assert (done.state, done.response_status, done.response_body) == (DONE, 202, '{"ok":true}')
    # A completed key is not released; an expired one is replaced by a new claim.
    await keys.release("app-1", "k1", forget=True, now=NOW)
    assert await keys.claim(key_record(), NOW) is not None
    assert await keys.claim(key_record(), NOW + timedelta(hours=2)) is None
    # That claim (made at NOW) ran out after an hour.
    assert await keys.purge(NOW + timedelta(minutes=30)) == 0
    assert await keys.purge(NOW + timedelta(hours=2)) == 1


async def test_a_failed_request_releases_or_forgets_its_key(storage: Storage) -> None:
    keys = storage.idempotency
    assert await keys.claim(key_record(key="a"), NOW) is None
    await keys.release("app-1", "a", forget=False, now=NOW)
    held = await keys.claim(key_record(key="a"), NOW)
    assert held is not None
    assert held.lease_until == NOW
    await keys.release("app-1", "a", forget=True, now=NOW)
    assert await keys.claim(key_record(key="a"), NOW) is None


async def test_refusals_are_counted_per_reason_over_days(storage: Storage) -> None:
    for reason, at in [
        ("rate_limited:number_per_day", NOW),
        ("rate_limited:number_per_day", NOW + timedelta(days=1)),
        ("spend_cap_reached", NOW + timedelta(minutes=5)),
        ("country_not_allowed", NOW - timedelta(days=3)),
    ]:
        await storage.refusals.record("app-1", reason, at)
    await storage.refusals.record("app-2", "spend_cap_reached", NOW)
    counts = await storage.refusals.counts("app-1", NOW, NOW + timedelta(days=1))
    assert [(c.reason, c.count, c.last_at) for c in counts] == [
        ("rate_limited:number_per_day", 2, NOW + timedelta(days=1)),
        ("spend_cap_reached", 1, NOW + timedelta(minutes=5)),
    ]


async def test_delivery_observations_sum_over_the_window(storage: Storage) -> None:
    viber = ModelKey(Channel.VIBER, "GR", None)
    sms = ModelKey(Channel.SMS, None, None)
    await storage.deliveries.record(
        [
            Observation(viber, 2, True, NOW),
            Observation(viber, 2, True, NOW + timedelta(hours=1)),
            Observation(viber, 5, False, NOW),
            Observation(sms, 1, True, NOW - timedelta(hours=5)),
        ]
    )
    counts = await storage.deliveries.counts(NOW)
    assert sorted(counts, key=lambda c: c[1]) == [(viber, 2, 2, 0), (viber, 5, 0, 1)]
    assert len(await storage.deliveries.counts(NOW - timedelta(hours=6))) == 3

"""In-memory twins of the send path's guards: codes, counters, a send's admission, the spend
cap, Idempotency-Key records, refusal counts and the delivery model's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from failover_otp.domain.code_records import CodeRow, failure_key
from failover_otp.domain.delivery_model import ModelKey, Observation, hour_of
from failover_otp.domain.idempotency_keys import DONE, IN_PROGRESS, KeyRecord
from failover_otp.domain.limits import Exceeded, Window, exceeded_by, window_start
from failover_otp.domain.refusals import RefusalCount
from failover_otp.domain.refusals import day_of as refusal_day
from failover_otp.domain.spend import Reservation, SpendDay, day_of
from failover_otp.domain.statuses import Channel
from failover_otp.store.memory_state import (
    MemoryState,
    ReservationRow,
    give_back_slot,
    increment,
    stored_key,
    take_slot,
)

_DAY = 86_400
# As store/spend_store.py: an orphan reservation's age, and how long settled rows are kept.
ORPHAN_AFTER = timedelta(hours=1)
KEEP = timedelta(days=3)


class MemoryCodes:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def put(self, row: CodeRow) -> None:
        self.state.codes[row.flow_id] = row

    async def get(self, flow_id: str) -> CodeRow | None:
        return self.state.codes.get(flow_id)

    async def take_attempt(
        self, flow_id: str, application_id: str, now: datetime, *, failure_budget: int = 0
    ) -> tuple[CodeRow | None, bool]:
        row = self.state.codes.get(flow_id)
        if row is None or row.application_id != application_id:
            return row, False
        if row.used_at is not None or row.expires_at <= now or row.attempts >= row.max_attempts:
            return row, False
        key = failure_key(application_id, row.phone)
        if failure_budget and not take_slot(self.state, key, _DAY, now, failure_budget):
            return row, False
        self.state.codes[flow_id] = replace(row, attempts=row.attempts + 1)
        return row, True

    async def mark_used(self, flow_id: str, now: datetime, *, give_back: str | None) -> bool:
        row = self.state.codes.get(flow_id)
        used = row is not None and row.used_at is None
        if row is not None and used:
            self.state.codes[flow_id] = replace(row, used_at=now, code_cipher=None)
            stored = self.state.flows.get(flow_id)
            if stored is not None:
                stored.verified_at = now
        if give_back is not None:
            give_back_slot(self.state, give_back, _DAY, now)
        return used

    async def purge(self, now: datetime, *, keep: timedelta = timedelta(days=1)) -> int:
        old = [k for k, r in self.state.codes.items() if r.expires_at < now - keep]
        for k in old:
            del self.state.codes[k]
        return len(old)


class MemoryCounters:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def take(self, windows: Sequence[Window], now: datetime) -> Exceeded | None:
        return take_windows(self.state, windows, now)

    async def add(self, key: str, seconds: int, now: datetime) -> int:
        return increment(self.state, key, seconds, now)

    async def current(self, key: str, seconds: int, now: datetime) -> int:
        row = self.state.counters.get((stored_key(key, seconds), window_start(now, seconds)))
        return row.count if row else 0

    async def purge(self, now: datetime, *, grace: timedelta = timedelta(hours=1)) -> int:
        old = [k for k, r in self.state.counters.items() if r.expires_at < now - grace]
        for k in old:
            del self.state.counters[k]
        return len(old)


def take_windows(state: MemoryState, windows: Sequence[Window], now: datetime) -> Exceeded | None:
    """``counter_store.take_windows`` and its rollback: one event in every window, or (one went
    over) none, and the window that frees up last."""
    before = {
        k: (row.count if row else None)
        for w in windows
        for k in [(stored_key(w.key, w.seconds), window_start(now, w.seconds))]
        for row in [state.counters.get(k)]
    }
    over = [
        e
        for w in windows
        if (e := exceeded_by(w, increment(state, w.key, w.seconds, now), now)) is not None
    ]
    if not over:
        return None
    for k, count in before.items():
        if count is None:
            del state.counters[k]
        else:
            state.counters[k].count = count
    return max(over, key=lambda e: e.retry_after)


def _count(state: MemoryState, window: Window, now: datetime) -> int:
    row = state.counters.get(
        (stored_key(window.key, window.seconds), window_start(now, window.seconds))
    )
    return row.count if row else 0


class MemoryAdmissions:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def take(
        self, windows: Sequence[Window], reservation: Reservation | None, cap: int, now: datetime
    ) -> tuple[Exceeded | None, SpendDay | None]:
        if not windows and reservation is None:
            return None, None
        exceeded = take_windows(self.state, windows, now)
        if exceeded is not None:
            return exceeded, None
        day = self._reserve(reservation, cap, now) if reservation is not None else None
        if reservation is not None and day is None:
            # The windows go back with the refused reservation (one transaction in SQL).
            for w in windows:
                give_back_slot(self.state, w.key, w.seconds, now)
        return None, day

    def _reserve(self, reservation: Reservation, cap: int, now: datetime) -> SpendDay | None:
        """``spend_store.reserve``: within the cap, once per flow."""
        if reservation.amount > cap:
            return None
        key = (reservation.application_id, reservation.day)
        if reservation.flow_id in self.state.reservations:
            reserved, spent = self.state.spend_days.get(key, [0, 0])
            return SpendDay(reserved, spent)
        reserved, spent = self.state.spend_days.get(key, [0, 0])
        if reserved + spent + reservation.amount > cap:
            return None
        self.state.spend_days[key] = [reserved + reservation.amount, spent]
        self.state.reservations[reservation.flow_id] = ReservationRow(
            reservation.application_id, reservation.day, reservation.amount, now
        )
        return SpendDay(reserved + reservation.amount, spent)


class MemorySpend:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def today(self, application_id: str, now: datetime) -> SpendDay:
        reserved, spent = self.state.spend_days.get((application_id, day_of(now)), [0, 0])
        return SpendDay(reserved, spent)

    async def purge(self, now: datetime) -> int:
        orphans = [
            flow_id
            for flow_id, r in self.state.reservations.items()
            if r.charged is None
            and r.created_at < now - ORPHAN_AFTER
            and flow_id not in self.state.flows
        ]
        for flow_id in orphans:
            r = self.state.reservations.pop(flow_id)
            day = self.state.spend_days.get((r.application_id, r.day))
            if day is not None:
                day[0] -= r.amount
        old = now - KEEP
        for flow_id, r in list(self.state.reservations.items()):
            if r.charged is not None and r.created_at < old:
                del self.state.reservations[flow_id]
        for key in [k for k in self.state.spend_days if k[1] < day_of(old)]:
            del self.state.spend_days[key]
        return len(orphans)


class MemoryIdempotencyKeys:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def claim(self, record: KeyRecord, now: datetime) -> KeyRecord | None:
        key = (record.application_id, record.key)
        held = self.state.idempotency.get(key)
        if held is not None and held.expires_at > now:
            return held
        self.state.idempotency[key] = replace(record, response_status=None, response_body=None)
        return None

    async def take_over(self, held: KeyRecord, lease_until: datetime) -> bool:
        key = (held.application_id, held.key)
        now_held = self.state.idempotency.get(key)
        if (
            now_held is None
            or now_held.state != IN_PROGRESS
            or now_held.lease_until != held.lease_until
        ):
            return False
        self.state.idempotency[key] = replace(now_held, lease_until=lease_until)
        return True

    async def complete(self, application_id: str, key: str, status: int, body: str) -> None:
        held = self.state.idempotency.get((application_id, key))
        if held is not None:
            self.state.idempotency[(application_id, key)] = replace(
                held, state=DONE, response_status=status, response_body=body
            )

    async def release(self, application_id: str, key: str, *, forget: bool, now: datetime) -> None:
        held = self.state.idempotency.get((application_id, key))
        if held is None or held.state != IN_PROGRESS:
            return
        if forget:
            del self.state.idempotency[(application_id, key)]
        else:
            self.state.idempotency[(application_id, key)] = replace(held, lease_until=now)

    async def purge(self, now: datetime) -> int:
        old = [k for k, r in self.state.idempotency.items() if r.expires_at <= now]
        for k in old:
            del self.state.idempotency[k]
        return len(old)


class MemoryRefusals:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def record(self, application_id: str, reason: str, now: datetime) -> None:
        key = (application_id, refusal_day(now), reason[:64])
        count, _ = self.state.refusals.get(key, (0, now))
        self.state.refusals[key] = (count + 1, now)

    async def counts(
        self, application_id: str, since: datetime, until: datetime
    ) -> list[RefusalCount]:
        first, last = refusal_day(since), refusal_day(until)
        totals: dict[str, RefusalCount] = {}
        for (app, day, reason), (count, last_at) in self.state.refusals.items():
            if app != application_id or not first <= day <= last:
                continue
            seen = totals.get(reason)
            if seen is not None:
                count, last_at = seen.count + count, max(seen.last_at, last_at)
            totals[reason] = RefusalCount(reason, count, last_at)
        return sorted(totals.values(), key=lambda r: (-r.count, r.reason))


class MemoryDeliveries:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def record(self, observations: list[Observation]) -> None:
        for o in observations:
            key = (o.key.channel.value, o.key.country or "", o.key.operator or "")
            row = self.state.histograms.setdefault((*key, hour_of(o.at), o.bin), [0, 0])
            row[0 if o.delivered else 1] += 1

    async def counts(self, since: datetime) -> list[tuple[ModelKey, int, int, int]]:
        sums: dict[tuple[str, str, str, int], list[int]] = {}
        for (channel, country, operator, hour, bin_), (d, c) in self.state.histograms.items():
            if hour >= hour_of(since):
                total = sums.setdefault((channel, country, operator, bin_), [0, 0])
                total[0] += d
                total[1] += c
        return [
            (ModelKey(Channel(ch), co or None, op or None), b, d, c)
            for (ch, co, op, b), (d, c) in sums.items()
        ]

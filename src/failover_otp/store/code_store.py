"""Managed codes: keyed hashes, the encrypted code for sends still to come, verification state.

Every change of verification state is one conditional ``UPDATE`` whose row count says whether it
happened, so concurrent verifications can neither reuse a code nor exceed the attempt limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from failover_otp.domain.aggregate import is_settled
from failover_otp.domain.code_records import CodeRow, failure_key
from failover_otp.domain.code_text import redact_request
from failover_otp.domain.flow import Flow, FlowKind
from failover_otp.store.counter_store import give_back_slot, take_slot
from failover_otp.store.database import Database
from failover_otp.store.dialect import Dialect, dialect_named
from failover_otp.store.rollup_store import count_verified
from failover_otp.store.tables import flows, otp_codes

_DAY = 86_400


def _build_put(dialect: Dialect) -> Any:
    stmt = dialect.insert(otp_codes)
    replace = {c.name: stmt.excluded[c.name] for c in otp_codes.c if c.name != "flow_id"}
    return stmt.on_conflict_do_update(index_elements=[otp_codes.c.flow_id], set_=replace)


def _put_statement(dialect_name: str) -> Any:
    # One upsert per dialect, built once and run through the driver (store/driver_sql.py): a
    # send stores its code before anything else (docs/benchmarks.md).
    return dialect_named(dialect_name).once("otp_codes.put", _build_put)


class CodeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, row: CodeRow) -> None:
        """Store a flow's code, in one statement. A row left by an attempt that died before its
        flow was created is replaced: no message ever carried that code."""
        values = {
            "flow_id": row.flow_id,
            "application_id": row.application_id,
            "phone": row.phone,
            "code_hmac": row.code_hmac,
            "code_cipher": row.code_cipher,
            "created_at": row.created_at,
            "expires_at": row.expires_at,
            "attempts": row.attempts,
            "max_attempts": row.max_attempts,
            "used_at": row.used_at,
        }
        async with self.db.driver_write(one_statement=True) as driver:
            statement = _put_statement(driver.dialect.name)
            await driver.execute(statement, values, columns=tuple(values))

    async def get(self, flow_id: str) -> CodeRow | None:
        async with self.db.read() as conn:
            row = (
                (await conn.execute(select(otp_codes).where(otp_codes.c.flow_id == flow_id)))
                .mappings()
                .first()
            )
        return CodeRow(**row) if row else None

    async def take_attempt(
        self, flow_id: str, application_id: str, now: datetime, *, failure_budget: int = 0
    ) -> tuple[CodeRow | None, bool]:
        """Take one of the flow's attempts, if the flow is the application's, its code unused,
        unexpired, with an attempt left, and (``failure_budget`` > 0) the application has had
        fewer than that many wrong codes for the number today.

        The attempt is taken *as a failure*: the number's failure slot is taken with it, in the
        same transaction, before anyone compares; a right code gives it back
        (:meth:`mark_used`). So concurrent wrong codes can never be evaluated more often than
        the budget, on either backend. One write transaction: (the row as it was, whether an
        attempt was taken).
        """
        query = select(otp_codes).where(otp_codes.c.flow_id == flow_id)
        async with self.db.write() as conn:
            found = (await conn.execute(query)).mappings().first()
            if found is None:
                return None, False
            row = CodeRow(**found)
            if row.application_id != application_id:
                return row, False
            # The code's row first, then the number's counter: one lock order everywhere.
            result = await conn.execute(
                update(otp_codes)
                .where(
                    otp_codes.c.flow_id == flow_id,
                    otp_codes.c.used_at.is_(None),
                    otp_codes.c.expires_at > now,
                    otp_codes.c.attempts < otp_codes.c.max_attempts,
                )
                .values(attempts=otp_codes.c.attempts + 1)
            )
            if result.rowcount != 1:
                latest = (await conn.execute(query)).mappings().first()
                return (CodeRow(**latest) if latest else row), False
            key = failure_key(application_id, row.phone)
            if failure_budget and not await take_slot(conn, key, _DAY, now, failure_budget):
                await conn.rollback()  # the attempt goes back too: nothing was evaluated
                return row, False
        return row, True

    async def mark_used(self, flow_id: str, now: datetime, *, give_back: str | None) -> bool:
        """Spend the code: true for exactly one caller, ever. The encrypted copy goes with it,
        and the flow keeps when it was verified (the dashboard's conversion outlives this row).

        ``give_back``: the failure counter whose slot the attempt took (:meth:`take_attempt`);
        a right code is no failure, so the slot goes back in the same transaction.
        """
        async with self.db.write() as conn:
            # The flow's row first, as a save of the flow takes it (flow, then its code in
            # scrub_ended): the other order deadlocks with a save that ends the flow meanwhile.
            # (SQLite serialises writers and has no FOR UPDATE: SQLAlchemy leaves it out.)
            await conn.execute(select(flows.c.id).where(flows.c.id == flow_id).with_for_update())
            result = await conn.execute(
                update(otp_codes)
                .where(otp_codes.c.flow_id == flow_id, otp_codes.c.used_at.is_(None))
                .values(used_at=now, code_cipher=None)
            )
            if result.rowcount == 1:
                await conn.execute(
                    update(flows).where(flows.c.id == flow_id).values(verified_at=now)
                )
                await count_verified(conn, flow_id)
            if give_back is not None:
                await give_back_slot(conn, give_back, _DAY, now)
        return bool(result.rowcount == 1)

    async def purge(self, now: datetime, *, keep: timedelta = timedelta(days=1)) -> int:
        """Forget codes that expired more than ``keep`` ago."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(otp_codes).where(otp_codes.c.expires_at < now - keep)
            )
        return int(result.rowcount)


async def scrub_ended(
    conn: AsyncConnection, old: Flow, new: Flow, request: list[dict[str, Any]]
) -> None:
    """When an OTP flow settles (in the transaction that saves it): nothing is left to send, so
    the encrypted code is dropped and the stored echo loses anything that could be a code.

    A flow that succeeded on an SMS ``Sent`` alone keeps its code until the final report: an
    ``Undelivered`` then may still send the next channel (issue 16).
    """
    if new.kind is not FlowKind.OTP or is_settled(old) or not is_settled(new):
        return
    await conn.execute(
        update(otp_codes).where(otp_codes.c.flow_id == new.id).values(code_cipher=None)
    )
    redacted = redact_request(request)
    if redacted != request:
        await conn.execute(update(flows).where(flows.c.id == new.id).values(request=redacted))


__all__ = ["CodeRow", "CodeStore", "failure_key", "scrub_ended"]

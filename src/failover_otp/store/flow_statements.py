"""The flows store's write statements, built once per process (per shape, for the one-statement
writes of PostgreSQL): values travel as parameters, so SQLAlchemy neither rebuilds nor re-keys a
statement per call. ``store/flow_store.py`` runs them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from failover_otp.domain.flow import Flow
from failover_otp.domain.records import FlowMeta
from failover_otp.store.dialect import POSTGRESQL, Dialect, dialect_named
from failover_otp.store.driver_sql import DriverConnection
from failover_otp.store.rows import step_values
from failover_otp.store.tables import deadlines, flows, steps

# The hot statements, built once: values travel as parameters, so SQLAlchemy neither rebuilds
# nor re-keys a statement per call (building one cost more than running it on SQLite).
INSERT_FLOW = insert(flows)
UPDATE_FLOW = update(flows).where(
    flows.c.id == bindparam("b_id"), flows.c.version == bindparam("b_version")
)
INSERT_STEP = insert(steps)
UPDATE_STEP = update(steps).where(
    steps.c.flow_id == bindparam("b_flow_id"), steps.c.idx == bindparam("b_idx")
)
INSERT_DEADLINE = insert(deadlines)
DELETE_DEADLINE = delete(deadlines).where(deadlines.c.flow_id == bindparam("b_flow_id"))


def _replacing_deadline(stmt: Any) -> Any:
    """``stmt`` (a dialect's deadline insert) replacing the flow's deadline: a new deadline is
    due afresh, unclaimed."""
    return stmt.on_conflict_do_update(
        index_elements=[deadlines.c.flow_id],
        set_={
            "due_at": stmt.excluded.due_at,
            "kind": stmt.excluded.kind,
            "step_index": stmt.excluded.step_index,
            "claimed_by": None,
            "lease_until": None,
        },
    )


def _build_upsert_deadline(dialect: Dialect) -> Any:
    return _replacing_deadline(dialect.insert(deadlines))


def upsert_deadline(conn: AsyncConnection | DriverConnection) -> Any:
    return dialect_named(conn.dialect.name).once("deadlines.upsert", _build_upsert_deadline)


async def write_steps(
    driver: DriverConnection, old: Flow | None, new: Flow, meta: FlowMeta
) -> None:
    """The steps of ``new`` that ``old`` did not have, or had otherwise, through the driver."""
    before = {s.index: s for s in old.steps} if old else {}
    for step in new.steps:
        previous = before.get(step.index)
        if previous == step:
            continue
        values = step_values(new, step, meta.step_label(step.index))
        if previous is None:
            await driver.execute(INSERT_STEP, values, columns=tuple(values))
        else:
            keyed = {"b_flow_id": new.id, "b_idx": step.index, **values}
            await driver.execute(UPDATE_STEP, keyed, columns=tuple(keyed))


async def write_deadline(driver: DriverConnection, old: Flow | None, new: Flow) -> None:
    """``new``'s deadline in place of ``old``'s, through the driver."""
    if old is not None and old.deadline == new.deadline:
        return
    if new.deadline is None:
        if old is not None and old.deadline is not None:
            await driver.execute(DELETE_DEADLINE, {"b_flow_id": new.id})
        return
    values = {
        "flow_id": new.id,
        "due_at": new.deadline.due_at,
        "kind": new.deadline.kind.value,
        "step_index": new.deadline.step_index,
    }
    statement = INSERT_DEADLINE if old is None else upsert_deadline(driver)
    await driver.execute(statement, values, columns=tuple(values))


# Where the dialect has ``one_statement_writes`` (PostgreSQL): a save as one statement (see
# FlowStore._save_in_one), by shape.
SaveShape = tuple[tuple[str, ...], tuple[str, ...], int, int, str]
_PG_SAVES: dict[SaveShape, Select[Any]] = {}


def _add_step_inserts(
    statement: Select[Any], source: Any, step_columns: tuple[str, ...], count: int
) -> Select[Any]:
    """``count`` step rows (parameters ``n<i>_<column>``) inserted as CTEs, each selected from
    ``source`` (a CTE that is empty when the flow was not written)."""
    for i in range(count):
        row = select(
            *(bindparam(f"n{i}_{c}", type_=steps.c[c].type) for c in step_columns)
        ).select_from(source)
        statement = statement.add_cte(
            insert(steps).from_select(list(step_columns), row).cte(f"n{i}")
        )
    return statement


def _deadline_row(source: Any) -> Select[Any]:
    """The deadline (parameters ``d_<column>``) of the flow in ``source``."""
    return select(
        source.c.id,
        bindparam("d_due_at", type_=deadlines.c.due_at.type),
        bindparam("d_kind", type_=deadlines.c.kind.type),
        bindparam("d_step_index", type_=deadlines.c.step_index.type),
    ).select_from(source)


_DEADLINE_INSERT_COLUMNS = ["flow_id", "due_at", "kind", "step_index"]


def pg_save_statement(shape: SaveShape) -> Select[Any]:
    """``WITH u AS (UPDATE flows ... WHERE version = old RETURNING id), <step inserts and
    updates and the deadline's upsert or delete, each joined to u> SELECT count(*) FROM u``:
    when the version check fails, ``u`` is empty and nothing else is written either."""
    cached = _PG_SAVES.get(shape)
    if cached is not None:
        return cached
    flow_columns, step_columns, new_steps, changed_steps, deadline = shape
    u = (
        update(flows)
        .where(flows.c.id == bindparam("b_id"), flows.c.version == bindparam("b_version"))
        .values({c: bindparam(f"f_{c}", type_=flows.c[c].type) for c in flow_columns})
        .returning(flows.c.id)
        .cte("u")
    )
    statement = _add_step_inserts(select(func.count()).select_from(u), u, step_columns, new_steps)
    for i in range(changed_steps):
        changed = (
            update(steps)
            .where(steps.c.flow_id == u.c.id, steps.c.idx == bindparam(f"c{i}_b_idx"))
            .values({c: bindparam(f"c{i}_{c}", type_=steps.c[c].type) for c in step_columns})
        )
        statement = statement.add_cte(changed.cte(f"c{i}"))
    if deadline == "upsert":
        upsert = POSTGRESQL.insert(deadlines).from_select(
            _DEADLINE_INSERT_COLUMNS, _deadline_row(u)
        )
        statement = statement.add_cte(_replacing_deadline(upsert).cte("d"))
    elif deadline == "delete":
        statement = statement.add_cte(
            delete(deadlines).where(deadlines.c.flow_id == u.c.id).cte("d")
        )
    _PG_SAVES[shape] = statement
    return statement


CreateShape = tuple[tuple[str, ...], tuple[str, ...], int, bool]
_PG_CREATES: dict[CreateShape, Select[Any]] = {}


def pg_create_statement(shape: CreateShape) -> Select[Any]:
    """``WITH f AS (INSERT INTO flows ... RETURNING id), <its steps and its deadline, each
    inserted from f> SELECT count(*) FROM f``: a new flow in one round trip (the foreign keys
    are checked at the end of the statement, when the flow row is there)."""
    cached = _PG_CREATES.get(shape)
    if cached is not None:
        return cached
    flow_columns, step_columns, n_steps, has_deadline = shape
    f = (
        insert(flows)
        .values({c: bindparam(f"f_{c}", type_=flows.c[c].type) for c in flow_columns})
        .returning(flows.c.id)
        .cte("f")
    )
    statement = _add_step_inserts(select(func.count()).select_from(f), f, step_columns, n_steps)
    if has_deadline:
        insert_deadline = insert(deadlines).from_select(_DEADLINE_INSERT_COLUMNS, _deadline_row(f))
        statement = statement.add_cte(insert_deadline.cte("d"))
    _PG_CREATES[shape] = statement
    return statement

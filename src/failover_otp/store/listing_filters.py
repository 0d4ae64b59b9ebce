"""The listings' filters as SQL conditions, shared by the deliveries, the tracking search and the
flows table (``store/listing.py``).

Every condition is scoped to the application and is an index range scan or an indexed probe
(migrations 0001 and 0002); where SQLite's planner needs another shape for the same rows, the
database's dialect gives it (``store/dialect.py``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from failover_otp.domain.listing import SearchField, SearchOperator, TrackingFilter
from failover_otp.domain.statuses import FlowStatus, StepStatus, stored_as
from failover_otp.store.dialect import Dialect
from failover_otp.store.tables import flows, steps


def escape_like(text: str) -> str:
    """``text`` matched literally by ``LIKE ... ESCAPE '\\'`` (its wildcards are not)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column: Any, text: str, *, ignore_case: bool = False) -> ColumnElement[bool]:
    pattern = f"%{escape_like(text)}%"
    if ignore_case:
        return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]
    return column.like(pattern, escape="\\")  # type: ignore[no-any-return]


def contains_any_case(dialect: Dialect, column: Any, text: str) -> ColumnElement[bool]:
    """A case-insensitive partial match, without a ``lower()`` per row where the dialect's
    ``LIKE`` ignores case already."""
    return contains(column, text, ignore_case=not dialect.like_ignores_case)


def starts_with(column: Any, text: str) -> ColumnElement[bool]:
    return column.like(f"{escape_like(text)}%", escape="\\")  # type: ignore[no-any-return]


def ends_with(column: Any, text: str) -> ColumnElement[bool]:
    return column.like(f"%{escape_like(text)}", escape="\\")  # type: ignore[no-any-return]


def created_within(column: Any, start: Any, end: Any) -> list[ColumnElement[bool]]:
    """``start`` <= ``column`` < ``end``, each bound only when given."""
    bounds: list[ColumnElement[bool]] = []
    if start is not None:
        bounds.append(column >= start)
    if end is not None:
        bounds.append(column < end)
    return bounds


def step_shown_as(status: str) -> ColumnElement[bool]:
    """The step is shown in ``status``: a queued filter also finds sends in flight (shown as
    queued, never as their stored ``SENDING``)."""
    shown = stored_as(StepStatus(status))
    return steps.c.status.in_(sorted(s.value for s in shown))


_NEXT_HEX = dict(zip("0123456789abcde", "123456789abcdef", strict=True))


def prefix_range(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` (lowercase hex and dashes, as UUIDs are), as a range of
    its unique index: ``LIKE 'abc%'`` is none on SQLite (its LIKE ignores case, the index does
    not) nor on PostgreSQL outside the C collation. The upper end is the prefix with its last
    hex digit raised (``ab3f`` → ``ab4``), which orders the same under every collation: hex
    digits sort alike everywhere, and the dashes of UUIDs stand in the same places."""
    prefix = prefix.rstrip("-")
    lower: ColumnElement[bool] = column >= prefix
    digits = prefix
    while digits:
        last = digits[-1]
        if last in _NEXT_HEX:
            return and_(lower, column < digits[:-1] + _NEXT_HEX[last])
        digits = digits[:-1].rstrip("-")  # an "f" carries over
    return lower


def id_prefix(prefix: str) -> ColumnElement[bool]:
    """The flow's id, or one of its steps' tracking ids, starts with ``prefix``."""
    prefix = prefix.lower()
    tracking = select(steps.c.flow_id).where(prefix_range(steps.c.tracking_id, prefix))
    return or_(prefix_range(flows.c.id, prefix), flows.c.id.in_(tracking))


# -- the tracking search's filters ------------------------------------------------------------


def tracking_condition(
    dialect: Dialect, application_id: str, where: TrackingFilter
) -> ColumnElement[bool]:
    """``where`` as SQL, in the shapes the dialect's planner runs well (same rows)."""
    positive = _positive(dialect, application_id, where)
    if where.operator is not SearchOperator.IS_NOT:
        return positive
    if where.field is SearchField.TERMINATION_CHANNEL:
        # A flow still running has no termination channel, so it is not ended by this one.
        return or_(flows.c.termination_channel.is_(None), not_(positive))
    return not_(positive)


def _positive(dialect: Dialect, application_id: str, where: TrackingFilter) -> ColumnElement[bool]:
    """The filter's condition with the operator's negation left out."""
    if where.field is SearchField.TYPE:
        return dialect.flows_with_step(application_id, steps.c.channel == where.term)
    if where.field is SearchField.TERMINATION_CHANNEL:
        return flows.c.termination_channel == where.term
    if where.field is SearchField.STATUS:
        return _status_condition(dialect, application_id, where.term)
    phone: ColumnElement[bool]
    match where.operator:
        case SearchOperator.CONTAINS:
            phone = contains(steps.c.phone, where.term)
        case SearchOperator.STARTS_WITH:
            phone = starts_with(steps.c.phone, where.term)
        case SearchOperator.ENDS_WITH:
            phone = ends_with(steps.c.phone, where.term)
        case _:
            phone = steps.c.phone == where.term
    return dialect.flows_with_step(application_id, phone)


def _status_condition(dialect: Dialect, application_id: str, term: str) -> ColumnElement[bool]:
    """Flow status as tracking renders it: ``Queued`` is an InProgress flow none of whose steps
    the provider has accepted or refused yet (see ``services.tracking.display_status``)."""
    in_progress = flows.c.status == FlowStatus.IN_PROGRESS.value
    # Few flows are in progress: on SQLite each one's own steps are checked (primary key), not
    # every answered step of the application first.
    answered = dialect.flows_with_step(
        application_id, steps.c.status != StepStatus.SENDING.value, common=True
    )
    if term == FlowStatus.QUEUED.value:
        return and_(in_progress, not_(answered))
    if term == FlowStatus.IN_PROGRESS.value:
        return and_(in_progress, answered)
    if term in (FlowStatus.SUCCEEDED.value, FlowStatus.FAILED.value):
        return flows.c.status == term
    return false()

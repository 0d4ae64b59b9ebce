"""Bulk seeding: many stored flows in seconds, written with SQL straight into the tables.

The rows are clones of a handful of *template* flows that the real service created through its
API (one per outcome: delivered on Viber, failed over to SMS, failed, still pending...), so
every column holds what the service itself writes. Each clone gets its own id, tracking ids,
destination number, label and time (spread evenly over a period, oldest first), and pending
clones get a deadline row far in the future. The cloning runs inside the database
(``INSERT ... SELECT`` over a generated series), with the secondary indexes dropped during the
load and rebuilt afterwards, which is much faster than going through Python row by row.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Labels (the "tag" filters) the clones get: one of these, in turn.
LABELS = (
    "login",
    "signup",
    "payment",
    "password-reset",
    "2fa",
    "checkout",
    "device-link",
    "email-change",
    "withdrawal",
    "transfer",
    "profile",
    "recovery",
    "admin",
    "support",
    "invite",
    "delivery",
    "booking",
    "voucher",
    "kyc",
    "newsletter",
)
TEMPLATE_LABEL = "bench-template"
# A stored SMS body waits for the service's managed code ("{pin}", kept encrypted per flow in
# otp_codes); a clone carries a literal code in its body instead, as a customer's own text would.
PIN = "{pin}"
CODE = "482913"
# Clone n's number: "3069" + 8 digits from a multiplicative hash of n (spread, repeatable).
PHONE_MULTIPLIER = 2654435761


@dataclass(frozen=True, slots=True)
class Template:
    flow_id: str
    phone: str  # digits, as stored
    weight: int  # out of 100
    pending: bool  # the flow waits on a deadline: clones get one too


@dataclass(frozen=True, slots=True)
class SeedPlan:
    templates: Sequence[Template]
    count: int
    created_from: datetime
    created_to: datetime
    # Pending clones' deadlines: from this instant, ``due_spacing`` seconds apart per clone.
    due_from: datetime
    run: int = 1  # distinguishes the ids of separate seedings of one database
    due_spacing: float = 1.0
    # Every clone's number ends in this digit (the sandbox's outcome key), else any digit.
    last_digit: int | None = None


def clone_id(run: int, n: int) -> str:
    """The flow id clone ``n`` of seeding ``run`` gets (so benchmarks can name them)."""
    return f"{run:08x}-0000-4000-8000-{n:012x}"


def clone_phone(n: int, last_digit: int | None = None) -> str:
    digits = f"3069{(n * PHONE_MULTIPLIER) % 100_000_000:08d}"
    return digits if last_digit is None else digits[:-1] + str(last_digit)


def _buckets(templates: Sequence[Template]) -> list[tuple[int, str]]:
    if sum(t.weight for t in templates) != 100:
        raise ValueError("template weights must add up to 100")
    buckets: list[tuple[int, str]] = []
    for template in templates:
        buckets += [(len(buckets) + i, template.flow_id) for i in range(template.weight)]
    # Interleave so that consecutive clones (neighbours in time) have different outcomes.
    order = sorted(range(100), key=lambda b: (b * 37) % 100)
    return [(order[i], flow_id) for i, (_, flow_id) in enumerate(buckets)]


# --------------------------------------------------------------------------- SQLite


def _sqlite_ts(us: str) -> str:
    """SQL text: the DATETIME string SQLAlchemy stores, from integer epoch microseconds."""
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', ({us}) / 1000000, 'unixepoch') "
        f"|| printf('.%06d', ({us}) % 1000000))"
    )


def _sqlite_us(column: str) -> str:
    return f"CAST(round((julianday({column}) - 2440587.5) * 86400000000.0) AS INTEGER)"


def _epoch_us(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def _sqlite_columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    return [(row[1], str(row[2]).upper()) for row in conn.execute(f"PRAGMA table_info({table})")]


def _sqlite_indexes(conn: sqlite3.Connection, tables: Sequence[str]) -> list[tuple[str, str]]:
    marks = ",".join("?" * len(tables))
    rows = conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})",
        list(tables),
    )
    return [(str(name), str(sql)) for name, sql in rows]


def seed_sqlite(
    path: str, plan: SeedPlan, *, chunk: int = 200_000, rebuild_indexes: bool = True
) -> dict[str, Any]:
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("CREATE TEMP TABLE seed_map (bucket INTEGER PRIMARY KEY, template TEXT)")
    conn.executemany("INSERT INTO seed_map VALUES (?, ?)", _buckets(plan.templates))
    conn.execute("CREATE TEMP TABLE seed_labels (k INTEGER PRIMARY KEY, label TEXT)")
    conn.executemany("INSERT INTO seed_labels VALUES (?, ?)", list(enumerate(LABELS)))
    conn.execute("CREATE TEMP TABLE seed_pending (template TEXT PRIMARY KEY)")
    conn.executemany(
        "INSERT INTO seed_pending VALUES (?)", [(t.flow_id,) for t in plan.templates if t.pending]
    )
    start_us = _epoch_us(plan.created_from)
    spacing_us = max(1, (_epoch_us(plan.created_to) - start_us) // max(1, plan.count))
    due_us = _epoch_us(plan.due_from)
    created = f"({start_us} + g.n * {spacing_us})"
    phone = f"printf('3069%08d', (g.n * {PHONE_MULTIPLIER}) % 100000000)"
    if plan.last_digit is not None:
        phone = f"(substr({phone}, 1, 11) || '{plan.last_digit}')"
    new_id = f"printf('%08x-0000-4000-8000-%012x', {plan.run}, g.n)"

    template_created = _sqlite_us("tf.created_at")

    def shifted(column: str) -> str:
        moved = _sqlite_ts(f"{created} + {_sqlite_us(column)} - {template_created}")
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE {moved} END"

    def swap_text(column: str) -> str:
        return (
            f"replace(replace(replace({column}, tf.phone, {phone}), "
            f"'\"{TEMPLATE_LABEL}\"', '\"' || l.label || '\"'), '{PIN}', '{CODE}')"
        )

    def tracking(index: str) -> str:
        return f"printf('%08x-%04x-4000-9000-%012x', {plan.run}, {index}, g.n)"

    flow_over = {"id": new_id, "phone": phone, "label": "l.label"}
    flow_over |= {"request": swap_text("t.request"), "plans": swap_text("t.plans")}
    step_over = {
        "flow_id": new_id,
        "phone": phone,
        "label": "l.label",
        "tracking_id": tracking("t.idx"),
        "failover_from": "CASE WHEN t.failover_from IS NULL THEN NULL "
        f"ELSE {tracking('t.idx - 1')} END",
    }
    deadline_over = {
        "flow_id": new_id,
        "due_at": _sqlite_ts(f"{due_us} + g.n * {int(plan.due_spacing * 1_000_000)}"),
        "claimed_by": "NULL",
        "lease_until": "NULL",
    }
    source = {
        "flows": "FROM g JOIN seed_map m ON m.bucket = g.n % 100 "
        "JOIN flows t ON t.id = m.template JOIN flows tf ON tf.id = t.id "
        "JOIN seed_labels l ON l.k = g.n % 20",
        "steps": "FROM g JOIN seed_map m ON m.bucket = g.n % 100 "
        "JOIN steps t ON t.flow_id = m.template JOIN flows tf ON tf.id = t.flow_id "
        "JOIN seed_labels l ON l.k = g.n % 20",
        "deadlines": "FROM g JOIN seed_map m ON m.bucket = g.n % 100 "
        "JOIN seed_pending p ON p.template = m.template "
        "JOIN deadlines t ON t.flow_id = m.template",
    }
    overrides = {"flows": flow_over, "steps": step_over, "deadlines": deadline_over}
    statements = {}
    for table, over in overrides.items():
        columns = _sqlite_columns(conn, table)
        exprs = []
        for name, kind in columns:
            if name in over:
                exprs.append(over[name])
            elif kind.startswith("DATETIME") and table != "deadlines":
                exprs.append(shifted(f"t.{name}"))
            else:
                exprs.append(f"t.{name}")
        names = ", ".join(name for name, _ in columns)
        statements[table] = (
            "WITH RECURSIVE g(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM g WHERE n < ?) "
            f"INSERT INTO {table} ({names}) SELECT {', '.join(exprs)} {source[table]}"
        )
    indexes = _sqlite_indexes(conn, ("flows", "steps", "deadlines")) if rebuild_indexes else []
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    loaded = time.perf_counter()
    conn.execute("BEGIN")
    for lo in range(0, plan.count, chunk):
        hi = min(plan.count, lo + chunk) - 1
        for table in ("flows", "steps", "deadlines"):
            conn.execute(statements[table], (lo, hi))
    conn.execute("COMMIT")
    inserted = time.perf_counter()
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in overrides}
    conn.close()
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "insert_seconds": round(inserted - loaded, 1),
        "index_seconds": round(time.perf_counter() - inserted, 1),
        "rows": counts,
    }


# --------------------------------------------------------------------------- PostgreSQL


async def _seed_postgres(
    url: str, plan: SeedPlan, chunk: int, rebuild_indexes: bool
) -> dict[str, Any]:
    import asyncpg
    from tests.support.postgres import asyncpg_dsn

    started = time.perf_counter()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await conn.execute(
            "CREATE TEMP TABLE seed_map (bucket int PRIMARY KEY, template text);"
            "CREATE TEMP TABLE seed_pending (template text PRIMARY KEY)"
        )
        await conn.executemany("INSERT INTO seed_map VALUES ($1, $2)", _buckets(plan.templates))
        await conn.executemany(
            "INSERT INTO seed_pending VALUES ($1)",
            [(t.flow_id,) for t in plan.templates if t.pending],
        )
        spacing = (plan.created_to - plan.created_from).total_seconds() / max(1, plan.count)
        base = plan.created_from.astimezone(UTC).replace(tzinfo=None)
        due = plan.due_from.astimezone(UTC).replace(tzinfo=None)
        created = f"('{base.isoformat()}'::timestamp + make_interval(secs => g.n * {spacing}))"
        phone = f"'3069' || lpad(((g.n::bigint * {PHONE_MULTIPLIER}) % 100000000)::text, 8, '0')"
        if plan.last_digit is not None:
            phone = f"(left({phone}, 11) || '{plan.last_digit}')"
        new_id = (
            f"lpad(to_hex({plan.run}), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(g.n), 12, '0')"
        )
        label = "(ARRAY[" + ", ".join(f"'{x}'" for x in LABELS) + "])[g.n % 20 + 1]"

        def swap_text(column: str, kind: str) -> str:
            return (
                f"replace(replace(replace({column}::text, tf.phone, {phone}), "
                f"'\"{TEMPLATE_LABEL}\"', '\"' || {label} || '\"'), '{PIN}', '{CODE}')::{kind}"
            )

        def tracking(index: str) -> str:
            return (
                f"lpad(to_hex({plan.run}), 8, '0') || '-' || lpad(to_hex({index}), 4, '0') "
                f"|| '-4000-9000-' || lpad(to_hex(g.n), 12, '0')"
            )

        overrides: dict[str, dict[str, str]] = {
            "flows": {"id": new_id, "phone": phone, "label": label},
            "steps": {
                "flow_id": new_id,
                "phone": phone,
                "label": label,
                "tracking_id": tracking("t.idx"),
                "failover_from": f"CASE WHEN t.failover_from IS NULL THEN NULL "
                f"ELSE {tracking('t.idx - 1')} END",
            },
            "deadlines": {
                "flow_id": new_id,
                "due_at": f"'{due.isoformat()}'::timestamp "
                f"+ make_interval(secs => g.n * {plan.due_spacing})",
                "claimed_by": "NULL",
                "lease_until": "NULL",
            },
        }
        source = {
            "flows": "FROM generate_series($1::int, $2::int) AS g(n) "
            "JOIN seed_map m ON m.bucket = g.n % 100 "
            "JOIN flows t ON t.id = m.template JOIN flows tf ON tf.id = t.id",
            "steps": "FROM generate_series($1::int, $2::int) AS g(n) "
            "JOIN seed_map m ON m.bucket = g.n % 100 "
            "JOIN steps t ON t.flow_id = m.template JOIN flows tf ON tf.id = t.flow_id",
            "deadlines": "FROM generate_series($1::int, $2::int) AS g(n) "
            "JOIN seed_map m ON m.bucket = g.n % 100 "
            "JOIN seed_pending p ON p.template = m.template "
            "JOIN deadlines t ON t.flow_id = m.template",
        }
        statements = {}
        for table, over in overrides.items():
            rows = await conn.fetch(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = $1 AND table_schema = current_schema() "
                "ORDER BY ordinal_position",
                table,
            )
            exprs = []
            for row in rows:
                name, kind = row["column_name"], row["data_type"]
                if name in over:
                    exprs.append(over[name])
                elif name in ("request", "plans") and table == "flows":
                    exprs.append(swap_text(f"t.{name}", "jsonb" if kind == "jsonb" else "json"))
                elif kind.startswith("timestamp") and table != "deadlines":
                    exprs.append(f"t.{name} + ({created} - tf.created_at)")
                else:
                    exprs.append(f"t.{name}")
            names = ", ".join(row["column_name"] for row in rows)
            statements[table] = (
                f"INSERT INTO {table} ({names}) SELECT {', '.join(exprs)} {source[table]}"
            )
        indexes = (
            []
            if not rebuild_indexes
            else await conn.fetch(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "JOIN pg_class c ON c.relname = i.indexname "
                "JOIN pg_index x ON x.indexrelid = c.oid "
                "WHERE i.schemaname = current_schema() "
                "AND i.tablename IN ('flows', 'steps', 'deadlines') "
                "AND NOT x.indisprimary AND NOT x.indisunique"
            )
        )
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        loaded = time.perf_counter()
        for lo in range(0, plan.count, chunk):
            hi = min(plan.count, lo + chunk) - 1
            async with conn.transaction():
                for table in ("flows", "steps", "deadlines"):
                    await conn.execute(statements[table], lo, hi)
        inserted = time.perf_counter()
        for row in indexes:
            await conn.execute(row["indexdef"])
        if rebuild_indexes:
            await conn.execute("VACUUM ANALYZE flows")
            await conn.execute("VACUUM ANALYZE steps")
            await conn.execute("VACUUM ANALYZE deadlines")
        counts = {
            t: int(await conn.fetchval(f"SELECT count(*) FROM {t}"))
            for t in ("flows", "steps", "deadlines")
        }
    finally:
        await conn.close()
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "insert_seconds": round(inserted - loaded, 1),
        "index_seconds": round(time.perf_counter() - inserted, 1),
        "rows": counts,
    }


def seed_postgres(
    url: str, plan: SeedPlan, *, chunk: int = 200_000, rebuild_indexes: bool = True
) -> dict[str, Any]:
    return asyncio.run(_seed_postgres(url, plan, chunk, rebuild_indexes))


async def _postgres_script(url: str, statements: Sequence[str]) -> None:
    import asyncpg
    from tests.support.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction():
            for statement in statements:
                await conn.execute(statement)
    finally:
        await conn.close()


def rebuild_rollups(kind: str, url: str) -> float:
    """Count the clones in the dashboard's daily rollups, as migration 0016's backfill does
    (the clones bypass the saves that keep them); returns the seconds it took."""
    from failover_otp.store.rollup_sql import rebuild_sql

    started = time.perf_counter()
    statements = rebuild_sql("sqlite" if kind == "sqlite" else "postgresql")
    if kind == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in statements:
                conn.execute(statement)
            conn.execute("COMMIT")
        finally:
            conn.close()
    else:
        asyncio.run(_postgres_script(url, statements))
    return round(time.perf_counter() - started, 1)


def seed(
    kind: str, url: str, plan: SeedPlan, *, live: bool = False, rollups: bool = True
) -> dict[str, Any]:
    """Clone ``plan``; ``live``: the service is running, so its indexes stay in place;
    ``rollups``: count the clones in the dashboard's rollups (unfinished clones need not)."""
    if kind == "sqlite":
        result = seed_sqlite(url.removeprefix("sqlite:///"), plan, rebuild_indexes=not live)
    else:
        result = seed_postgres(url, plan, rebuild_indexes=not live)
    if rollups:
        result["rollup_seconds"] = rebuild_rollups(kind, url)
    return result

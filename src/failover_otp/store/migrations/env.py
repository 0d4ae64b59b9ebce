"""Alembic environment: runs on the connection handed over by failover_otp.store.migrate."""

from __future__ import annotations

from alembic import context

from failover_otp.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `failover-otp migrate`, not the alembic CLI")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

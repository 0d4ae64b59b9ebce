"""operators, server-side dashboard sessions and the audit trail

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

- ``operators`` / ``operator_roles``: people who sign in to the dashboard as themselves, with a
  role (``viewer`` or ``admin``) per application (issue 17.11).
- ``dashboard_sessions``: sign-ins kept server side, so signing out ends a session in every
  process at once (issue 15.8); the cookie's token is stored as its SHA-256 only.
- ``audit_log``: what admins did, from the CLI and the dashboard.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import failover_otp.store.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC = failover_otp.store.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("username", name=op.f("uq_operators_username")),
    )
    op.create_table(
        "operator_roles",
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_roles_operator_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_operator_roles_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("operator_id", "application_id", name=op.f("pk_operator_roles")),
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=True),
        sa.Column("secret_hash", sa.String(length=128), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_dashboard_sessions")),
    )
    op.create_index(op.f("ix_dashboard_sessions_expires_at"), "dashboard_sessions", ["expires_at"])
    op.create_index(
        op.f("ix_dashboard_sessions_operator_id"), "dashboard_sessions", ["operator_id"]
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_application_id_at"), "audit_log", ["application_id", "at"])
    # Sessions used to be signed tokens under this key; they are rows now.
    op.execute("DELETE FROM service_state WHERE key = 'dashboard_session_key'")


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("dashboard_sessions")
    op.drop_table("operator_roles")
    op.drop_table("operators")

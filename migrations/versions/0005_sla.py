"""SLA: business calendars, policies, per-ticket targets and the ticket's SLA clock.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpdesk.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("always_open", sa.Boolean(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holiday_country", sa.String(length=8), nullable=True),
        sa.Column("holiday_subdivision", sa.String(length=16), nullable=True),
        sa.Column("extra_holidays", sa.JSON(), nullable=False),
        sa.Column("removed_holidays", sa.JSON(), nullable=False),
        sa.Column("created_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_calendars_name")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("next_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("warning_percent", sa.Integer(), nullable=False),
        sa.Column("pause_statuses", sa.JSON(), nullable=False),
        sa.Column("escalations", sa.JSON(), nullable=False),
        sa.Column("created_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "warning_percent BETWEEN 1 AND 99", name=op.f("ck_sla_policies_warning_percent_range")
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_sla_calendars"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_policies_name")),
    )
    op.create_table(
        "sla_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("target_minutes", sa.Integer(), nullable=False),
        sa.Column("started_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("due_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("warn_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("paused_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("achieved_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.Column("warned_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.Column("breached_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.Column("overrun_seconds", sa.Integer(), nullable=True),
        sa.Column("fire_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('first_response', 'next_response', 'resolution')",
            name=op.f("ck_sla_targets_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_sla_targets_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_sla_targets_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_targets")),
    )
    with op.batch_alter_table("sla_targets", schema=None) as batch_op:
        batch_op.create_index("ix_sla_targets_due", ["due_at"], unique=False)
        batch_op.create_index("ix_sla_targets_fire_at", ["fire_at"], unique=False)
        batch_op.create_index("ix_sla_targets_ticket", ["ticket_id", "id"], unique=False)

    # Plain ADD COLUMN, not a batch copy: rebuilding a million-row tickets table on SQLite
    # would take minutes. Hence no foreign key on tickets.sla_policy_id (SQLite cannot add one
    # in place); deleting a policy clears it in services.sla_admin.
    op.add_column("customers", sa.Column("tier", sa.String(length=32), nullable=True))
    op.add_column("tickets", sa.Column("sla_policy_id", sa.Integer(), nullable=True))
    op.add_column(
        "tickets",
        sa.Column(
            "sla_due_at",
            helpdesk.models.base.UTCDateTime(),
            server_default=sa.text("'9999-12-31 00:00:00.000000'"),
            nullable=False,
        ),
    )
    op.add_column(
        "tickets", sa.Column("sla_warn_at", helpdesk.models.base.UTCDateTime(), nullable=True)
    )
    op.add_column(
        "tickets",
        sa.Column("sla_paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index(
        "ix_tickets_assignee_status_sla_due",
        "tickets",
        ["assignee_id", "status", "sla_due_at", "id"],
    )
    op.create_index(
        "ix_tickets_group_status_sla_due", "tickets", ["group_id", "status", "sla_due_at", "id"]
    )
    op.create_index("ix_tickets_status_sla_due", "tickets", ["status", "sla_due_at", "id"])
    op.add_column(
        "user_groups",
        sa.Column("is_lead", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("user_groups", schema=None) as batch_op:
        batch_op.drop_column("is_lead")

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_status_sla_due")
        batch_op.drop_index("ix_tickets_group_status_sla_due")
        batch_op.drop_index("ix_tickets_assignee_status_sla_due")
        batch_op.drop_column("sla_paused")
        batch_op.drop_column("sla_warn_at")
        batch_op.drop_column("sla_due_at")
        batch_op.drop_column("sla_policy_id")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("tier")

    with op.batch_alter_table("sla_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_targets_ticket")
        batch_op.drop_index("ix_sla_targets_fire_at")
        batch_op.drop_index("ix_sla_targets_due")

    op.drop_table("sla_targets")
    op.drop_table("sla_policies")
    op.drop_table("sla_calendars")

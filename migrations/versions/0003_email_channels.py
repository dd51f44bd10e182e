"""Email channels: mailboxes, threads, Cc participants, quarantine, outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpdesk.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("imap_host", sa.String(length=253), nullable=False),
        sa.Column("imap_port", sa.Integer(), nullable=True),
        sa.Column("imap_security", sa.String(length=8), nullable=False),
        sa.Column("imap_username", sa.String(length=254), nullable=False),
        sa.Column("imap_password_encrypted", sa.Text(), nullable=True),
        sa.Column("imap_folder", sa.String(length=200), nullable=False),
        sa.Column("imap_processed_folder", sa.String(length=200), nullable=True),
        sa.Column("smtp_host", sa.String(length=253), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=True),
        sa.Column("smtp_security", sa.String(length=8), nullable=False),
        sa.Column("smtp_username", sa.String(length=254), nullable=True),
        sa.Column("smtp_password_encrypted", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("auto_acknowledge", sa.Boolean(), nullable=False),
        sa.Column("reply_all", sa.Boolean(), nullable=False),
        sa.Column("created_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("last_checked_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_error_code", sa.String(length=32), nullable=True),
        sa.Column("last_error_message", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_email_channels_group_id_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_channels")),
        sa.UniqueConstraint("address", name=op.f("uq_email_channels_address")),
        sa.UniqueConstraint("name", name=op.f("uq_email_channels_name")),
    )
    op.create_table(
        "email_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("received_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["email_channels.id"],
            name=op.f("fk_email_quarantine_channel_id_email_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_quarantine")),
    )
    with op.batch_alter_table("email_quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_email_quarantine_channel", ["channel_id", "id"], unique=False)
        batch_op.create_index(
            "ix_email_quarantine_channel_sha256", ["channel_id", "sha256"], unique=False
        )

    op.create_table(
        "ticket_email_threads",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["email_channels.id"],
            name=op.f("fk_ticket_email_threads_channel_id_email_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_email_threads_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_email_threads")),
    )
    with op.batch_alter_table("ticket_email_threads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_email_threads_channel_id"), ["channel_id"], unique=False
        )

    op.create_table(
        "ticket_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_participants_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_participants")),
        sa.UniqueConstraint(
            "ticket_id", "email", name=op.f("uq_ticket_participants_ticket_id_email")
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("smtp_message_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("sent_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["email_channels.id"],
            name=op.f("fk_outbox_channel_id_email_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_outbox_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
        sa.UniqueConstraint("smtp_message_id", name=op.f("uq_outbox_smtp_message_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index(batch_op.f("ix_outbox_channel_id"))

    op.drop_table("outbox")
    op.drop_table("ticket_participants")
    with op.batch_alter_table("ticket_email_threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_email_threads_channel_id"))

    op.drop_table("ticket_email_threads")
    with op.batch_alter_table("email_quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_email_quarantine_channel_sha256")
        batch_op.drop_index("ix_email_quarantine_channel")

    op.drop_table("email_quarantine")
    op.drop_table("email_channels")

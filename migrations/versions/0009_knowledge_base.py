"""Knowledge base: categories, articles, their ko/en translations and revision history.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpdesk.models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name_ko", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_categories_parent_id_kb_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_categories")),
    )
    with op.batch_alter_table("kb_categories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_categories_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "visibility IN ('public', 'internal')", name=op.f("ck_kb_articles_visibility_known")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_articles_category_id_kb_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_kb_articles_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_articles_category_id"), ["category_id"], unique=False
        )
        batch_op.create_index("ix_kb_articles_updated", ["updated_at", "id"], unique=False)

    op.create_table(
        "kb_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_at", helpdesk.models.base.UTCDateTime(), nullable=True),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("helpful_yes", sa.Integer(), nullable=False),
        sa.Column("helpful_no", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("locale IN ('ko', 'en')", name=op.f("ck_kb_translations_locale_known")),
        sa.CheckConstraint(
            "status IN ('draft', 'published')", name=op.f("ck_kb_translations_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_translations_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_kb_translations_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_translations")),
        sa.UniqueConstraint(
            "article_id", "locale", name=op.f("uq_kb_translations_article_id_locale")
        ),
        sa.UniqueConstraint("locale", "slug", name=op.f("uq_kb_translations_locale_slug")),
    )
    with op.batch_alter_table("kb_translations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kb_translations_listing", ["locale", "status", "published_at"], unique=False
        )

    op.create_table(
        "kb_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("translation_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", helpdesk.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_kb_revisions_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["translation_id"],
            ["kb_translations.id"],
            name=op.f("fk_kb_revisions_translation_id_kb_translations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_revisions")),
    )
    with op.batch_alter_table("kb_revisions", schema=None) as batch_op:
        batch_op.create_index("ix_kb_revisions_translation", ["translation_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_revisions_translation")

    op.drop_table("kb_revisions")
    with op.batch_alter_table("kb_translations", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_translations_listing")

    op.drop_table("kb_translations")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_articles_updated")
        batch_op.drop_index(batch_op.f("ix_kb_articles_category_id"))

    op.drop_table("kb_articles")
    with op.batch_alter_table("kb_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_categories_parent_id"))

    op.drop_table("kb_categories")

"""The knowledge base: categories, articles and their translations, with revision history.

An :class:`KbArticle` is one subject written in up to one :class:`KbTranslation` per locale
(Korean and English). The article holds what the translations share (category, who may read
it); each translation holds its own words, slug, publication state and reader counters, since a
Korean text may be published while its English twin is still a draft. Every change to a
translation's title or body leaves a :class:`KbRevision` with the author.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .user import User

KB_LOCALES = ("ko", "en")


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Visibility(enum.StrEnum):
    PUBLIC = "public"  # customers and anonymous visitors (once published)
    INTERNAL = "internal"  # staff only


class KbCategory(Base):
    """A named shelf of articles; a category may sit under one top-level category."""

    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id"), index=True)
    name_ko: Mapped[str] = mapped_column(String(100), default="")
    name_en: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def name_for(self, locale: str) -> str:
        """The name in ``locale``, else in the other language (at least one is set)."""
        own = self.name_ko if locale == "ko" else self.name_en
        return own or self.name_en or self.name_ko


class KbArticle(Base):
    """One subject of the knowledge base, and what all its translations share."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'internal')", name="visibility_known"),
        Index("ix_kb_articles_updated", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PUBLIC)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    translations: Mapped[list[KbTranslation]] = relationship(
        back_populates="article",
        order_by="KbTranslation.locale.desc()",  # ko before en
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    def translation(self, locale: str) -> KbTranslation | None:
        return next((t for t in self.translations if t.locale == locale), None)

    @property
    def by_locale(self) -> dict[str, KbTranslation]:
        return {t.locale: t for t in self.translations}


class KbTranslation(Base):
    """An article in one language: its words, its rendered HTML and its own publication."""

    __tablename__ = "kb_translations"
    __table_args__ = (
        CheckConstraint("locale IN ('ko', 'en')", name="locale_known"),
        CheckConstraint("status IN ('draft', 'published')", name="status_known"),
        UniqueConstraint("article_id", "locale"),
        UniqueConstraint("locale", "slug"),
        # The portal's listing: published translations of one language, newest first.
        Index("ix_kb_translations_listing", "locale", "status", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120))
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    # Rendered from the Markdown and sanitized on every save; served as is.
    body_html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ArticleStatus.DRAFT)
    published_at: Mapped[datetime | None]
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    helpful_yes: Mapped[int] = mapped_column(Integer, default=0)
    helpful_no: Mapped[int] = mapped_column(Integer, default=0)
    # Portal visitors who opened this translation from the contact form's suggestions.
    deflection_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    article: Mapped[KbArticle] = relationship(back_populates="translations")

    @property
    def helpful_percent(self) -> int | None:
        """Share of "yes" among the votes, rounded; ``None`` before the first vote."""
        votes = self.helpful_yes + self.helpful_no
        return round(100 * self.helpful_yes / votes) if votes else None


class KbRevision(Base):
    """A translation's title and body as one save left them, and who saved it."""

    __tablename__ = "kb_revisions"
    __table_args__ = (Index("ix_kb_revisions_translation", "translation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    translation_id: Mapped[int] = mapped_column(
        ForeignKey("kb_translations.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    translation: Mapped[KbTranslation] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(lazy="joined")

    @property
    def locale(self) -> str:
        return self.translation.locale

    @property
    def author_name(self) -> str | None:
        return self.author.name if self.author is not None else None

"""Saved ("canned") replies that agents insert into the composer instead of retyping them.

A reply is shared with the whole team (``owner_id`` NULL, written by admins) or personal to
one user. Its optional shortcut (``/refund`` in the composer) is stored lower-cased, so the two
unique indexes below make shortcuts unique per scope regardless of case: one set for the shared
replies, one per user. A personal shortcut may repeat a shared one; its owner's list shows the
personal one first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class CannedReply(Base):
    __tablename__ = "canned_replies"
    __table_args__ = (
        # NULLs never collide in a unique constraint, so this covers personal replies only...
        UniqueConstraint("owner_id", "shortcut"),
        # ...and this partial index the shared ones.
        Index(
            "uq_canned_replies_shared_shortcut",
            "shortcut",
            unique=True,
            sqlite_where=text("owner_id IS NULL"),
            postgresql_where=text("owner_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)  # Markdown or plain text, with {{placeholders}}
    shortcut: Mapped[str | None] = mapped_column(String(40))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    usage_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    def __repr__(self) -> str:
        return f"<CannedReply {self.id} {self.title!r}>"

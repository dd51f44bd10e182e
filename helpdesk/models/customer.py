"""Customers, their organizations and the channel identities that resolve to them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .ticket import Tag


class IdentityKind(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"  # a web chat visitor id
    SLACK = "slack"  # "<team id>:<user id>"
    SOCIAL = "social"  # "<network>:<handle>"


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Tags on customers share the ``tags`` vocabulary with tickets ("vip", "churn-risk").
customer_tags = Table(
    "customer_tags",
    Base.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_customer_tags_tag_customer", "tag_id", "customer_id"),
)


class Customer(Base):
    """A person who asks for help, reached through one or more identities."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str | None] = mapped_column(String(8))
    # A service level the business gives this customer ("gold", "vip"); SLA policies match it.
    tier: Mapped[str | None] = mapped_column(String(32))
    # Set when merged into another customer (the survivor), which now holds its identities,
    # tickets and messages. No foreign key: added in place to a possibly large table (SQLite
    # cannot add one that way); ``services.customer_merge`` is the only writer.
    merged_into_id: Mapped[int | None]
    # The account manager (a staff user). No foreign key for the same reason as above; users
    # are deactivated, never deleted.
    owner_id: Mapped[int | None]
    # Custom attributes the business keeps on a customer ("plan": "pro", "seats": 40).
    attributes: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Loaded on access: queue pages join customers for their names only.
    organization: Mapped[Organization | None] = relationship()
    identities: Mapped[list[CustomerIdentity]] = relationship(
        back_populates="customer", order_by="CustomerIdentity.id"
    )
    tags: Mapped[list[Tag]] = relationship(
        secondary=customer_tags, lazy="raise", order_by="Tag.name"
    )


class CustomerIdentity(Base):
    """One way to reach a customer; (kind, normalized value) is unique across all customers."""

    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))  # normalized: lower-case email, E.164 phone
    display: Mapped[str | None] = mapped_column(String(320))  # as the customer wrote it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities")


class CustomerNote(Base):
    """A staff note on a customer (not on one ticket): "prefers calls after 6pm"."""

    __tablename__ = "customer_notes"
    __table_args__ = (Index("ix_customer_notes_customer", "customer_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)  # plain text as written
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

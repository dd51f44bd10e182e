"""Opening a ticket: the busiest write of a help-desk, so it writes its rows directly.

The ticket, its first message (with attachments), its tags and its audit entry are inserted
with prepared Core statements (one statement on PostgreSQL, see ``ticket_insert``) instead of
the ORM unit of work, which cost about half of a create (see bench/README.md); the rules
themselves (message bodies, tags, numbers, groups, assignees, customers) are the same functions
every other write uses. The caller still gets an ordinary ORM ``Ticket``, built from the values
written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..events import TicketCreated, publish
from ..models import (
    Attachment,
    Channel,
    Customer,
    Direction,
    Priority,
    Status,
    Ticket,
    utcnow,
)
from . import audit
from .attachments import UploadedFile
from .customers import resolve_customer
from .errors import Invalid
from .message_store import message_values
from .notifications import notify_assigned
from .permissions import Actor, Permission, require
from .sla_clock import insert_targets, new_ticket_targets
from .snapshots import ticket_snapshot
from .ticket_fields import (
    check_assignee,
    check_group,
    next_number,
    normalize_tags,
    parse_priority,
    tag_rows,
)
from .ticket_insert import insert_ticket_rows
from .transaction import transaction

_INSERT_ATTACHMENT = insert(cast(Table, Attachment.__table__))


def create_ticket(actor: Actor, **fields: Any) -> Ticket:
    """Open a ticket whose first message is the customer's request (see ``open_ticket``)."""
    return open_ticket(actor, **fields)[0]


def open_ticket(
    actor: Actor,
    *,
    subject: str,
    body_text: str | None = None,
    body_html: str | None = None,
    channel: str = Channel.API,
    customer_id: int | None = None,
    customer_identity: tuple[str, str] | None = None,
    customer_name: str | None = None,
    priority: Any = Priority.NORMAL,
    group_id: int | None = None,
    assignee_id: int | None = None,
    tags: Sequence[str] = (),
    attachments: Sequence[UploadedFile] = (),
    external_id: str | None = None,
) -> tuple[Ticket, int]:
    """Open a ticket whose first message is the customer's request; return the ticket and the
    id of that message.

    The customer is given by id or by an identity (``("email", "kim@example.kr")``), which is
    resolved to an existing customer or creates one.
    """
    require(actor, Permission.TICKET_CREATE)
    subject = " ".join((subject or "").split())
    if not subject:
        raise Invalid(_l("A subject is required."), fields={"subject": ["required"]})
    if len(subject) > 255:
        raise Invalid(
            _l("The subject is longer than 255 characters."), fields={"subject": ["too long"]}
        )
    if channel not in {c.value for c in Channel}:
        raise Invalid(
            _l("Unknown channel: %(channel)s.", channel=channel),
            fields={"channel": [f"one of {[c.value for c in Channel]}"]},
        )
    if not (body_text or body_html or attachments):
        raise Invalid(_l("The first message needs some text."), fields={"body": ["required"]})
    if (customer_id is None) == (customer_identity is None):
        raise Invalid(
            _l("Give either a customer id or a customer identity."),
            fields={"customer": ["required"]},
        )
    priority_value = parse_priority(priority)
    tag_names = normalize_tags(tags)

    with transaction() as session:
        if customer_identity is not None:
            customer, _ = resolve_customer(actor, *customer_identity, name=customer_name)
        else:
            found = session.get(Customer, customer_id)
            if found is None:
                raise Invalid(
                    _l("Unknown customer: %(id)s.", id=customer_id),
                    fields={"customer_id": ["unknown customer"]},
                )
            # A merged customer's new tickets belong to the customer it was merged into.
            customer = (
                found
                if found.merged_into_id is None
                else session.get(Customer, found.merged_into_id) or found
            )
        group = check_group(session, group_id)
        assignee = check_assignee(session, assignee_id)
        tag_objects = tag_rows(session, tag_names)
        now = utcnow()
        message, files = message_values(
            channel,
            direction=Direction.IN,
            is_public=True,
            body_text=body_text,
            body_html=body_html,
            author_customer_id=customer.id,
            attachments=attachments,
            external_id=external_id,
            at=now,
        )
        values: dict[str, Any] = {
            "number": next_number(session),
            "subject": subject,
            "status": (Status.NEW if assignee is None else Status.OPEN).value,
            "priority": priority_value,
            "channel": channel,
            "customer_id": customer.id,
            "organization_id": customer.organization_id,
            "group_id": group.id if group else None,
            "assignee_id": assignee.id if assignee else None,
            "merged_into_id": None,
            "created_at": now,
            "updated_at": now,
            "first_response_at": None,
            "solved_at": None,
            "last_customer_message_at": now,
            "last_agent_message_at": None,
            "message_count": 1,
            "version": 1,
        }
        sla_targets = new_ticket_targets(
            session, values, tags=tag_names, customer_tier=customer.tier
        )
        entry = audit.entry_values(
            actor,
            "ticket.created",
            ticket_id=None,
            customer_id=customer.id,
            data={"number": values["number"], "channel": channel, "subject": subject},
        )
        connection = session.connection()
        values["id"], message_id = insert_ticket_rows(
            connection, values, message, [t.id for t in tag_objects], entry
        )
        insert_targets(connection, values["id"], sla_targets)
        if files:
            connection.execute(_INSERT_ATTACHMENT, [{**f, "message_id": message_id} for f in files])
        ticket = _as_persistent(
            session, values, customer=customer, group=group, assignee=assignee, tags=tag_objects
        )
        publish(
            session,
            TicketCreated(
                ticket_snapshot(ticket, customer_name=customer.name), actor_user_id=actor.user_id
            ),
        )
        notify_assigned(session, ticket, actor.user_id)
    return ticket, message_id


def _as_persistent(session: Session, values: dict[str, Any], **relations: Any) -> Ticket:
    """The ORM object of a ticket just inserted, built from the values written, without reading
    it back: every column is loaded and the relationships are set as committed values."""
    ticket = Ticket(**values)
    make_transient_to_detached(ticket)
    session.add(ticket)
    for name, value in relations.items():
        set_committed_value(ticket, name, value)
    return ticket

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
from dataclasses import dataclass
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
from .customers import resolve_customers
from .errors import Invalid
from .message_store import message_values
from .notifications import notify_assigned
from .permissions import Actor, Permission, require
from .sla_clock import insert_targets, new_ticket_targets
from .snapshots import ticket_snapshot
from .ticket_fields import (
    check_assignee,
    check_group,
    next_numbers,
    normalize_tags,
    parse_priority,
    tag_rows,
)
from .ticket_insert import insert_many_ticket_rows, insert_ticket_rows
from .transaction import transaction

_INSERT_ATTACHMENT = insert(cast(Table, Attachment.__table__))


def create_ticket(actor: Actor, **fields: Any) -> Ticket:
    """Open a ticket whose first message is the customer's request (see ``open_ticket``)."""
    return open_ticket(actor, **fields)[0]


@dataclass(frozen=True)
class NewTicket:
    """What opening a ticket takes. The customer is given by id or by an identity
    (``("email", "kim@example.kr")``), which is resolved to an existing customer or creates
    one."""

    subject: str
    body_text: str | None = None
    body_html: str | None = None
    channel: str = Channel.API
    customer_id: int | None = None
    customer_identity: tuple[str, str] | None = None
    customer_name: str | None = None
    priority: Any = Priority.NORMAL
    group_id: int | None = None
    assignee_id: int | None = None
    tags: Sequence[str] = ()
    attachments: Sequence[UploadedFile] = ()
    external_id: str | None = None


def open_ticket(actor: Actor, **fields: Any) -> tuple[Ticket, int]:
    """Open a ticket whose first message is the customer's request; return the ticket and the
    id of that message. ``fields`` are those of ``NewTicket``."""
    return open_tickets(actor, [NewTicket(**fields)])[0]


def check_new_ticket(request: NewTicket) -> tuple[str, int, list[str]]:
    """``Invalid`` unless ``request`` can open a ticket; its cleaned subject, priority and tags.

    Batch callers check each request first, so that one bad request does not fail the batch.
    """
    subject = " ".join((request.subject or "").split())
    if not subject:
        raise Invalid(_l("A subject is required."), fields={"subject": ["required"]})
    if len(subject) > 255:
        raise Invalid(
            _l("The subject is longer than 255 characters."), fields={"subject": ["too long"]}
        )
    if request.channel not in {c.value for c in Channel}:
        raise Invalid(
            _l("Unknown channel: %(channel)s.", channel=request.channel),
            fields={"channel": [f"one of {[c.value for c in Channel]}"]},
        )
    if not (request.body_text or request.body_html or request.attachments):
        raise Invalid(_l("The first message needs some text."), fields={"body": ["required"]})
    if (request.customer_id is None) == (request.customer_identity is None):
        raise Invalid(
            _l("Give either a customer id or a customer identity."),
            fields={"customer": ["required"]},
        )
    return subject, parse_priority(request.priority), normalize_tags(request.tags)


def open_tickets(actor: Actor, requests: Sequence[NewTicket]) -> list[tuple[Ticket, int]]:
    """Open several tickets in one transaction (a batch of inbound mail): the same rules as
    one, with the customers looked up together and the rows written in a few statements.
    Returns ``(ticket, first message id)`` in the order of ``requests``."""
    require(actor, Permission.TICKET_CREATE)
    checked = [check_new_ticket(r) for r in requests]
    if not requests:
        return []
    with transaction() as session:
        customers = _customers(actor, session, requests)
        numbers = next_numbers(session, len(requests))
        now = utcnow()
        rows: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        files: list[list[dict[str, Any]]] = []
        targets: list[list[dict[str, Any]]] = []
        entries: list[dict[str, Any]] = []
        relations: list[dict[str, Any]] = []
        for request, (subject, priority, tag_names), customer, number in zip(
            requests, checked, customers, numbers, strict=True
        ):
            group = check_group(session, request.group_id)
            assignee = check_assignee(session, request.assignee_id)
            tag_objects = tag_rows(session, tag_names)
            message, stored = message_values(
                request.channel,
                direction=Direction.IN,
                is_public=True,
                body_text=request.body_text,
                body_html=request.body_html,
                author_customer_id=customer.id,
                attachments=request.attachments,
                external_id=request.external_id,
                at=now,
            )
            values: dict[str, Any] = {
                "number": number,
                "subject": subject,
                "status": (Status.NEW if assignee is None else Status.OPEN).value,
                "priority": priority,
                "channel": request.channel,
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
            targets.append(
                new_ticket_targets(session, values, tags=tag_names, customer_tier=customer.tier)
            )
            entries.append(
                audit.entry_values(
                    actor,
                    "ticket.created",
                    ticket_id=None,
                    customer_id=customer.id,
                    data={"number": number, "channel": request.channel, "subject": subject},
                )
            )
            rows.append(values)
            messages.append(message)
            files.append(stored)
            relations.append(
                {"customer": customer, "group": group, "assignee": assignee, "tags": tag_objects}
            )
        connection = session.connection()
        tag_ids = [[t.id for t in r["tags"]] for r in relations]
        if len(rows) == 1:  # one statement on PostgreSQL: a single create is latency-bound
            ids = [insert_ticket_rows(connection, rows[0], messages[0], tag_ids[0], entries[0])]
        else:
            ids = insert_many_ticket_rows(connection, rows, messages, tag_ids, entries)
        target_rows = [
            {**row, "ticket_id": ticket_id}
            for (ticket_id, _), rows_of in zip(ids, targets, strict=True)
            for row in rows_of
        ]
        if target_rows:
            insert_targets(connection, target_rows)
        attachment_rows = [
            {**f, "message_id": message_id}
            for (_, message_id), files_of in zip(ids, files, strict=True)
            for f in files_of
        ]
        if attachment_rows:
            connection.execute(_INSERT_ATTACHMENT, attachment_rows)
        opened = []
        for values, (ticket_id, message_id), related in zip(rows, ids, relations, strict=True):
            values["id"] = ticket_id
            ticket = _as_persistent(session, values, **related)
            publish(
                session,
                TicketCreated(
                    ticket_snapshot(ticket, customer_name=related["customer"].name),
                    actor_user_id=actor.user_id,
                ),
            )
            notify_assigned(session, ticket, actor.user_id)
            opened.append((ticket, message_id))
    return opened


def _customers(actor: Actor, session: Session, requests: Sequence[NewTicket]) -> list[Customer]:
    """Each request's customer: identities resolved together, ids looked up (a merged
    customer's new tickets belong to the customer it was merged into)."""
    by_identity = [r for r in requests if r.customer_identity is not None]
    resolved = iter(
        resolve_customers(
            actor,
            [(*r.customer_identity, r.customer_name) for r in by_identity],  # type: ignore[misc]
        )
        if by_identity
        else []
    )
    customers = []
    for request in requests:
        if request.customer_identity is not None:
            customers.append(next(resolved))
            continue
        found = session.get(Customer, request.customer_id)
        if found is None:
            raise Invalid(
                _l("Unknown customer: %(id)s.", id=request.customer_id),
                fields={"customer_id": ["unknown customer"]},
            )
        customers.append(
            found
            if found.merged_into_id is None
            else session.get(Customer, found.merged_into_id) or found
        )
    return customers


def _as_persistent(session: Session, values: dict[str, Any], **relations: Any) -> Ticket:
    """The ORM object of a ticket just inserted, built from the values written, without reading
    it back: every column is loaded and the relationships are set as committed values."""
    ticket = Ticket(**values)
    make_transient_to_detached(ticket)
    session.add(ticket)
    for name, value in relations.items():
        set_committed_value(ticket, name, value)
    return ticket

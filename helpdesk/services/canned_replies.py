"""Saved ("canned") replies: texts agents insert into the composer instead of retyping them.

Who may do what (checked here, for the pages, the API and the composer alike):

- Staff who answer customers (``TICKET_REPLY``: agents and admins) list, read and use every
  shared reply and their own personal ones, and write personal ones. Sales and marketing never
  speak to the customer, so they get ``Forbidden``.
- Only admins (``USER_ADMIN``) write shared replies. A personal reply is its owner's alone:
  nobody else sees it, admins included (``NotFound``, so its existence is not revealed).

A body may hold placeholders (``{{customer.name}}``...) that :func:`render` fills in for one
ticket; placeholders it does not know stay as written, so a typo shows up in the draft instead
of silently vanishing. Every write, and every use, is audited.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import CannedReply, Customer, Ticket, User, utcnow
from . import audit
from .errors import Conflict, Forbidden, Invalid, NotFound
from .permissions import Actor, Permission, can, require
from .transaction import current_session, transaction

MAX_TITLE = 120
MAX_BODY = 20_000
MAX_SHORTCUT = 40
MAX_SEARCH = 200
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
EDITABLE = ("title", "body", "shortcut")
# Lower-case letters, digits, "-" and "_", Hangul syllables and jamo (ㅎㅂ for 환불 is common).
_SHORTCUT = re.compile(rf"[a-z0-9_\-\u3131-\u318e\uac00-\ud7a3]{{1,{MAX_SHORTCUT}}}")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
PLACEHOLDERS = (
    "customer.name",
    "customer.first_name",
    "ticket.number",
    "ticket.subject",
    "agent.name",
)


# ---- rules ----------------------------------------------------------------------------------


def _require_replier(actor: Actor) -> None:
    require(actor, Permission.TICKET_REPLY)


def _is_admin(actor: Actor) -> bool:
    return can(actor, Permission.USER_ADMIN)


def may_share(actor: Actor) -> bool:
    """Whether ``actor`` may write replies shared with the whole team (admins)."""
    return can(actor, Permission.TICKET_REPLY) and _is_admin(actor)


def may_change(actor: Actor, reply: CannedReply) -> bool:
    """Whether ``actor`` may edit or delete ``reply``: an admin for a shared one, the owner for
    a personal one."""
    if not can(actor, Permission.TICKET_REPLY):
        return False
    if reply.owner_id is None:
        return may_share(actor)
    return actor.user_id is not None and reply.owner_id == actor.user_id


def _visible_to(actor: Actor) -> ColumnElement[bool]:
    """Shared replies and the actor's own personal ones."""
    if actor.user_id is None:
        return CannedReply.owner_id.is_(None)
    return or_(CannedReply.owner_id.is_(None), CannedReply.owner_id == actor.user_id)


def _is_visible(actor: Actor, reply: CannedReply) -> bool:
    return reply.owner_id is None or reply.owner_id == actor.user_id


# ---- validation -----------------------------------------------------------------------------


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(_l("This value must be text."), fields={field: ["not text"]})
    return unicodedata.normalize("NFC", value)


def clean_title(value: Any) -> str:
    """One line, spaces collapsed, 1 to ``MAX_TITLE`` characters."""
    title = " ".join(_text(value, "title").split())
    if not title:
        raise Invalid(_l("Give the reply a title."), fields={"title": ["required"]})
    if len(title) > MAX_TITLE:
        raise Invalid(
            _l("A title is at most %(max)s characters.", max=MAX_TITLE),
            fields={"title": ["too long"]},
        )
    return title


def clean_body(value: Any) -> str:
    """The text as written (Markdown or plain), line breaks unified, 1 to ``MAX_BODY`` chars."""
    body = _text(value, "body").replace("\r\n", "\n").strip()
    if not body:
        raise Invalid(_l("Write the reply's text."), fields={"body": ["required"]})
    if len(body) > MAX_BODY:
        raise Invalid(
            _l("A reply is at most %(max)s characters.", max=MAX_BODY),
            fields={"body": ["too long"]},
        )
    return body


def clean_shortcut(value: Any) -> str | None:
    """Lower-cased (so uniqueness ignores case), without the "/" typed to call it; ``None``
    when empty."""
    shortcut = _text(value, "shortcut").strip().removeprefix("/").lower()
    if not shortcut:
        return None
    if not _SHORTCUT.fullmatch(shortcut):
        raise Invalid(
            _l(
                "A shortcut is 1 to %(max)s characters: a-z, 0-9, '-', '_' or Hangul, "
                "without spaces.",
                max=MAX_SHORTCUT,
            ),
            fields={"shortcut": ["invalid"]},
        )
    return shortcut


def _taken(shortcut: str) -> Conflict:
    return Conflict(
        _l("Another reply already uses the shortcut /%(shortcut)s.", shortcut=shortcut),
        fields={"shortcut": ["taken"]},
    )


def _check_shortcut_free(
    session: Session, shortcut: str | None, owner_id: int | None, own_id: int | None = None
) -> None:
    """Shortcuts are unique among the shared replies and among each user's personal ones."""
    if shortcut is None:
        return
    scope = CannedReply.owner_id.is_(None) if owner_id is None else CannedReply.owner_id == owner_id
    stmt = select(CannedReply.id).where(scope, CannedReply.shortcut == shortcut)
    if own_id is not None:
        stmt = stmt.where(CannedReply.id != own_id)
    if session.scalar(stmt.limit(1)) is not None:
        raise _taken(shortcut)


def _flush(session: Session, shortcut: str | None) -> None:
    """A colleague may have taken the shortcut since we checked: the unique index says so."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise _taken(shortcut or "") from exc


# ---- reading --------------------------------------------------------------------------------


def _like(text: str, *, anywhere: bool = True) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if anywhere else f"{escaped}%"


def list_replies(
    actor: Actor, search: str = "", *, limit: int = DEFAULT_LIMIT
) -> list[CannedReply]:
    """The shared replies and the actor's personal ones that match ``search``.

    Every word of ``search`` must appear, in any case, in the title, the shortcut or the text
    (Korean included: 환불 finds "환불 안내"). A leading "/" is ignored, as typed in the
    composer. Best first: the exact shortcut, shortcuts and titles starting with the search,
    then the actor's own before shared ones, the most used, and by title.
    """
    _require_replier(actor)
    text = " ".join(_text(search, "q").split())[:MAX_SEARCH].lower().removeprefix("/").strip()
    stmt = select(CannedReply).where(_visible_to(actor))
    order: list[Any] = []
    if text:
        for word in text.split():
            pattern = _like(word)
            stmt = stmt.where(
                or_(
                    func.lower(CannedReply.title).like(pattern, escape="\\"),
                    CannedReply.shortcut.like(pattern, escape="\\"),
                    func.lower(CannedReply.body).like(pattern, escape="\\"),
                )
            )
        prefix = _like(text, anywhere=False)
        order.append(
            case(
                (CannedReply.shortcut == text, 0),
                (CannedReply.shortcut.like(prefix, escape="\\"), 1),
                (func.lower(CannedReply.title).like(prefix, escape="\\"), 2),
                else_=3,
            )
        )
    order += [
        CannedReply.owner_id.is_(None),
        CannedReply.usage_count.desc(),
        CannedReply.title,
        CannedReply.id,
    ]
    stmt = stmt.order_by(*order).limit(max(1, min(limit, MAX_LIMIT)))
    return list(current_session().scalars(stmt))


def _visible_reply(
    session: Session, actor: Actor, reply_id: int, *, lock: bool = False
) -> CannedReply:
    reply = session.get(CannedReply, reply_id, with_for_update=lock)
    if reply is None or not _is_visible(actor, reply):
        raise NotFound(_l("Saved reply %(id)s not found.", id=reply_id))
    return reply


def get_reply(actor: Actor, reply_id: int) -> CannedReply:
    """One shared reply or one of the actor's own (``NotFound`` for anyone else's)."""
    _require_replier(actor)
    return _visible_reply(current_session(), actor, reply_id)


# ---- writing --------------------------------------------------------------------------------


def _snapshot(reply: CannedReply) -> dict[str, Any]:
    return {
        "canned_reply_id": reply.id,
        "title": reply.title,
        "shortcut": reply.shortcut,
        "shared": reply.is_shared,
    }


def create_reply(
    actor: Actor, *, title: Any, body: Any, shortcut: Any = None, shared: bool = False
) -> CannedReply:
    """Save a personal reply, or (admins only) one shared with the whole team.

    Raises ``Forbidden``, ``Invalid`` (with ``fields``) or ``Conflict`` (shortcut taken)."""
    _require_replier(actor)
    if shared and not may_share(actor):
        raise Forbidden(_l("Only admins can add, change or delete shared replies."))
    if not shared and actor.user_id is None:
        raise Forbidden(_l("Only a member of staff can own a personal reply."))
    values = {
        "title": clean_title(title),
        "body": clean_body(body),
        "shortcut": clean_shortcut(shortcut),
    }
    owner_id = None if shared else actor.user_id
    with transaction() as session:
        _check_shortcut_free(session, values["shortcut"], owner_id)
        now = utcnow()
        reply = CannedReply(
            **values,
            owner_id=owner_id,
            created_by_id=actor.user_id,
            created_at=now,
            updated_at=now,
            usage_count=0,
        )
        session.add(reply)
        _flush(session, values["shortcut"])
        audit.record(session, actor, "canned_reply.created", data=_snapshot(reply))
    return reply


def _changeable(session: Session, actor: Actor, reply_id: int) -> CannedReply:
    reply = _visible_reply(session, actor, reply_id, lock=True)
    if not may_change(actor, reply):
        raise Forbidden(_l("Only admins can add, change or delete shared replies."))
    return reply


def update_reply(actor: Actor, reply_id: int, changes: Mapping[str, Any]) -> CannedReply:
    """Change the title, text or shortcut (``None`` or "" removes it); other keys are refused.
    Whether a reply is shared or personal is set when it is created."""
    _require_replier(actor)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid(
            _l("Only the title, the text and the shortcut can be changed."),
            fields={name: ["unknown"] for name in unknown},
        )
    with transaction() as session:
        reply = _changeable(session, actor, reply_id)
        cleaners = {"title": clean_title, "body": clean_body, "shortcut": clean_shortcut}
        wanted = {name: cleaners[name](value) for name, value in changes.items()}
        diff = {
            name: [getattr(reply, name), value]
            for name, value in wanted.items()
            if getattr(reply, name) != value
        }
        if not diff:
            return reply
        if "shortcut" in diff:
            _check_shortcut_free(session, wanted["shortcut"], reply.owner_id, reply.id)
        for name, (_, value) in diff.items():
            setattr(reply, name, value)
        reply.updated_at = utcnow()
        _flush(session, reply.shortcut)
        audit.record(session, actor, "canned_reply.updated", changes=diff, data=_snapshot(reply))
    return reply


def delete_reply(actor: Actor, reply_id: int) -> None:
    """Delete a reply; the audit entry keeps its text, so it can be written again."""
    _require_replier(actor)
    with transaction() as session:
        reply = _changeable(session, actor, reply_id)
        audit.record(
            session,
            actor,
            "canned_reply.deleted",
            data={**_snapshot(reply), "body": reply.body, "usage_count": reply.usage_count},
        )
        session.delete(reply)


# ---- using ----------------------------------------------------------------------------------


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e" for ch in text)


def first_name(name: str) -> str:
    """How a reply greets the customer: the first word of a Western name ("Daniel"), the
    whole of a Korean one (이수진: "수진" alone would be over-familiar, "이" alone rude)."""
    name = " ".join(name.split())
    if _has_hangul(name):
        return name
    return name.split(" ", 1)[0]


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace each known ``{{placeholder}}`` (spaces inside the braces allowed) in one pass,
    so a value that itself looks like a placeholder is never expanded; unknown ones stay."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render(actor: Actor, reply_id: int, ticket_id: int) -> str:
    """The reply's text for one ticket, placeholders filled in; counts as one use (audited on
    the ticket). Raises ``NotFound`` for an unknown ticket or a reply the actor cannot see."""
    _require_replier(actor)
    with transaction() as session:
        reply = _visible_reply(session, actor, reply_id)
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(_l("Ticket %(id)s not found.", id=ticket_id))
        customer = session.get(Customer, ticket.customer_id)
        agent = session.get(User, actor.user_id) if actor.user_id is not None else None
        customer_name = customer.name if customer is not None else ""
        text = fill_placeholders(
            reply.body,
            {
                "customer.name": customer_name,
                "customer.first_name": first_name(customer_name),
                "ticket.number": str(ticket.number),
                "ticket.subject": ticket.subject,
                "agent.name": agent.name if agent is not None else "",
            },
        )
        # In SQL, so that two agents using it at once both count.
        session.execute(
            update(CannedReply)
            .where(CannedReply.id == reply.id)
            .values(usage_count=CannedReply.usage_count + 1)
            .execution_options(synchronize_session=False)
        )
        session.expire(reply, ["usage_count"])
        audit.record(
            session,
            actor,
            "canned_reply.used",
            ticket_id=ticket.id,
            data={"canned_reply_id": reply.id},
        )
    return text

"""Staff accounts and groups."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..models import Group, Role, User, user_groups, utcnow
from . import audit
from .errors import Conflict, Invalid, NotFound
from .passwords import dummy_verify, hash_password, verify_password
from .permissions import Actor, Permission, require
from .transaction import current_session, transaction

LOCALES = ("en", "ko")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


def normalize_email(email: str) -> str:
    value = (email or "").strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise Invalid(_l("Enter a valid email address."), fields={"email": ["invalid email"]})
    return value


def _check_profile(locale: str, timezone: str) -> None:
    if locale not in LOCALES:
        raise Invalid(
            _l("Unknown language: %(locale)s.", locale=locale),
            fields={"locale": [f"one of {LOCALES}"]},
        )
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(
            _l("Unknown time zone: %(timezone)s.", timezone=timezone),
            fields={"timezone": ["unknown"]},
        ) from exc


def create_user(
    actor: Actor,
    *,
    email: str,
    name: str,
    password: str,
    role: str = Role.AGENT,
    locale: str | None = None,
    timezone: str | None = None,
    group_ids: list[int] | None = None,
) -> User:
    """Create a staff account; language and time zone default to the instance's settings."""
    require(actor, Permission.USER_ADMIN)
    if has_app_context():
        settings = current_app.config["HELPDESK"]
        locale = locale or settings.default_locale
        timezone = timezone or settings.default_timezone
    locale, timezone = locale or "en", timezone or "UTC"
    email = normalize_email(email)
    if role not in {r.value for r in Role}:
        raise Invalid(
            _l("Unknown role: %(role)s.", role=role),
            fields={"role": [f"one of {[r.value for r in Role]}"]},
        )
    if len(password) < MIN_PASSWORD:
        raise Invalid(
            _l("The password needs at least %(min)s characters.", min=MIN_PASSWORD),
            fields={"password": ["too short"]},
        )
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("A name is required."), fields={"name": ["required"]})
    _check_profile(locale, timezone)
    with transaction() as session:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise Conflict(_l("A user with the email %(email)s already exists.", email=email))
        user = User(
            email=email,
            name=name,
            password_hash=hash_password(password),
            role=role,
            locale=locale,
            timezone=timezone,
        )
        if group_ids:
            user.groups = list(session.scalars(select(Group).where(Group.id.in_(group_ids))))
            if len(user.groups) != len(set(group_ids)):
                raise Invalid(_l("Unknown group."), fields={"group_ids": ["unknown group"]})
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.created", data={"user_id": user.id, "role": role})
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or ``None`` (same timing either way)."""
    try:
        email = normalize_email(email)
    except Invalid:
        dummy_verify(password)
        return None
    session = current_session()
    user = session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active:
        dummy_verify(password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    with transaction():
        user.last_login_at = utcnow()
    return user


def load_user(user_id: int) -> User | None:
    """For the session loader: the active user with this id, without a permission check."""
    user = current_session().get(User, user_id)
    return user if user is not None and user.is_active else None


def find_user_by_email(actor: Actor, email: str) -> User:
    require(actor, Permission.USER_READ)
    user = current_session().scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(_l("No user with the email %(email)s.", email=email))
    return user


def list_users(actor: Actor) -> list[User]:
    """Active staff, by name (for assignee pickers and integrations)."""
    require(actor, Permission.USER_READ)
    stmt = select(User).where(User.is_active.is_(True)).order_by(User.name, User.id)
    return list(current_session().scalars(stmt))


def list_groups(actor: Actor) -> list[Group]:
    require(actor, Permission.USER_READ)
    return list(current_session().scalars(select(Group).order_by(Group.name)))


def create_group(actor: Actor, name: str) -> Group:
    require(actor, Permission.USER_ADMIN)
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("A group name is required."), fields={"name": ["required"]})
    with transaction() as session:
        exists = session.scalar(select(Group.id).where(func.lower(Group.name) == name.lower()))
        if exists is not None:
            raise Conflict(_l("A group named %(name)s already exists.", name=name))
        group = Group(name=name)
        session.add(group)
        session.flush()
        audit.record(session, actor, "group.created", data={"group_id": group.id, "name": name})
    return group


def set_group_lead(actor: Actor, group_id: int, user_id: int, *, lead: bool = True) -> None:
    """Make a member of a group its lead (or not); leads hear of the group's SLA escalations."""
    require(actor, Permission.USER_ADMIN)
    with transaction() as session:
        result = session.execute(
            update(user_groups)
            .where(user_groups.c.group_id == group_id, user_groups.c.user_id == user_id)
            .values(is_lead=lead)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(_l("That user is not a member of that group."))
        audit.record(
            session,
            actor,
            "group.lead_set",
            data={"group_id": group_id, "user_id": user_id, "lead": lead},
        )


SUGGEST_LIMIT = 8


def username(user: User) -> str:
    """The handle a note's ``@mention`` uses: the local part of the email address, which
    ``notifications.mentioned_users`` recognises (names may repeat or contain spaces)."""
    return user.email.split("@", 1)[0]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def suggest_staff(
    actor: Actor, query: str, *, limit: int = SUGGEST_LIMIT
) -> list[dict[str, object]]:
    """Active staff whose name or username contains ``query`` (any case), for the composer's
    @mention list: names that start with it first, then by name. An empty query lists the
    first ``limit`` by name. Returns ``id``, ``name`` and ``username`` only."""
    require(actor, Permission.USER_READ)
    text = " ".join((query or "").split())[:100].casefold()
    limit = max(1, min(limit, SUGGEST_LIMIT))
    stmt = select(User).where(User.is_active.is_(True))
    if text:
        pattern = _like_pattern(text)
        # The username is the part of the email before "@": match within that part only.
        stmt = stmt.where(
            func.lower(User.name).like(pattern, escape="\\")
            | func.lower(User.email).like(f"{pattern}@%", escape="\\")
        )
    # Staff tables are small; fetch a few more than shown so the "starts with" ones come first.
    found = list(current_session().scalars(stmt.order_by(User.name, User.id).limit(limit * 4)))
    found.sort(
        key=lambda u: (
            not (u.name.casefold().startswith(text) or username(u).casefold().startswith(text)),
            u.name.casefold(),
            u.id,
        )
    )
    return [{"id": u.id, "name": u.name, "username": username(u)} for u in found[:limit]]

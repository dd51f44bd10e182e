"""Staff accounts: validation, defaults, authentication and tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from helpdesk.models import utcnow
from helpdesk.services import tokens, users
from helpdesk.services.errors import Conflict, Forbidden, Invalid
from helpdesk.services.permissions import SYSTEM
from tests.factories import PASSWORD, actor, make_user


def test_new_users_take_the_instance_defaults(app):
    app.config["HELPDESK"].default_locale = "ko"
    app.config["HELPDESK"].default_timezone = "Asia/Seoul"
    user = users.create_user(SYSTEM, email="New@Dangol.test", name="신입", password=PASSWORD)
    assert (user.email, user.locale, user.timezone, user.role) == (
        "new@dangol.test",
        "ko",
        "Asia/Seoul",
        "agent",
    )
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("role", "superuser"),
        ("password", "short"),
        ("name", " "),
        ("locale", "fr"),
        ("timezone", "Mars/Olympus"),
        ("timezone", "../../etc/passwd"),
    ],
)
def test_invalid_accounts_are_refused_per_field(app, field, value):
    values = {"email": "x@dangol.test", "name": "X", "password": PASSWORD, "role": "agent"}
    values[field] = value
    with pytest.raises(Invalid) as err:
        users.create_user(SYSTEM, **values)
    assert field in err.value.fields


def test_duplicate_email_is_a_conflict(app):
    make_user(email="dup@dangol.test")
    with pytest.raises(Conflict):
        make_user(email="DUP@dangol.test")


def test_only_admins_create_users(app):
    with pytest.raises(Forbidden):
        users.create_user(
            actor(make_user("agent")), email="y@dangol.test", name="Y", password=PASSWORD
        )
    created = users.create_user(
        actor(make_user("admin")), email="y@dangol.test", name="Y", password=PASSWORD
    )
    assert created.id


def test_authenticate(app):
    user = make_user()
    assert users.authenticate(user.email.upper(), PASSWORD).id == user.id
    assert users.authenticate(user.email, "wrong-password") is None
    assert users.authenticate("ghost@dangol.test", PASSWORD) is None
    assert users.authenticate("not an email", PASSWORD) is None


def test_tokens_are_hashed_expire_and_can_be_revoked(app):
    user = make_user()
    token, secret = tokens.create_token(actor(user), user.id, "zapier", expires_in_days=1)
    assert token.token_hash != secret and secret not in token.token_hash
    assert tokens.user_for_token(secret).id == user.id
    with time_machine.travel(utcnow() + timedelta(days=2)):
        assert tokens.user_for_token(secret) is None
    tokens.revoke_token(actor(user), token.id)
    assert tokens.user_for_token(secret) is None
    assert tokens.user_for_token("dgl_not-a-real-token") is None
    other = make_user()
    with pytest.raises(Forbidden):
        tokens.create_token(actor(other), user.id, "steal")

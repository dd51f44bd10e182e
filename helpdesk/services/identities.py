"""Normalizing customer identities so that every channel resolves to one customer."""

from __future__ import annotations

import re

import phonenumbers
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from ..models import IdentityKind
from .errors import Invalid

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLACK = re.compile(r"^[A-Z0-9]+:[A-Z0-9]+$")
_SOCIAL = re.compile(r"^[a-z0-9_.-]+:[^\s:]+$")


def _phone_region() -> str:
    return current_app.config["HELPDESK"].phone_region if has_app_context() else "KR"


def normalize_identity(kind: str, value: str) -> str:
    """Return the canonical form of ``value`` for ``kind``, or raise ``Invalid``.

    Emails are lower-cased; phone numbers become E.164 (national formats are read in the
    configured region, Korea by default, so 010-1234-5678 and +82 10 1234 5678 are one number);
    Slack ids are ``TEAM:USER``; social handles are ``network:handle`` without the ``@``.
    """
    raw = (value or "").strip()
    if kind == IdentityKind.EMAIL:
        email = raw.lower()
        if not _EMAIL.match(email) or len(email) > 254:
            raise Invalid(
                _l("'%(value)s' is not an email address.", value=value),
                fields={"value": ["invalid email"]},
            )
        return email
    if kind == IdentityKind.PHONE:
        try:
            number = phonenumbers.parse(raw, _phone_region())
        except phonenumbers.NumberParseException as exc:
            raise Invalid(
                _l("'%(value)s' is not a phone number.", value=value),
                fields={"value": ["invalid phone"]},
            ) from exc
        if not phonenumbers.is_valid_number(number):
            raise Invalid(
                _l("'%(value)s' is not a valid phone number.", value=value),
                fields={"value": ["invalid phone"]},
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if kind == IdentityKind.SLACK:
        slack = raw.upper()
        if not _SLACK.match(slack):
            raise Invalid(
                _l("A Slack identity has the form TEAM:USER."),
                fields={"value": ["invalid slack id"]},
            )
        return slack
    if kind == IdentityKind.SOCIAL:
        network, _, handle = raw.partition(":")
        social = f"{network.strip().lower()}:{handle.strip().lstrip('@').lower()}"
        if not _SOCIAL.match(social):
            raise Invalid(
                _l("A social identity has the form network:handle."),
                fields={"value": ["invalid handle"]},
            )
        return social
    if kind == IdentityKind.CHAT:
        if not raw or len(raw) > 128:
            raise Invalid(
                _l("A chat visitor id is required."), fields={"value": ["invalid visitor id"]}
            )
        return raw
    raise Invalid(
        _l("Unknown identity kind: %(kind)s.", kind=kind),
        fields={"kind": [f"one of {[k.value for k in IdentityKind]}"]},
    )

"""Channel passwords at rest: Fernet-encrypted with a key derived from the instance secret.

The key is HKDF-SHA256 of ``SECRET_KEY`` with a fixed context label, so the same secret never
serves two purposes (session signing and password encryption get unrelated keys), and a
database copied without the instance secret holds no usable password. Changing the secret key
makes stored passwords unreadable: they have to be entered again (``SecretUnreadable``).
Plain passwords are never logged or returned; callers show "set" / "not set".
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_CONTEXT = b"dangol/email-channel-passwords/v1"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (the instance secret key changed)."""


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CONTEXT).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _instance_fernet() -> Fernet:
    return _fernet(current_app.config["HELPDESK"].secret_key)


def encrypt_secret(plain: str) -> str:
    """The ciphertext (ASCII) of ``plain``, for a database column."""
    return _instance_fernet().encrypt(plain.encode()).decode("ascii")


def decrypt_secret(token: str) -> str:
    """The plain text of a stored secret; ``SecretUnreadable`` if the key changed."""
    try:
        return _instance_fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable(
            "a stored password cannot be decrypted (was the secret key changed?); enter it again"
        ) from None


def describe(token: str | None) -> str:
    """What to show instead of a password."""
    return "set" if token else "not set"

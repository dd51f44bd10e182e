"""What the IMAP and SMTP sides of an email channel share: security modes, error codes that a
settings page can show, the "test connection" report, reconnect backoff and TLS contexts."""

from __future__ import annotations

import random
import socket
import ssl
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Security = Literal["ssl", "starttls", "none"]
SECURITY_MODES: tuple[Security, ...] = ("ssl", "starttls", "none")


class ErrorCode(StrEnum):
    """Why a mail server could not be used; stable strings for the UI and the logs."""

    AUTH_FAILED = "auth_failed"
    TLS_FAILED = "tls_failed"
    UNKNOWN_FOLDER = "unknown_folder"
    UNKNOWN_HOST = "unknown_host"
    CONNECTION_REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    CONNECTION_LOST = "connection_lost"
    PROTOCOL_ERROR = "protocol_error"
    SENDER_REJECTED = "sender_rejected"


# Network trouble that fixes itself; the other codes need someone to change the settings.
_TRANSIENT = frozenset(
    {
        ErrorCode.UNKNOWN_HOST,
        ErrorCode.CONNECTION_REFUSED,
        ErrorCode.TIMEOUT,
        ErrorCode.CONNECTION_LOST,
    }
)


class MailTransportError(Exception):
    """A mail server failed us; ``message`` is plain English for admins, never a secret."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def transient(self) -> bool:
        """True for network trouble; False when the settings are wrong (login, TLS, folder)."""
        return self.code in _TRANSIENT


@dataclass(frozen=True)
class ConnectionReport:
    """The answer of a "test connection" button: ok, or a code and a sentence to show."""

    ok: bool
    error_code: ErrorCode | None
    message: str


@dataclass
class Backoff:
    """Delays between reconnect attempts: exponential, capped, with jitter, reset on success.

    "Equal jitter": each delay is half the exponential step plus a random part of the other
    half, so many channels failing together spread out but never retry at once.
    """

    base_s: float = 1.0
    cap_s: float = 300.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    attempts: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one failed attempt."""
        step = min(self.cap_s, self.base_s * self.factor**self.attempts)
        self.attempts += 1
        return step / 2 + self.rng.uniform(0, step / 2)

    def reset(self) -> None:
        """Call after a successful connection: the next failure starts from ``base_s``."""
        self.attempts = 0


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context; with ``ca_file``, that CA replaces the system's."""
    return ssl.create_default_context(cafile=ca_file)


def network_error(exc: BaseException, host: str, port: int, timeout: float) -> MailTransportError:
    """Translate a socket or TLS failure into a code and a sentence an admin can act on."""
    where = f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        return MailTransportError(
            ErrorCode.UNKNOWN_HOST, f"The host name {host!r} could not be found (DNS)."
        )
    if isinstance(exc, ConnectionRefusedError):
        return MailTransportError(
            ErrorCode.CONNECTION_REFUSED,
            f"The server at {where} refused the connection: check the host and port, "
            "and that the server is running.",
        )
    if isinstance(exc, TimeoutError) or (isinstance(exc, ssl.SSLError) and "timed out" in str(exc)):
        return MailTransportError(
            ErrorCode.TIMEOUT, f"The server at {where} did not answer within {timeout:g} seconds."
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailTransportError(
            ErrorCode.TLS_FAILED,
            f"The certificate of {where} could not be verified ({exc.verify_message}).",
        )
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        hint = ""
        if reason == "WRONG_VERSION_NUMBER":
            hint = (
                ": this port does not speak TLS; choose STARTTLS or no encryption, or the TLS port"
            )
        return MailTransportError(
            ErrorCode.TLS_FAILED, f"The TLS handshake with {where} failed ({reason}){hint}."
        )
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, EOFError)):
        return MailTransportError(
            ErrorCode.CONNECTION_LOST, f"The server at {where} closed the connection."
        )
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return MailTransportError(
            ErrorCode.CONNECTION_REFUSED, f"Could not connect to {where}: {reason}."
        )
    return MailTransportError(
        ErrorCode.PROTOCOL_ERROR, f"Unexpected failure talking to {where}: {type(exc).__name__}."
    )


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` blanked out: servers sometimes echo what they were sent."""
    return text.replace(secret, "***") if secret else text

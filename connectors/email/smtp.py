"""Outgoing mail of an email channel over SMTP: send one message, say whether to retry.

Pure transport, no database. ``send`` never raises for a server's answer: it returns a
``SendResult`` whose status tells the outbox what to do. ``sent``: done (recipients the server
refused are listed). ``temporary_failure``: keep the message and retry later (4xx answers, and
any trouble with the channel itself: refused or timed-out connections, TLS, login; the message
may well go through once the channel is fixed). ``permanent_failure``: a 5xx answer about this
message or its recipients; give up and show the agent the server's reason.
"""

from __future__ import annotations

import base64
import copy
import logging
import re
import smtplib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from enum import StrEnum

from .transport import (
    SECURITY_MODES,
    ConnectionReport,
    ErrorCode,
    MailTransportError,
    Security,
    network_error,
    redact,
    tls_context,
)

log = logging.getLogger(__name__)

_DEFAULT_PORTS: dict[str, int] = {"ssl": 465, "starttls": 587, "none": 25}
_BARE_NEWLINE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    """How a channel sends. ``port`` defaults by ``security``: 465 ssl, 587 starttls, 25 none.

    ``helo_name`` is the name given in EHLO (the machine's FQDN when unset); ``ca_file``
    trusts a private CA instead of the system's.
    """

    host: str
    from_address: str
    from_name: str = ""
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: str | None = None
    helo_name: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {SECURITY_MODES}, not {self.security!r}")

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else _DEFAULT_PORTS[self.security]

    @property
    def sender(self) -> Address:
        """The From header of the channel's mail (display names may be Korean)."""
        return Address(display_name=self.from_name, addr_spec=self.from_address)


class SendStatus(StrEnum):
    SENT = "sent"
    TEMPORARY_FAILURE = "temporary_failure"
    PERMANENT_FAILURE = "permanent_failure"


@dataclass(frozen=True)
class SendResult:
    """What became of one message. ``message`` is the server's reason or our description."""

    status: SendStatus
    message: str
    smtp_code: int | None = None
    error_code: ErrorCode | None = None
    # Recipients the server refused while accepting the message for the others.
    refused: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def sent(self) -> bool:
        return self.status == SendStatus.SENT

    @property
    def retry(self) -> bool:
        return self.status == SendStatus.TEMPORARY_FAILURE


def send(
    config: SmtpConfig,
    message: EmailMessage | bytes,
    envelope_from: str | None,
    recipients: Sequence[str],
) -> SendResult:
    """Send ``message`` to ``recipients`` (the envelope: Cc and Bcc included).

    ``envelope_from`` (the return path, where bounces go) defaults to the channel's address.
    A ``Bcc`` header is removed before sending; bare LF/CR line ends in raw bytes become CRLF,
    since servers now refuse them (SMTP smuggling). Never raises for a server's answer.
    """
    if not recipients:
        raise ValueError("a message needs at least one recipient")
    sender = envelope_from or config.from_address
    international = not all(address.isascii() for address in [sender, *recipients])
    raw = _serialize(message, international)
    try:
        with _session(config) as smtp:
            options = []
            if international:
                if not smtp.has_extn("smtputf8"):
                    return SendResult(
                        SendStatus.PERMANENT_FAILURE,
                        "The server does not accept non-ASCII email addresses (no SMTPUTF8).",
                    )
                options.append("SMTPUTF8")
            if not raw.isascii() and smtp.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            refused = smtp.sendmail(sender, list(recipients), raw, mail_options=options)
    except MailTransportError as exc:
        return SendResult(SendStatus.TEMPORARY_FAILURE, exc.message, error_code=exc.code)
    except smtplib.SMTPRecipientsRefused as exc:
        answers = {rcpt: (code, _text(reply)) for rcpt, (code, reply) in exc.recipients.items()}
        temporary = any(code < 500 for code, _ in answers.values())
        reasons = "; ".join(f"{rcpt}: {code} {text}" for rcpt, (code, text) in answers.items())
        return SendResult(
            SendStatus.TEMPORARY_FAILURE if temporary else SendStatus.PERMANENT_FAILURE,
            f"Every recipient was refused: {reasons}",
            smtp_code=max(code for code, _ in answers.values()),
            refused=answers,
        )
    except smtplib.SMTPResponseException as exc:
        # MAIL FROM or DATA refused (SMTPSenderRefused, SMTPDataError), or the server gave up.
        code, reason = exc.smtp_code, _text(exc.smtp_error)
        status = SendStatus.PERMANENT_FAILURE if code >= 500 else SendStatus.TEMPORARY_FAILURE
        return SendResult(status, f"{code} {reason}", smtp_code=code)
    except (OSError, smtplib.SMTPException) as exc:
        error = _failure(config, exc)
        return SendResult(SendStatus.TEMPORARY_FAILURE, error.message, error_code=error.code)
    log.info(
        "SMTP %s: sent %d bytes to %d recipients (%d refused)",
        _where(config),
        len(raw),
        len(recipients),
        len(refused),
    )
    return SendResult(
        SendStatus.SENT,
        "Sent.",
        smtp_code=250,
        refused={rcpt: (code, _text(reply)) for rcpt, (code, reply) in refused.items()},
    )


def check_connection(config: SmtpConfig) -> ConnectionReport:
    """Connect, secure, log in and offer MAIL FROM (then RSET): what sending will need.

    Never raises, never shows the password. ``sender_rejected`` means the login works but
    the server will not send as ``from_address`` (a common hosted-mail restriction).
    """
    try:
        with _session(config) as smtp:
            code, reply = smtp.mail(config.from_address)
            smtp.rset()
    except MailTransportError as exc:
        return ConnectionReport(ok=False, error_code=exc.code, message=exc.message)
    except (OSError, smtplib.SMTPException) as exc:
        error = _failure(config, exc)
        return ConnectionReport(ok=False, error_code=error.code, message=error.message)
    except Exception as exc:
        log.warning("SMTP connection check of %s failed unexpectedly", config.host, exc_info=True)
        return ConnectionReport(
            ok=False,
            error_code=ErrorCode.PROTOCOL_ERROR,
            message=redact(f"Unexpected failure: {type(exc).__name__}.", config.password),
        )
    if code == 530:
        return ConnectionReport(
            ok=False,
            error_code=ErrorCode.AUTH_FAILED,
            message=f"The server wants a login before it accepts mail: {code} {_text(reply)}",
        )
    if code >= 400:
        return ConnectionReport(
            ok=False,
            error_code=ErrorCode.SENDER_REJECTED,
            message=redact(
                f"The server refuses mail from {config.from_address}: {code} {_text(reply)}",
                config.password,
            ),
        )
    login = f" as {config.username!r}" if config.username else " without logging in"
    return ConnectionReport(
        ok=True,
        error_code=None,
        message=(
            f"Connected to {_where(config)} ({_describe_security(config)}){login}; "
            f"the server accepts mail from {config.from_address}."
        ),
    )


@contextmanager
def _session(config: SmtpConfig) -> Iterator[smtplib.SMTP]:
    """An SMTP session, secured and logged in; every setup failure is a MailTransportError."""
    context = tls_context(config.ca_file) if config.security != "none" else None
    host, port = config.host, config.effective_port
    smtp: smtplib.SMTP
    try:
        # Connecting in the constructor: SMTP_SSL needs the host name there to check the
        # certificate against it.
        if config.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                host, port, config.helo_name, timeout=config.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(host, port, config.helo_name, timeout=config.timeout)
    except smtplib.SMTPConnectError as exc:
        raise _error(
            config,
            ErrorCode.CONNECTION_REFUSED,
            f"The server at {_where(config)} refused the session: {exc.smtp_code} "
            f"{_text(exc.smtp_error)}",
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise _failure(config, exc) from None
    try:
        try:
            smtp.ehlo_or_helo_if_needed()
            if config.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise _error(
                        config,
                        ErrorCode.TLS_FAILED,
                        f"The server at {_where(config)} does not offer STARTTLS; "
                        "choose SSL/TLS or no encryption.",
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if config.username:
                _login(smtp, config)
        except MailTransportError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise _failure(config, exc) from None
        yield smtp
    finally:
        _quit(smtp)


def _login(smtp: smtplib.SMTP, config: SmtpConfig) -> None:
    """Log in with one mechanism: after a definite "535 wrong password", trying the next
    one only earns another refusal (or, with some servers, a hang)."""
    if not smtp.has_extn("auth"):
        raise _error(
            config,
            ErrorCode.AUTH_FAILED,
            f"The server at {_where(config)} does not offer to log in (no AUTH)"
            + ("; it may want STARTTLS first." if config.security == "none" else "."),
        )
    username, password = config.username or "", config.password or ""
    try:
        if "PLAIN" in smtp.esmtp_features.get("auth", "").upper().split():
            _auth_plain(smtp, username, password)
        elif (username + password).isascii():
            smtp.login(username, password)  # LOGIN or CRAM-MD5, which smtplib sends as ASCII
        else:
            raise _error(
                config,
                ErrorCode.AUTH_FAILED,
                "The user name or password has non-ASCII characters and the server does "
                "not offer AUTH PLAIN to send them.",
            )
    except smtplib.SMTPAuthenticationError as exc:
        raise _error(
            config,
            ErrorCode.AUTH_FAILED,
            f"The server rejected the login of {config.username!r}: "
            f"{exc.smtp_code} {_text(exc.smtp_error)}",
        ) from None
    except smtplib.SMTPException as exc:
        if isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPServerDisconnected):
            raise
        raise _error(config, ErrorCode.AUTH_FAILED, f"Could not log in: {exc}.") from None


def _auth_plain(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH PLAIN in UTF-8 (smtplib's own encodes the credentials as ASCII and crashes)."""
    credentials = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {credentials}")
    if code not in (235, 503):  # 503: already logged in
        raise smtplib.SMTPAuthenticationError(code, reply)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _serialize(message: EmailMessage | bytes, international: bool) -> bytes:
    if isinstance(message, bytes):
        return _BARE_NEWLINE.sub(b"\r\n", message)
    if "Bcc" in message or "Resent-Bcc" in message:
        message = copy.deepcopy(message)
        del message["Bcc"]
        del message["Resent-Bcc"]
    policy = message.policy.clone(linesep="\r\n")
    if isinstance(policy, EmailPolicy):
        policy = policy.clone(utf8=international)
    return message.as_bytes(policy=policy)


def _failure(config: SmtpConfig, exc: BaseException) -> MailTransportError:
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib reports a read timeout as a disconnection ("...: timed out").
        if "timed out" in str(exc):
            return _failure(config, TimeoutError())
        message = f"The server at {_where(config)} closed the connection."
        return _error(config, ErrorCode.CONNECTION_LOST, message)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _error(
            config,
            ErrorCode.PROTOCOL_ERROR,
            f"The server at {_where(config)} answered {exc.smtp_code} {_text(exc.smtp_error)}.",
        )
    if isinstance(exc, smtplib.SMTPException):
        return _error(
            config, ErrorCode.PROTOCOL_ERROR, f"The server at {_where(config)} failed: {exc}."
        )
    error = network_error(exc, config.host, config.effective_port, config.timeout)
    return _error(config, error.code, error.message)


def _error(config: SmtpConfig, code: ErrorCode, message: str) -> MailTransportError:
    return MailTransportError(code, redact(message, config.password))


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _where(config: SmtpConfig) -> str:
    return f"{config.host}:{config.effective_port}"


def _describe_security(config: SmtpConfig) -> str:
    return {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": "no encryption"}[config.security]

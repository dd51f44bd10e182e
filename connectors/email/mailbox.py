"""One IMAP mailbox of an email channel: fetch new mail exactly once, then wait for more.

Pure transport, no database. The worker's loop is::

    with Mailbox(config) as mailbox:
        if mailbox.uid_validity != stored_validity: ...  # UIDs were renumbered: start over
        while True:
            batch = mailbox.fetch_new(after_uid=last_uid, limit=100)
            ...  # store each message and commit the ticket
            mailbox.mark_processed([m.uid for m in batch])  # only after the commit
            last_uid = ...  # recorded with uid_validity, in the same commit
            if len(batch) < 100:
                mailbox.wait_for_new(timeout_s=600)

Messages are read with ``BODY.PEEK[]``, so a crash before the commit leaves them unseen and
they are fetched again; the recorded UID, not the ``\\Seen`` flag, decides what is new (people
may read the mailbox in webmail too). Failures raise ``MailTransportError`` with an
``ErrorCode``; ``check_connection`` turns them into a ``ConnectionReport`` for the settings page.
The error codes, ``ConnectionReport`` and ``Backoff`` live in ``transport``, shared with ``smtp``.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from imapclient import DELETED, SEEN, IMAPClient
from imapclient.exceptions import CapabilityError, LoginError

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

# Big enough to keep round trips rare, small enough that one FETCH response stays modest.
_FETCH_CHUNK = 50
# RFC 2177: clients must re-issue IDLE at least every 29 minutes.
_IDLE_RENEW_S = 25 * 60


@dataclass(frozen=True, kw_only=True)
class MailboxConfig:
    """One mailbox of a channel. ``port`` defaults by ``security``: 993 for ssl, else 143.

    ``ca_file`` trusts a private CA instead of the system's; ``use_idle=False`` polls every
    ``poll_interval_s`` even when the server offers IDLE (for servers whose IDLE misbehaves).
    """

    host: str
    username: str
    password: str = field(repr=False)
    port: int | None = None
    security: Security = "ssl"
    folder: str = "INBOX"
    timeout: float = 30.0
    ca_file: str | None = None
    use_idle: bool = True
    poll_interval_s: float = 60.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {SECURITY_MODES}, not {self.security!r}")

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 993 if self.security == "ssl" else 143


class FetchedMessage(NamedTuple):
    """A message exactly as the server stores it (raw RFC 5322 bytes)."""

    uid: int
    raw: bytes
    size: int


def _server_text(exc: BaseException) -> str:
    """The server's own words from an imaplib error, without Python's bytes repr around them."""
    text = str(exc)
    match = re.search(r"b'(.*)'|b\"(.*)\"", text)
    if match:
        text = text[: match.start()] + (match.group(1) or match.group(2) or "")
    return text.strip() or type(exc).__name__


def _announces_mail(response: tuple[Any, ...]) -> bool:
    return len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")


def _says_bye(response: tuple[Any, ...]) -> bool:
    return bool(response) and response[0] == b"BYE"


class Mailbox:
    """A connection to one folder of one IMAP account; use it as a context manager.

    Not thread-safe: one worker owns one ``Mailbox``. Every method raises
    ``MailTransportError``; after a transient one, call ``connect()`` again (with a ``Backoff``).
    """

    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        self._client: Any = None
        self._uid_validity = 0
        self._capabilities: frozenset[str] = frozenset()
        self._message_count = 0
        # Highest UID the caller has been given (or present at connect): "new" is above it.
        self._high_uid = 0

    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def uid_validity(self) -> int:
        """The folder's UIDVALIDITY: when it changes, stored UIDs mean other messages."""
        self._require_client()
        return self._uid_validity

    @property
    def capabilities(self) -> frozenset[str]:
        return self._capabilities

    @property
    def message_count(self) -> int:
        """Messages in the folder when it was selected."""
        return self._message_count

    @property
    def uses_idle(self) -> bool:
        return self.config.use_idle and "IDLE" in self._capabilities

    def connect(self) -> None:
        """Connect, log in and select the folder (closing any previous connection first)."""
        self.close()
        config = self.config
        port = config.effective_port
        context = tls_context(config.ca_file) if config.security != "none" else None
        try:
            client = IMAPClient(
                config.host,
                port=port,
                ssl=config.security == "ssl",
                ssl_context=context,
                timeout=config.timeout,
            )
        except Exception as exc:
            raise self._failure(exc) from None
        try:
            if config.security == "starttls":
                self._start_tls(client, context)
            self._login(client)
            self._select(client)
        except BaseException:
            _shutdown(client)
            raise
        self._client = client
        log.info(
            "IMAP %s:%d: logged in as %s, folder %r (UIDVALIDITY %d, %s)",
            config.host,
            port,
            config.username,
            config.folder,
            self._uid_validity,
            "IDLE" if self.uses_idle else "polling",
        )

    def close(self) -> None:
        """Log out politely if possible; never raises."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            _shutdown(client)

    def fetch_new(
        self, after_uid: int, limit: int = 100, max_bytes: int = 64 * 1024 * 1024
    ) -> list[FetchedMessage]:
        """Up to ``limit`` messages with a UID above ``after_uid``, oldest first, still unseen.

        Stops early once ``max_bytes`` of mail is gathered (but always returns at least one
        message when there is one), so a run of huge attachments cannot exhaust memory.
        Messages flagged ``\\Deleted`` are skipped. Call again with the last UID for the rest.
        """
        if limit < 1 or after_uid < 0:
            raise ValueError("limit must be at least 1 and after_uid at least 0")
        client = self._require_client()
        with self._translating():
            uids = self._uids_above(client, after_uid)[:limit]
            sizes = client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
            chosen: list[int] = []
            total = 0
            for uid in uids:
                if uid not in sizes:  # expunged by someone else meanwhile
                    continue
                size = int(sizes[uid].get(b"RFC822.SIZE", 0))
                if chosen and total + size > max_bytes:
                    break
                chosen.append(uid)
                total += size
            messages: list[FetchedMessage] = []
            for start in range(0, len(chosen), _FETCH_CHUNK):
                chunk = chosen[start : start + _FETCH_CHUNK]
                fetched = client.fetch(chunk, ["BODY.PEEK[]"])
                for uid in chunk:
                    raw = fetched.get(uid, {}).get(b"BODY[]")
                    if raw is not None:
                        messages.append(FetchedMessage(uid, bytes(raw), len(raw)))
        self._high_uid = max(self._high_uid, after_uid, *(m.uid for m in messages))
        return messages

    def mark_processed(self, uids: Iterable[int], move_to: str | None = None) -> None:
        """Flag messages ``\\Seen``, then move them to ``move_to`` when given.

        Uses MOVE when offered, else COPY and ``\\Deleted`` (expunging only these UIDs, and
        only with UIDPLUS, so other clients' deleted messages are left alone). The flag comes
        first: if the move fails, the message is at least seen, and the recorded UID keeps it
        from being processed twice.
        """
        uid_list = sorted(set(uids))
        if not uid_list:
            return
        client = self._require_client()
        with self._translating():
            client.add_flags(uid_list, [SEEN], silent=True)
            if move_to is None:
                return
            try:
                if "MOVE" in self._capabilities:
                    client.move(uid_list, move_to)
                else:
                    client.copy(uid_list, move_to)
                    client.add_flags(uid_list, [DELETED], silent=True)
                    if "UIDPLUS" in self._capabilities:
                        client.uid_expunge(uid_list)
            except imaplib.IMAP4.error as exc:
                if isinstance(exc, imaplib.IMAP4.abort) or client.folder_exists(move_to):
                    raise
                raise self._unknown_folder(client, move_to) from None

    def wait_for_new(self, timeout_s: float) -> bool:
        """Block until a message newer than those fetched arrives, or ``timeout_s`` passes.

        Returns True when there is something for ``fetch_new``: mail above the last UID it
        returned (before any fetch, above the mail there when the folder was selected). Uses
        IDLE when the server offers it, else a NOOP every ``poll_interval_s``. Mail that
        arrived before the call counts too, so nothing slips in between fetch and wait.
        """
        client = self._require_client()
        deadline = time.monotonic() + timeout_s
        with self._translating():
            while True:
                if self._has_newer(client):
                    return True
                if self._announced(client):
                    continue  # mail landed while searching: look again before waiting
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self.uses_idle:
                    self._idle_once(client, min(remaining, _IDLE_RENEW_S))
                else:
                    time.sleep(min(remaining, self.config.poll_interval_s))

    # Connection steps: each failure gets its own code.

    def _start_tls(self, client: Any, context: ssl.SSLContext | None) -> None:
        try:
            client.starttls(context)
        except CapabilityError:
            raise self._error(
                ErrorCode.TLS_FAILED,
                f"The server at {self._where()} does not offer STARTTLS; "
                "choose SSL/TLS or no encryption.",
            ) from None
        except Exception as exc:
            raise self._failure(exc) from None

    def _login(self, client: Any) -> None:
        username, password = self.config.username, self.config.password
        try:
            if (username + password).isascii():
                client.login(username, password)
            elif b"AUTH=PLAIN" in client.capabilities():
                # imaplib sends LOGIN arguments as ASCII; SASL PLAIN carries UTF-8.
                client.plain_login(username, password)
            else:
                raise self._error(
                    ErrorCode.AUTH_FAILED,
                    "The user name or password has non-ASCII characters and the server "
                    "does not offer AUTH=PLAIN to send them.",
                )
        except MailTransportError:
            raise
        except LoginError as exc:
            # IMAPClient turns every failure during LOGIN into LoginError, a dropped
            # connection included; the original is still there as the context.
            if isinstance(exc.__context__, imaplib.IMAP4.abort | OSError):
                raise self._failure(exc.__context__) from None
            raise self._error(
                ErrorCode.AUTH_FAILED,
                f"The server rejected the login of {self.config.username!r}: {_server_text(exc)}",
            ) from None
        except Exception as exc:
            raise self._failure(exc) from None
        self._capabilities = frozenset(
            c.decode("ascii", "replace").upper() for c in client.capabilities()
        )

    def _select(self, client: Any) -> None:
        folder = self.config.folder
        try:
            response = client.select_folder(folder)
        except imaplib.IMAP4.error as exc:
            if isinstance(exc, imaplib.IMAP4.abort) or client.folder_exists(folder):
                raise self._failure(exc) from None
            raise self._unknown_folder(client, folder) from None
        except Exception as exc:
            raise self._failure(exc) from None
        if b"UIDVALIDITY" not in response:
            raise self._error(
                ErrorCode.PROTOCOL_ERROR, f"The server did not report UIDVALIDITY for {folder!r}."
            )
        self._uid_validity = int(response[b"UIDVALIDITY"])
        self._message_count = int(response.get(b"EXISTS", 0))
        self._high_uid = max(0, int(response.get(b"UIDNEXT", 1)) - 1)

    # Waiting for mail.

    def _uids_above(self, client: Any, after_uid: int) -> list[int]:
        found = client.search(["UID", f"{after_uid + 1}:*", "NOT", "DELETED"])
        # "UID n:*" always matches the last message, even when its UID is below n.
        return sorted(uid for uid in found if uid > after_uid)

    def _has_newer(self, client: Any) -> bool:
        # A SEARCH only sees mail the session has synced; NOOP syncs (and announces it).
        client.noop()
        self._announced(client)
        return bool(self._uids_above(client, self._high_uid))

    def _announced(self, client: Any) -> bool:
        """Pop the EXISTS/RECENT that imaplib kept from earlier commands; True if any.

        The server announces new mail once, at the end of whatever command runs next, and
        imaplib files those announcements away. IDLE will not repeat them, so the wait has to
        look here before it starts.
        """
        kept = client._imap.untagged_responses
        popped = [kept.pop(key, None) for key in ("EXISTS", "RECENT")]
        return any(item is not None for item in popped)

    def _idle_once(self, client: Any, seconds: float) -> None:
        """One IDLE, ended by news from the server or after ``seconds``.

        Raises ``MailTransportError`` (connection lost) when the server says BYE.
        """
        client.idle()
        end = time.monotonic() + seconds
        woken = False
        while not woken and time.monotonic() < end:
            responses = client.idle_check(timeout=max(0.0, end - time.monotonic()))
            if any(_says_bye(r) for r in responses):
                self._drop()
                raise self._error(
                    ErrorCode.CONNECTION_LOST, f"The server at {self._where()} hung up (BYE)."
                )
            if not responses and time.monotonic() < end:
                # Readable but no line: the server closed the socket (DONE below will fail)
                # or sent half a line; ending this IDLE sorts out which.
                break
            woken = any(_announces_mail(r) for r in responses)
        client.idle_done()  # its responses stay with imaplib, where _announced looks

    # Errors.

    def _require_client(self) -> Any:
        if self._client is None:
            raise RuntimeError("the mailbox is not connected; call connect() first")
        return self._client

    @contextmanager
    def _translating(self) -> Iterator[None]:
        """Turn what IMAPClient and sockets raise mid-session into ``MailTransportError``."""
        try:
            yield
        except MailTransportError:
            raise
        except imaplib.IMAP4.abort as exc:
            self._drop()
            raise self._error(
                ErrorCode.CONNECTION_LOST,
                f"The connection to {self._where()} broke: {_server_text(exc)}",
            ) from None
        except imaplib.IMAP4.error as exc:
            raise self._error(
                ErrorCode.PROTOCOL_ERROR,
                f"The server at {self._where()} refused a command: {_server_text(exc)}",
            ) from None
        except OSError as exc:
            self._drop()
            error = self._failure(exc)
            if error.code == ErrorCode.CONNECTION_REFUSED:  # mid-session: it was up before
                error = self._error(ErrorCode.CONNECTION_LOST, error.message)
            raise error from None

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _shutdown(client)

    def _where(self) -> str:
        return f"{self.config.host}:{self.config.effective_port}"

    def _error(self, code: ErrorCode, message: str) -> MailTransportError:
        return MailTransportError(code, redact(message, self.config.password))

    def _failure(self, exc: BaseException) -> MailTransportError:
        if isinstance(exc, imaplib.IMAP4.abort):
            return self._error(
                ErrorCode.CONNECTION_LOST,
                f"The server at {self._where()} closed the connection: {_server_text(exc)}",
            )
        if isinstance(exc, imaplib.IMAP4.error):
            return self._error(
                ErrorCode.PROTOCOL_ERROR,
                f"The server at {self._where()} answered unexpectedly: {_server_text(exc)}",
            )
        config = self.config
        error = network_error(exc, config.host, config.effective_port, config.timeout)
        return self._error(error.code, error.message)

    def _unknown_folder(self, client: Any, folder: str) -> MailTransportError:
        try:
            names = sorted(str(name) for _flags, _delimiter, name in client.list_folders())
        except Exception:
            names = []
        listing = f" Folders: {', '.join(names[:20])}." if names else ""
        return self._error(
            ErrorCode.UNKNOWN_FOLDER, f"The folder {folder!r} does not exist.{listing}"
        )


def _shutdown(client: Any) -> None:
    try:
        client.shutdown()
    except Exception:
        log.debug("closing an IMAP socket failed", exc_info=True)


def check_connection(
    config: MailboxConfig, processed_folder: str | None = None
) -> ConnectionReport:
    """Try the settings the way the worker will use them; never raises, never shows secrets."""
    try:
        with Mailbox(config) as mailbox:
            client = mailbox._require_client()
            if processed_folder and not client.folder_exists(processed_folder):
                raise mailbox._unknown_folder(client, processed_folder)
            waiting = "IDLE" if mailbox.uses_idle else f"polling every {config.poll_interval_s:g} s"
            return ConnectionReport(
                ok=True,
                error_code=None,
                message=(
                    f"Connected to {config.host}:{config.effective_port} as "
                    f"{config.username!r}: folder {config.folder!r} has "
                    f"{mailbox.message_count} messages; new mail is noticed by {waiting}."
                ),
            )
    except MailTransportError as exc:
        return ConnectionReport(ok=False, error_code=exc.code, message=exc.message)
    except Exception as exc:
        log.warning("IMAP connection check of %s failed unexpectedly", config.host, exc_info=True)
        return ConnectionReport(
            ok=False,
            error_code=ErrorCode.PROTOCOL_ERROR,
            message=redact(f"Unexpected failure: {type(exc).__name__}.", config.password),
        )

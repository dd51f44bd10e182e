"""Real mail servers for connector tests: a private Dovecot (IMAP) and an aiosmtpd sink (SMTP).

Both listen on a free loopback port and can be stopped and started again on the same port, so
tests can take a server away under a connected client. Nothing here is mocked: the connectors
talk to the servers over real sockets. Dovecot comes from Debian (scripts/system-packages.sh);
it runs as root with its own config, pid, sockets, logs and Maildirs in a temporary folder.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from imapclient import IMAPClient

HOST = "127.0.0.1"
MISSING = "run scripts/system-packages.sh (the test command does)"


def free_port() -> int:
    """A loopback port nobody listens on right now (so also a port that refuses connections)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel does) but never says a word."""
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def dovecot_binary() -> str:
    """Dovecot's path, or a test failure (not a skip) telling how to install it."""
    path = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.access(path, os.X_OK):
        pytest.fail(f"Dovecot is missing: {MISSING}.")
    if os.geteuid() != 0:
        pytest.fail("The Dovecot test server needs root (CI runs the tests as root).")
    return path


@dataclass(frozen=True)
class TestCertificate:
    """A self-signed certificate for localhost and 127.0.0.1; ``cert`` doubles as the CA file."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    cert: Path
    key: Path

    @classmethod
    def create(cls, directory: Path) -> TestCertificate:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.fail(f"openssl is missing: {MISSING}.")
        cert, key = directory / "cert.pem", directory / "key.pem"
        new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        names = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
        files = ["-keyout", str(key), "-out", str(cert)]
        command = [openssl, "req", "-x509", "-days", "2", *new_key, *names, *files]
        subprocess.run(command, check=True, capture_output=True)
        return cls(cert=cert, key=key)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


class DovecotServer:
    """A private Dovecot serving plain IMAP (and IMAPS with ``tls``) on loopback ports.

    Each user has a passwd-file of their own: Dovecot re-reads a changed passwd-file at most
    once a second, so a user added to a shared file can be unknown for up to a second, while
    a new file is read at the first login. Maildirs belong to ``nobody`` (Dovecot refuses uid 0
    for mail users). The anvil auth penalty is off: tests that log in with a wrong password
    on purpose would otherwise slow every later login from 127.0.0.1 by 2 to 15 s.
    ``extra_config`` lines go at the end of the config, e.g. ``imap_capability = ...`` to play
    a server without IDLE or MOVE.
    """

    START_TIMEOUT_S = 10.0
    STOP_TIMEOUT_S = 5.0

    def __init__(self, *, tls: TestCertificate | None = None, extra_config: str = "") -> None:
        self.binary = dovecot_binary()
        self.host = HOST
        self.port = free_port()
        self.tls = tls
        self.tls_port = free_port() if tls else None
        self.extra_config = extra_config
        self.root = Path(tempfile.mkdtemp(prefix="dangol-dovecot-"))
        # Dovecot's mail processes run as nobody and must reach the Maildirs below.
        self.root.chmod(0o755)
        self.users: dict[str, str] = {}
        self._nobody = pwd.getpwnam("nobody")
        self._process: subprocess.Popen[bytes] | None = None
        (self.root / "passwd").mkdir()
        self._write_config()

    @property
    def url(self) -> str:
        return f"imap://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Start Dovecot in the foreground of a child process; return once it greets."""
        if self._process is not None:
            return
        (self.root / "run" / "master.pid").unlink(missing_ok=True)
        output = (self.root / "output.log").open("ab")
        try:
            self._process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            output.close()
        deadline = time.monotonic() + self.START_TIMEOUT_S
        while not self._greets():
            if self._process.poll() is not None or time.monotonic() > deadline:
                state = "exited" if self._process.poll() is not None else "is not answering"
                self.stop()
                raise RuntimeError(f"Dovecot {state} on {self.url}:\n{self.logs()}")
            time.sleep(0.02)

    def stop(self, graceful: bool = True) -> None:
        """Stop Dovecot: SIGTERM (clients get BYE; Dovecot takes ~1 s) or SIGKILL at once.

        Either way every process of this server goes: they share the process group that
        ``start_new_session`` made for it, and only it.
        """
        process, self._process = self._process, None
        if process is None:
            return
        if graceful and process.poll() is None:
            process.terminate()
            with suppress(subprocess.TimeoutExpired):
                process.wait(self.STOP_TIMEOUT_S)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(self.STOP_TIMEOUT_S)

    def restart(self, graceful: bool = True) -> None:
        """Stop and start again: same port, same users, same mail; clients must reconnect."""
        self.stop(graceful)
        self.start()

    def close(self) -> None:
        self.stop(graceful=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self) -> str:
        parts = []
        for name in ("output.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts) or "(no log written)"

    def add_user(self, name: str, password: str) -> None:
        if not re.fullmatch(r"[\w.@+-]+", name) or ":" in password or "\n" in password:
            raise ValueError("user names are plain words; passwords may not contain ':'")
        home = self.root / "mail" / name
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, self._nobody.pw_uid, self._nobody.pw_gid)
        self.users[name] = password
        self._write_user(name)

    @contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient for arranging and inspecting a mailbox from the outside."""
        with IMAPClient(self.host, self.port, ssl=False, timeout=10) as imap:
            imap.plain_login(user, self.users[user])  # UTF-8, unlike LOGIN in imaplib
            yield imap

    def append(self, user: str, messages: Iterable[bytes], folder: str = "INBOX") -> list[int]:
        """Store raw messages in one MULTIAPPEND (one APPEND each without it); returns UIDs."""
        raws = list(messages)
        with self.client(user) as imap:
            if folder != "INBOX" and not imap.folder_exists(folder):
                imap.create_folder(folder)
            if imap.has_capability("MULTIAPPEND"):
                _typ, data = imap.multiappend(folder, raws)
                return _appended_uids(data[-1])
            return [uid for raw in raws for uid in _appended_uids(imap.append(folder, raw))]

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as probe:
                return probe.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def _write_user(self, name: str) -> None:
        uid, gid = self._nobody.pw_uid, self._nobody.pw_gid
        home = self.root / "mail" / name
        line = f"{name}:{{PLAIN}}{self.users[name]}:{uid}:{gid}::{home}::\n"
        staging = self.root / "passwd" / f".{name}.new"
        staging.write_text(line)
        staging.replace(self.root / "passwd" / name)  # a reader never sees half a file

    def _write_config(self) -> None:
        root = self.root
        tls = self.tls
        if tls is None:
            ssl_lines = "ssl = no"
            imaps = "inet_listener imaps {\n    port = 0\n  }"
        else:
            ssl_lines = f"ssl = yes\nssl_cert = <{tls.cert}\nssl_key = <{tls.key}"
            imaps = (
                f"inet_listener imaps {{\n    address = {self.host}\n"
                f"    port = {self.tls_port}\n    ssl = yes\n  }}"
            )
        (root / "dovecot.conf").write_text(
            f"""\
protocols = imap
listen = {self.host}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  {imaps}
}}
{self.extra_config}
"""
        )


def _appended_uids(response: bytes | str) -> list[int]:
    text = response.decode() if isinstance(response, bytes) else response
    match = re.search(r"APPENDUID \d+ ([\d:,]+)", text)
    if match is None:
        raise AssertionError(f"no APPENDUID in {text!r}")
    uids: list[int] = []
    for part in match.group(1).split(","):
        first, _, last = part.partition(":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


class SmtpSink:
    """An SMTP server that keeps what it receives, and can refuse on demand.

    With ``username``/``password`` it offers AUTH (allowed without TLS: loopback only) and
    refuses MAIL FROM before a login. With ``tls`` it offers STARTTLS, or speaks TLS from the
    first byte when ``implicit_tls`` is set. ``stop()`` and ``start()`` keep the port.
    """

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: TestCertificate | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.host = HOST
        self.port = free_port()
        self.username = username
        self.password = password
        self.tls = tls
        self.implicit_tls = implicit_tls
        self._received: list[ReceivedMail] = []
        self._rejections: dict[str, list[str]] = {"MAIL": [], "RCPT": [], "DATA": []}
        self._condition = threading.Condition()
        self._controller: Controller | None = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._condition:
            return list(self._received)

    def start(self) -> None:
        if self._controller is not None:
            return
        options: dict[str, object] = {"server_hostname": "sink.test", "ready_timeout": 5.0}
        if self.username is not None:
            options.update(authenticator=self._authenticate, auth_require_tls=False)
        if self.tls is not None:
            context = self.tls.server_context()
            options["ssl_context" if self.implicit_tls else "tls_context"] = context
        # aiosmtpd closes its event loop on stop, so each start needs a new controller.
        controller = Controller(_Handler(self), hostname=self.host, port=self.port, **options)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def reject_next(self, count: int, code: int, reason: str, at: str = "DATA") -> None:
        """Answer the next ``count`` MAIL, RCPT or DATA commands with ``code reason``."""
        with self._condition:
            self._rejections[at].extend([f"{code} {reason}"] * count)

    def wait_for_messages(self, count: int, timeout_s: float = 5.0) -> list[ReceivedMail]:
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._received) >= count, timeout_s):
                raise AssertionError(f"{len(self._received)} of {count} messages arrived")
            return list(self._received)

    def _take_rejection(self, command: str) -> str | None:
        with self._condition:
            pending = self._rejections[command]
            return pending.pop(0) if pending else None

    def _keep(self, envelope: Envelope) -> None:
        data = envelope.original_content or b""
        mail = ReceivedMail(envelope.mail_from or "", tuple(envelope.rcpt_tos), data)
        with self._condition:
            self._received.append(mail)
            self._condition.notify_all()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode() == self.username and data.password.decode() == self.password
        )
        # handled=False: aiosmtpd answers 535 itself (handled=True means "I already replied").
        return AuthResult(success=ok, handled=False)


class _Handler:
    """aiosmtpd hooks; they run on the controller's event-loop thread."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.sink.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        rejection = self.sink._take_rejection("MAIL")
        if rejection:
            return rejection
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        rejection = self.sink._take_rejection("RCPT")
        if rejection:
            return rejection
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        rejection = self.sink._take_rejection("DATA")
        if rejection:
            return rejection
        self.sink._keep(envelope)
        return "250 Message accepted"

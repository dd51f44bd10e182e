"""The IMAP mailbox against a real, private Dovecot: fetch once, mark, wait, fail clearly."""

from __future__ import annotations

import base64
import itertools
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from connectors.email.mailbox import Mailbox, MailboxConfig, check_connection
from connectors.email.transport import Backoff, ErrorCode, MailTransportError
from tests.mailservers import DovecotServer, TestCertificate, free_port, silent_port

PASSWORD = "correct horse 배터리"  # not ASCII: LOGIN cannot carry it, AUTHENTICATE PLAIN can
_users = itertools.count(1)

# Without IDLE and MOVE: the polling and COPY + EXPUNGE paths.
BASIC_IMAP = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS UNSELECT MULTIAPPEND"


def message(number: int, subject: bytes = "문의 드립니다".encode(), body: bytes = b"") -> bytes:
    body = body or f"본문 {number}".encode()
    return (
        b"From: =?UTF-8?B?6rOg6rCd?= <customer@example.com>\r\n"
        b"To: support@example.com\r\n"
        b"Subject: " + subject + b" #" + str(number).encode() + b"\r\n"
        b"Message-ID: <" + str(number).encode() + b"@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n" + body + b"\r\n"
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificate:
    return TestCertificate.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    with DovecotServer() as server:
        yield server


@pytest.fixture(scope="module")
def tls_dovecot(certificate: TestCertificate) -> Iterator[DovecotServer]:
    with DovecotServer(tls=certificate) as server:
        yield server


@pytest.fixture(scope="module")
def basic_dovecot() -> Iterator[DovecotServer]:
    with DovecotServer(extra_config=BASIC_IMAP) as server:
        yield server


@pytest.fixture
def own_dovecot() -> Iterator[DovecotServer]:
    """A server of the test's own, for restarting under a connected client."""
    with DovecotServer() as server:
        yield server


def new_account(server: DovecotServer, **options: object) -> tuple[str, MailboxConfig]:
    """A fresh user on ``server`` (tests stay independent) and a plain-IMAP config for it."""
    user = f"agent{next(_users)}"
    server.add_user(user, PASSWORD)
    settings: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": user,
        "password": PASSWORD,
        "timeout": 5.0,
    }
    settings.update(options)
    return user, MailboxConfig(**settings)  # type: ignore[arg-type]


def flags_of(server: DovecotServer, user: str, folder: str = "INBOX") -> dict[int, set[bytes]]:
    with server.client(user) as imap:
        imap.select_folder(folder, readonly=True)
        uids = imap.search("ALL")
        return {uid: set(flags) for uid, flags in imap.get_flags(uids).items()} if uids else {}


def appended_later(server: DovecotServer, user: str, delay_s: float) -> threading.Thread:
    """Deliver a message from another connection after ``delay_s``, noting ``.appended_at``."""

    def deliver() -> None:
        time.sleep(delay_s)
        server.append(user, [message(99)])
        worker.appended_at = time.monotonic()  # type: ignore[attr-defined]

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    return worker


# Fetching exactly once.


def test_fetch_new_returns_the_stored_bytes_and_leaves_mail_unseen(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    raws = [
        message(1),  # UTF-8 subject sent as raw 8-bit bytes
        message(2, subject=b"=?UTF-8?B?7ZmY67aI7JqU7LKt?="),
        message(3, subject="견적 요청".encode("euc-kr"), body="똠방각하".encode("cp949")),
    ]
    uids = dovecot.append(user, raws)

    with Mailbox(config) as mailbox:
        fetched = mailbox.fetch_new(after_uid=0, limit=10)

    assert [m.uid for m in fetched] == uids
    assert [m.raw for m in fetched] == raws
    assert [m.size for m in fetched] == [len(raw) for raw in raws]
    assert all(b"\\Seen" not in flags for flags in flags_of(dovecot, user).values())


def test_processed_mail_is_seen_and_skipped_by_after_uid(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    first, second, third = dovecot.append(user, [message(n) for n in (1, 2, 3)])

    with Mailbox(config) as mailbox:
        mailbox.fetch_new(after_uid=0, limit=2)
        mailbox.mark_processed([first, second])
        rest = mailbox.fetch_new(after_uid=second, limit=10)
        # The server answers "UID 4:*" with message 3: it must not come back.
        after_last = mailbox.fetch_new(after_uid=third, limit=10)

    assert [m.uid for m in rest] == [third]
    assert after_last == []
    flags = flags_of(dovecot, user)
    assert b"\\Seen" in flags[first] and b"\\Seen" in flags[second]
    assert b"\\Seen" not in flags[third]


def test_uid_validity_is_the_folders_and_survives_reconnecting(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    dovecot.append(user, [message(1)])
    with dovecot.client(user) as imap:
        expected = imap.select_folder("INBOX")[b"UIDVALIDITY"]

    with Mailbox(config) as mailbox:
        first = mailbox.uid_validity
        mailbox.connect()
        assert mailbox.uid_validity == first == expected > 0


def test_fetch_new_pages_through_a_large_mailbox(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    uids = dovecot.append(user, [message(n) for n in range(600)])

    pages: list[list[int]] = []
    with Mailbox(config) as mailbox:
        last = 0
        while batch := mailbox.fetch_new(after_uid=last, limit=250):
            pages.append([m.uid for m in batch])
            last = batch[-1].uid

    assert [len(page) for page in pages] == [250, 250, 100]
    assert [uid for page in pages for uid in page] == uids


def test_fetch_new_stops_at_max_bytes_but_always_makes_progress(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    big = message(1, body=b"x" * 5000)
    uids = dovecot.append(user, [big, message(2), message(3)])

    with Mailbox(config) as mailbox:
        alone = mailbox.fetch_new(after_uid=0, limit=10, max_bytes=1000)
        together = mailbox.fetch_new(after_uid=uids[0], limit=10, max_bytes=1000)

    assert [m.uid for m in alone] == uids[:1]
    assert [m.uid for m in together] == uids[1:]


def test_messages_flagged_deleted_are_skipped(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    kept, deleted = dovecot.append(user, [message(1), message(2)])
    with dovecot.client(user) as imap:
        imap.select_folder("INBOX")
        imap.delete_messages([deleted])

    with Mailbox(config) as mailbox:
        assert [m.uid for m in mailbox.fetch_new(after_uid=0)] == [kept]


def test_processed_mail_moves_to_a_korean_folder(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    uids = dovecot.append(user, [message(1), message(2)])
    with dovecot.client(user) as imap:
        imap.create_folder("처리 완료")

    with Mailbox(config) as mailbox:
        assert "MOVE" in mailbox.capabilities
        mailbox.mark_processed(uids, move_to="처리 완료")

    assert flags_of(dovecot, user) == {}
    moved = flags_of(dovecot, user, "처리 완료")
    assert len(moved) == 2 and all(b"\\Seen" in flags for flags in moved.values())


def test_without_move_processed_mail_is_copied_then_expunged(basic_dovecot: DovecotServer) -> None:
    user, config = new_account(basic_dovecot)
    keep, done = basic_dovecot.append(user, [message(1), message(2)])
    with basic_dovecot.client(user) as imap:
        imap.create_folder("Processed")

    with Mailbox(config) as mailbox:
        assert "MOVE" not in mailbox.capabilities
        mailbox.mark_processed([done], move_to="Processed")

    assert list(flags_of(basic_dovecot, user)) == [keep]
    assert [b"\\Seen" in f for f in flags_of(basic_dovecot, user, "Processed").values()] == [True]


def test_moving_to_a_missing_folder_is_reported_and_leaves_mail_seen(
    dovecot: DovecotServer,
) -> None:
    user, config = new_account(dovecot)
    (uid,) = dovecot.append(user, [message(1)])

    with Mailbox(config) as mailbox:
        with pytest.raises(MailTransportError) as failure:
            mailbox.mark_processed([uid], move_to="Nowhere")
        assert mailbox.connected  # a refused command does not cost the connection

    assert failure.value.code == ErrorCode.UNKNOWN_FOLDER
    assert "'Nowhere'" in failure.value.message and "INBOX" in failure.value.message
    assert b"\\Seen" in flags_of(dovecot, user)[uid]


# Waiting for new mail.


def test_idle_wakes_soon_after_mail_arrives(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    with Mailbox(config) as mailbox:
        assert mailbox.uses_idle
        assert mailbox.fetch_new(after_uid=0) == []
        delivery = appended_later(dovecot, user, delay_s=0.2)

        assert mailbox.wait_for_new(timeout_s=10) is True
        woke_at = time.monotonic()
        delivery.join()
        # Dovecot announces new mail ~0.5 s after it lands.
        assert woke_at - delivery.appended_at < 2.0  # type: ignore[attr-defined]
        assert [m.raw for m in mailbox.fetch_new(after_uid=0)] == [message(99)]


def test_wait_for_new_returns_false_when_nothing_comes(dovecot: DovecotServer) -> None:
    _, config = new_account(dovecot)
    with Mailbox(config) as mailbox:
        started = time.monotonic()
        assert mailbox.wait_for_new(timeout_s=0.3) is False
        assert 0.3 <= time.monotonic() - started < 1.5
        assert mailbox.fetch_new(after_uid=0) == []  # the connection is usable after IDLE


def test_mail_that_arrived_before_the_wait_is_not_missed(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    with Mailbox(config) as mailbox:
        mailbox.fetch_new(after_uid=0)
        dovecot.append(user, [message(1)])  # between the fetch and the wait

        started = time.monotonic()
        assert mailbox.wait_for_new(timeout_s=10) is True
        # IDLE would not announce it (the command before it did, and imaplib filed it): without
        # the look before waiting, this would sleep the whole 10 s.
        assert time.monotonic() - started < 2


def test_without_idle_the_mailbox_polls(basic_dovecot: DovecotServer) -> None:
    user, config = new_account(basic_dovecot, poll_interval_s=0.1)
    with Mailbox(config) as mailbox:
        assert not mailbox.uses_idle
        delivery = appended_later(basic_dovecot, user, delay_s=0.2)
        assert mailbox.wait_for_new(timeout_s=10) is True
        delivery.join()
        assert len(mailbox.fetch_new(after_uid=0)) == 1


# Failures, reconnecting and the "test connection" button.


def test_check_connection_describes_a_working_mailbox(dovecot: DovecotServer) -> None:
    user, config = new_account(dovecot)
    dovecot.append(user, [message(1), message(2)])

    report = check_connection(config)

    assert report.ok and report.error_code is None
    assert f"'{user}'" in report.message and "2 messages" in report.message
    assert "IDLE" in report.message


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("wrong password", ErrorCode.AUTH_FAILED, "rejected the login"),
        ("unknown folder", ErrorCode.UNKNOWN_FOLDER, "'Tickets' does not exist"),
        ("missing processed folder", ErrorCode.UNKNOWN_FOLDER, "'Done' does not exist"),
        ("closed port", ErrorCode.CONNECTION_REFUSED, "refused the connection"),
        ("silent server", ErrorCode.TIMEOUT, "did not answer within 0.3 seconds"),
        ("TLS to a plain port", ErrorCode.TLS_FAILED, "does not speak TLS"),
        ("STARTTLS not offered", ErrorCode.TLS_FAILED, "does not offer STARTTLS"),
        ("unknown host", ErrorCode.UNKNOWN_HOST, "could not be found"),
    ],
)
def test_check_connection_explains_what_is_wrong(
    dovecot: DovecotServer, case: str, code: ErrorCode, words: str
) -> None:
    _, config = new_account(dovecot)
    settings = {
        "wrong password": {"password": "not the password"},
        "unknown folder": {"folder": "Tickets"},
        "closed port": {"port": free_port()},
        "TLS to a plain port": {"security": "ssl"},
        "STARTTLS not offered": {"security": "starttls"},
        "unknown host": {"host": "imap.does-not-exist.invalid"},
    }.get(case, {})
    processed = "Done" if case == "missing processed folder" else None

    with silent_port() as quiet:
        if case == "silent server":
            settings = {"port": quiet, "timeout": 0.3}
        report = check_connection(replace(config, **settings), processed)

    assert (report.ok, report.error_code) == (False, code)
    assert words in report.message
    assert "Traceback" not in report.message and PASSWORD not in report.message


def test_tls_connections_verify_the_certificate(
    tls_dovecot: DovecotServer, certificate: TestCertificate
) -> None:
    user, plain = new_account(tls_dovecot)
    tls_dovecot.append(user, [message(1)])
    trusted = str(certificate.cert)
    implicit = replace(plain, port=tls_dovecot.tls_port, security="ssl")
    starttls = replace(plain, security="starttls", ca_file=trusted)

    untrusted = check_connection(implicit)
    assert untrusted.error_code == ErrorCode.TLS_FAILED
    assert "certificate" in untrusted.message and "could not be verified" in untrusted.message
    assert check_connection(replace(implicit, ca_file=trusted)).ok
    with Mailbox(starttls) as mailbox:
        assert [m.raw for m in mailbox.fetch_new(after_uid=0)] == [message(1)]


def test_the_password_stays_out_of_logs_reprs_and_reports(
    dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    user, config = new_account(dovecot)
    dovecot.append(user, [message(1)])
    wrong = replace(config, password="hunter2-wrong")
    caplog.set_level(logging.DEBUG)  # IMAPClient and imaplib log every command at DEBUG

    with Mailbox(config) as mailbox:
        mailbox.fetch_new(after_uid=0)
    report = check_connection(wrong)

    # Both ways of logging in were logged (UTF-8 passwords go by AUTHENTICATE PLAIN)...
    assert "AUTHENTICATE **REDACTED**" in caplog.text and "LOGIN **REDACTED**" in caplog.text
    # ...but not the secrets, plain or base64-encoded.
    plain = base64.b64encode(f"\0{user}\0{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, "hunter2-wrong", plain):
        assert secret not in caplog.text
    assert PASSWORD not in repr(config) and "hunter2-wrong" not in report.message


def test_a_restarted_server_costs_one_error_then_reconnect_works(
    own_dovecot: DovecotServer,
) -> None:
    user, config = new_account(own_dovecot)
    (uid,) = own_dovecot.append(user, [message(1)])
    with Mailbox(config) as mailbox:
        validity = mailbox.uid_validity
        own_dovecot.restart(graceful=False)  # a crash: the socket just dies

        with pytest.raises(MailTransportError) as failure:
            mailbox.fetch_new(after_uid=0)
        assert failure.value.code == ErrorCode.CONNECTION_LOST and failure.value.transient
        assert not mailbox.connected

        mailbox.connect()
        assert mailbox.uid_validity == validity
        assert [m.uid for m in mailbox.fetch_new(after_uid=0)] == [uid]


@pytest.mark.parametrize("graceful", [True, False], ids=["shutdown with BYE", "crash"])
def test_a_server_going_away_during_idle_ends_the_wait(
    own_dovecot: DovecotServer, graceful: bool
) -> None:
    _, config = new_account(own_dovecot)
    restart = threading.Timer(0.3, own_dovecot.restart, kwargs={"graceful": graceful})
    with Mailbox(config) as mailbox:
        restart.start()
        started = time.monotonic()

        with pytest.raises(MailTransportError) as failure:
            mailbox.wait_for_new(timeout_s=30)

        assert failure.value.code == ErrorCode.CONNECTION_LOST
        assert time.monotonic() - started < 5
        assert not mailbox.connected
        restart.join()
        mailbox.connect()
        assert mailbox.wait_for_new(timeout_s=0.1) is False


def test_reconnect_loop_with_backoff_gets_back_in_when_the_server_returns(
    own_dovecot: DovecotServer,
) -> None:
    user, config = new_account(own_dovecot)
    own_dovecot.append(user, [message(1)])
    own_dovecot.stop(graceful=False)
    comeback = threading.Timer(0.4, own_dovecot.start)
    comeback.start()
    backoff = Backoff(base_s=0.05, cap_s=0.2, rng=random.Random(7))
    mailbox = Mailbox(config)
    errors: list[ErrorCode] = []

    deadline = time.monotonic() + 10
    while not mailbox.connected and time.monotonic() < deadline:
        try:
            mailbox.connect()
            backoff.reset()
        except MailTransportError as exc:
            errors.append(exc.code)
            time.sleep(backoff.next_delay())

    comeback.join()
    with mailbox:
        assert len(mailbox.fetch_new(after_uid=0)) == 1
    assert errors and set(errors) == {ErrorCode.CONNECTION_REFUSED}
    assert backoff.attempts == 0


def test_backoff_grows_with_jitter_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(base_s=1, cap_s=30, rng=random.Random(1))

    delays = [backoff.next_delay() for _ in range(8)]
    steps = [1, 2, 4, 8, 16, 30, 30, 30]
    assert all(step / 2 <= delay <= step for delay, step in zip(delays, steps, strict=True))
    assert len(set(delays)) == len(delays)  # jittered, not lockstep
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_config_defaults_and_validation() -> None:
    base = {"host": "imap.example.com", "username": "u", "password": "p"}
    assert MailboxConfig(**base).effective_port == 993
    assert MailboxConfig(**base, security="starttls").effective_port == 143
    with pytest.raises(ValueError, match="security"):
        MailboxConfig(**base, security="tls")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="not connected"):
        Mailbox(MailboxConfig(**base)).fetch_new(after_uid=0)


def test_a_dovecot_that_cannot_start_fails_with_its_log() -> None:
    broken = DovecotServer(extra_config="no_such_setting = 1")
    try:
        with pytest.raises(RuntimeError, match="no_such_setting"):
            broken.start()
    finally:
        broken.close()

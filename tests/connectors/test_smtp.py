"""Sending over SMTP against a real aiosmtpd sink: delivered intact, or told whether to retry."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from connectors.email.smtp import SendStatus, SmtpConfig, check_connection, send
from connectors.email.transport import ErrorCode
from tests.mailservers import SmtpSink, TestCertificate, free_port, silent_port

USER, PASSWORD = "helpdesk", "s3cret-smtp-pw"
ATTACHMENT = bytes(range(256)) * 40  # every byte value survives base64 and the wire


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificate:
    return TestCertificate.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def auth_sink() -> Iterator[SmtpSink]:
    with SmtpSink(username=USER, password=PASSWORD) as server:
        yield server


def config_for(server: SmtpSink, **options: object) -> SmtpConfig:
    settings: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "from_address": "support@dangol.example",
        "from_name": "단골 고객센터",
        "timeout": 5.0,
        "helo_name": "dangol.test",
    }
    if server.username:
        settings.update(username=server.username, password=server.password)
    settings.update(options)
    return SmtpConfig(**settings)  # type: ignore[arg-type]


def reply(config: SmtpConfig, subject: str = "Re: 견적 문의 [#1042]") -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = "김고객 <customer@example.com>"
    message["Subject"] = subject
    message["Message-ID"] = "<ticket-1042-7@dangol.example>"
    message.set_content("안녕하세요, 견적서를 보내 드립니다.\n")
    message.add_alternative("<p>안녕하세요, <b>견적서</b>를 보내 드립니다.</p>", subtype="html")
    message.add_attachment(
        ATTACHMENT, maintype="application", subtype="pdf", filename="견적서 2026.pdf"
    )
    return message


# Delivery.


def test_a_multipart_reply_arrives_intact(sink: SmtpSink) -> None:
    config = config_for(sink)
    message = reply(config)
    message["Bcc"] = "manager@dangol.example"

    result = send(config, message, None, ["customer@example.com", "manager@dangol.example"])

    assert (result.status, result.smtp_code, result.refused) == (SendStatus.SENT, 250, {})
    (mail,) = sink.messages
    assert mail.mail_from == "support@dangol.example"
    assert mail.rcpt_tos == ("customer@example.com", "manager@dangol.example")
    received = message_from_bytes(mail.data, policy=policy.default)
    assert received["Subject"] == "Re: 견적 문의 [#1042]"
    assert received["From"].addresses[0].display_name == "단골 고객센터"
    assert "Bcc" not in received  # the envelope carries it, the header must not
    assert b"manager@dangol.example" not in mail.data
    (attachment,) = received.iter_attachments()
    assert attachment.get_filename() == "견적서 2026.pdf"
    assert attachment.get_content() == ATTACHMENT
    assert (
        received.get_body(("plain",)).get_content().strip() == "안녕하세요, 견적서를 보내 드립니다."
    )
    assert "Bcc" in message  # the caller's message is left alone


def test_raw_bytes_go_out_unchanged_except_bare_newlines(sink: SmtpSink) -> None:
    config = config_for(sink)
    raw = (
        "From: support@dangol.example\r\nTo: customer@example.com\r\n"
        "Subject: =?UTF-8?B?7JWI64WV?=\r\nContent-Type: text/plain; charset=euc-kr\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n.점으로 시작하는 줄\r\n"
    ).encode("euc-kr")

    assert send(config, raw, None, ["customer@example.com"]).status == SendStatus.SENT
    assert send(config, raw.replace(b"\r\n", b"\n"), None, ["customer@example.com"]).sent

    first, second = sink.messages
    assert first.data == raw  # 8-bit body and a leading dot (dot-stuffed on the wire) intact
    assert second.data == raw


def test_non_ascii_addresses_use_smtputf8(sink: SmtpSink) -> None:
    config = config_for(sink)

    result = send(config, reply(config), "반송@dangol.example", ["고객@example.com"])

    assert result.status == SendStatus.SENT
    assert sink.messages[0].rcpt_tos == ("고객@example.com",)
    assert sink.messages[0].mail_from == "반송@dangol.example"


# What the outbox should do when it fails.


@pytest.mark.parametrize(
    ("code", "reason", "status"),
    [
        (451, "4.3.0 Mailbox busy, try again later", SendStatus.TEMPORARY_FAILURE),
        (550, "5.7.1 Message rejected as spam (score 12.3)", SendStatus.PERMANENT_FAILURE),
    ],
)
def test_a_refused_message_is_temporary_or_permanent_with_the_reason(
    sink: SmtpSink, code: int, reason: str, status: SendStatus
) -> None:
    config = config_for(sink)
    sink.reject_next(1, code, reason)

    refused = send(config, reply(config), None, ["customer@example.com"])
    again = send(config, reply(config), None, ["customer@example.com"])

    assert (refused.status, refused.smtp_code, refused.error_code) == (status, code, None)
    assert reason in refused.message
    assert refused.retry is (status == SendStatus.TEMPORARY_FAILURE)
    assert again.status == SendStatus.SENT and len(sink.messages) == 1


def test_refused_recipients_are_listed_or_fail_the_message(sink: SmtpSink) -> None:
    config = config_for(sink)
    sink.reject_next(1, 550, "5.1.1 No such user here", at="RCPT")
    partly = send(config, reply(config), None, ["gone@example.com", "customer@example.com"])
    sink.reject_next(2, 450, "4.2.1 Mailbox full, try later", at="RCPT")
    nobody_now = send(config, reply(config), None, ["a@example.com", "b@example.com"])
    sink.reject_next(1, 553, "5.7.1 Sender address rejected", at="MAIL")
    bad_sender = send(config, reply(config), "spoof@elsewhere.example", ["a@example.com"])

    assert partly.status == SendStatus.SENT
    assert partly.refused == {"gone@example.com": (550, "5.1.1 No such user here")}
    assert sink.messages[0].rcpt_tos == ("customer@example.com",)
    assert nobody_now.status == SendStatus.TEMPORARY_FAILURE
    assert "a@example.com: 450 4.2.1 Mailbox full" in nobody_now.message
    assert (bad_sender.status, bad_sender.smtp_code) == (SendStatus.PERMANENT_FAILURE, 553)
    assert "Sender address rejected" in bad_sender.message


def test_a_server_that_is_down_means_retry_and_it_works_once_back(sink: SmtpSink) -> None:
    config = config_for(sink)
    sink.stop()

    down = send(config, reply(config), None, ["customer@example.com"])
    sink.start()  # same port
    back = send(config, reply(config), None, ["customer@example.com"])

    assert (down.status, down.error_code) == (
        SendStatus.TEMPORARY_FAILURE,
        ErrorCode.CONNECTION_REFUSED,
    )
    assert f"{sink.host}:{sink.port} refused the connection" in down.message
    assert back.status == SendStatus.SENT and len(sink.messages) == 1


def test_a_silent_server_times_out_as_a_temporary_failure() -> None:
    with silent_port() as port:
        config = SmtpConfig(
            host="127.0.0.1", port=port, security="none", from_address="a@b.c", timeout=0.3
        )
        result = send(config, b"Subject: x\r\n\r\nx\r\n", None, ["c@d.e"])

    assert (result.status, result.error_code) == (SendStatus.TEMPORARY_FAILURE, ErrorCode.TIMEOUT)
    assert "did not answer within 0.3 seconds" in result.message


# Logging in.


def test_login_with_the_right_password_sends(auth_sink: SmtpSink) -> None:
    config = config_for(auth_sink)
    assert send(config, reply(config), None, ["customer@example.com"]).status == SendStatus.SENT


def test_a_utf8_password_is_sent_with_auth_plain() -> None:
    with SmtpSink(username="상담원", password="비밀번호-123") as server:
        config = config_for(server)
        assert send(config, reply(config), None, ["customer@example.com"]).sent


def test_a_wrong_password_is_reported_without_showing_it(
    auth_sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = config_for(auth_sink, password="not-the-pw-42")

    result = send(config, reply(config), None, ["customer@example.com"])
    report = check_connection(config)

    assert (result.status, result.error_code) == (
        SendStatus.TEMPORARY_FAILURE,
        ErrorCode.AUTH_FAILED,
    )
    assert (report.ok, report.error_code) == (False, ErrorCode.AUTH_FAILED)
    assert "rejected the login of 'helpdesk'" in report.message and "535" in report.message
    for text in (result.message, report.message, caplog.text, repr(config)):
        assert "not-the-pw-42" not in text
    assert auth_sink.messages == []


# The "test connection" button.


def test_check_connection_describes_a_working_server(auth_sink: SmtpSink) -> None:
    report = check_connection(config_for(auth_sink))

    assert report.ok and report.error_code is None
    assert "as 'helpdesk'" in report.message
    assert "accepts mail from support@dangol.example" in report.message
    assert auth_sink.messages == []  # MAIL FROM was followed by RSET, nothing was sent


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("no login", ErrorCode.AUTH_FAILED, "wants a login"),
        ("sender refused", ErrorCode.SENDER_REJECTED, "refuses mail from"),
        ("closed port", ErrorCode.CONNECTION_REFUSED, "refused the connection"),
        ("TLS to a plain port", ErrorCode.TLS_FAILED, "does not speak TLS"),
        ("STARTTLS not offered", ErrorCode.TLS_FAILED, "does not offer STARTTLS"),
    ],
)
def test_check_connection_explains_what_is_wrong(
    auth_sink: SmtpSink, case: str, code: ErrorCode, words: str
) -> None:
    config = config_for(auth_sink)
    config = {
        "no login": replace(config, username=None, password=None),
        "sender refused": config,
        "closed port": replace(config, port=free_port()),
        "TLS to a plain port": replace(config, security="ssl"),
        "STARTTLS not offered": replace(config, security="starttls"),
    }[case]
    if case == "sender refused":
        auth_sink.reject_next(
            1, 550, "5.7.60 Client does not have permission to send as this sender", at="MAIL"
        )

    report = check_connection(config)

    assert (report.ok, report.error_code) == (False, code)
    assert words in report.message and "Traceback" not in report.message


def test_tls_is_verified_both_ways_of_starting_it(certificate: TestCertificate) -> None:
    trusted = str(certificate.cert)
    with (
        SmtpSink(username=USER, password=PASSWORD, tls=certificate) as starttls,
        SmtpSink(tls=certificate, implicit_tls=True) as implicit,
    ):
        good_starttls = config_for(starttls, security="starttls", ca_file=trusted)
        good_implicit = config_for(implicit, security="ssl", ca_file=trusted)
        untrusted = config_for(implicit, security="ssl")

        assert check_connection(good_starttls).ok
        assert send(good_implicit, reply(good_implicit), None, ["c@example.com"]).sent
        report = check_connection(untrusted)

        assert len(implicit.messages) == 1
    assert report.error_code == ErrorCode.TLS_FAILED
    assert "could not be verified" in report.message


def test_config_defaults_and_validation() -> None:
    base = {"host": "smtp.example.com", "from_address": "a@example.com"}
    assert SmtpConfig(**base).effective_port == 587
    assert SmtpConfig(**base, security="ssl").effective_port == 465
    with pytest.raises(ValueError, match="security"):
        SmtpConfig(**base, security="tls")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="recipient"):
        send(SmtpConfig(**base), b"x", None, [])

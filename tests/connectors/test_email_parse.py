"""The inbound email parser: a corpus of real-world messages, quoting, bounces, robustness."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.email import (
    Address,
    EmailParseError,
    EmailTooLarge,
    MailKind,
    ParsedEmail,
    parse_email,
    rewrite_cid_urls,
    strip_reply_prefixes,
    ticket_numbers_in_subject,
)
from connectors.email import parse as parse_module
from connectors.email.charsets import decode_text

CORPUS = Path(__file__).parent / "corpus"
LIMIT = 10 * 1024 * 1024
KST = timezone(timedelta(hours=9))


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def parse(name: str) -> ParsedEmail:
    return parse_email(corpus(name), max_bytes=LIMIT)


def email(body: str, *, html: bool = False, headers: str = "") -> bytes:
    """A minimal UTF-8 message around ``body`` (LF line ends become CRLF)."""
    content_type = "text/html" if html else "text/plain"
    head = (
        "From: Customer <customer@example.com>\r\nTo: support@dangol.example\r\n"
        f"Subject: test\r\n{headers}MIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + body.replace("\n", "\r\n")).encode()


def names(message: ParsedEmail) -> list[tuple[str, str, int]]:
    return [(a.filename, a.content_type, a.size) for a in message.attachments]


# --- the corpus: one message each -------------------------------------------------------------


def test_utf8_korean_reply_with_threading_headers():
    message = parse("01-utf8-plain-korean.eml")
    assert message.subject == "Re: [#12345] 로그인이 안 됩니다"
    assert message.sender == Address("홍길동", "hong.gildong@example.com")
    assert message.to == (
        Address("Dangol Support", "support@dangol.example"),
        Address("", "sales@dangol.example"),
    )
    assert message.cc == (Address("Kim, Cheolsu", "cs.kim@example.com"),)
    assert message.message_id == "CAF1x=abc123@mail.gmail.com"
    assert message.in_reply_to == "ticket-12345-1@dangol.example"
    assert message.references == (
        "ticket-12345-0@dangol.example",
        "ticket-12345-1@dangol.example",
    )
    assert message.date == datetime(2024, 3, 5, 14, 12, 3, tzinfo=KST)
    assert message.text.startswith("똠방각하 님, 로그인이 안 됩니다. 비밀번호를 바꿨는데도")
    assert message.html is None and message.visible_html is None
    assert message.kind is MailKind.HUMAN and not message.is_automated
    assert message.size == len(corpus("01-utf8-plain-korean.eml"))


def test_outlook_ks_c_5601_keeps_extended_hangul_everywhere():
    message = parse("02-outlook-ks-c-5601.eml")
    assert message.subject == "회신: [#12345] 똠방각하 견적 문의"
    assert message.sender == Address("김햏", "haeng.kim@example.co.kr")
    assert "\ufffd" not in message.text + (message.html or "")
    assert message.visible_text == "안녕하세요, 똠방각하 건으로 연락드립니다.\n견적서를 첨부합니다."
    assert "-----Original Message-----" in message.text
    assert message.visible_html == (
        "<div><p>안녕하세요, 똠방각하 건으로 연락드립니다.</p><p>견적서를 첨부합니다.</p></div>"
    )
    assert "보낸 사람:" in (message.html or "")
    assert names(message) == [("견적서_똠방각하.pdf", "application/pdf", 45)]
    assert message.message_id == "000001da6e8f$1a2b3c40$4e5f6a70$@example.co.kr"


def test_raw_euc_kr_bytes_in_headers_and_an_undeclared_8bit_body():
    message = parse("03-euc-kr-8bit-undeclared.eml")
    assert message.subject == "결제 문의: 똠방각하"
    assert message.sender == Address("박햏자", "haengja@example.co.kr")
    assert (
        message.text == "햏자 님께서 문의하신 내용입니다.\n똠방각하 계정의 결제가 두 번 되었습니다."
    )


def test_iso_2022_kr():
    message = parse("04-iso-2022-kr.eml")
    assert (message.subject, message.sender.name) == ("배송 문의", "이영희")
    assert message.text == "안녕하세요.\n배송 문의드립니다."


def test_iso_2022_jp():
    message = parse("05-iso-2022-jp.eml")
    assert (message.subject, message.sender.name) == ("【問い合わせ】配送について", "山田太郎")
    assert message.text == "お問い合わせありがとうございます。\n配送状況を確認いたします。"


def test_shift_jis_is_read_as_cp932():
    message = parse("06-shift-jis-cp932.eml")
    assert (message.subject, message.sender.name) == ("請求書①について", "佐藤花子")
    assert message.text == "請求書①を添付します。\nご確認ください。"


def test_gb2312_label_is_read_as_gb18030():
    message = parse("07-gb2312-label-gbk-text.eml")
    assert (message.subject, message.sender.name) == ("发票问题（镕）", "王伟")
    assert message.text == "朱镕基 您好，发票已经发送。"


def test_big5():
    message = parse("08-big5.eml")
    assert (message.subject, message.sender.name) == ("訂單查詢", "陳小明")
    assert message.text == "您好，請問訂單何時出貨？"


def test_windows_charsets_with_odd_case_and_quotes():
    message = parse("09-windows-125x-aliases.eml")
    assert message.subject == "Café order – “urgent”"
    assert "The price is €20 – “fine”." in message.text
    assert "Здравствуйте, спасибо." in message.text


def test_lying_and_unknown_charsets_fall_back():
    message = parse("10-lying-charsets.eml")
    assert message.text.splitlines() == [
        "똠방각하 주문 취소 요청입니다.",  # declared utf-8, really cp949
        "Crème brûlée 한글",  # declared iso-8859-1, really utf-8
        "알 수 없는 문자셋",  # x-unknown-charset
    ]


def test_broken_encoded_words_and_raw_utf8_in_headers():
    message = parse("11-broken-encoded-words.eml")
    # split mid-character across folded words, then a word with an unknown charset
    assert message.subject == "환불 요청 긴급"
    assert message.sender == Address("Park 민수", "minsu.park@example.com")  # no b64 padding
    assert message.to == (Address("고객센터", "help@dangol.example"),)


def test_gmail_reply_collapses_the_quote_in_both_bodies():
    message = parse("12-gmail-reply.eml")
    assert message.visible_text == "Thanks, that fixed it!"
    assert message.visible_html == "<div>Thanks, that fixed it!</div>"
    assert "Please try clearing the cache." in message.text
    assert "Please try clearing the cache." in (message.html or "")
    assert message.has_quoted_history


def test_outlook_reply_collapses_the_header_block():
    message = parse("13-outlook-reply.eml")
    assert message.sender == Address("Bob Lee", "bob.lee@contoso.example")
    assert message.visible_text == "Hi,\n\nStill broken after the update."
    assert message.visible_html == "<div>Hi,</div><div>Still broken after the update.</div>"


def test_apple_mail_reply_with_attribution_in_its_own_blockquote():
    message = parse("14-apple-mail-reply.eml")
    assert message.visible_text == "Sounds good, thank you."
    assert message.visible_html == "<div>Sounds good, thank you.</div>"


def test_thunderbird_html_only_with_charset_in_meta():
    message = parse("15-thunderbird-html-only.eml")
    assert message.subject == "Re: [#780] 로그 요청"
    assert message.visible_html == "<p>로그 파일을 첨부합니다. 햏</p>"
    assert message.visible_text == "로그 파일을 첨부합니다. 햏"
    assert "로그를 보내 주세요." in message.text
    assert "로그" not in (message.html or "").split("<p>")[0]  # <title> is dropped


def test_korean_attribution_and_naver_header_block():
    message = parse("16-korean-reply-headers.eml")
    assert message.subject == "답장: [#781] 발송 안내"
    assert message.sender == Address("최수정", "sj.choi@naver.com")
    assert message.visible_text == "확인했습니다. 감사합니다."
    assert message.visible_html == "<div>확인했습니다. 감사합니다.</div>"


def test_inline_image_is_marked_and_hostile_markup_is_removed():
    message = parse("17-inline-image-related.eml")
    html = message.html or ""
    assert '<img src="cid:image001.png@01DA6EDA.8A1B2C30" alt="screenshot">' in html
    for dangerous in ("<script", "onerror", "onload", "javascript:", "<style", "style=", "iframe"):
        assert dangerous not in html.lower()
    assert "data:" not in html
    shown, unused = message.attachments
    assert (shown.filename, shown.content_type, shown.size) == ("image001.png", "image/png", 70)
    assert shown.content_id == "image001.png@01DA6EDA.8A1B2C30" and shown.inline
    assert unused.content_id == "unused@example.com" and not unused.inline
    assert message.text == "See the screenshot: [image: screenshot]"


def test_attachment_names_rfc2231_encoded_words_raw_bytes_rfc822_and_tnef():
    message = parse("18-attachments-filenames.eml")
    assert message.text == "파일 여섯 개를 보냅니다."
    assert names(message) == [
        ("계약서_최종본_똠방각하.pdf", "application/pdf", 45),  # RFC 2231 continuations
        ("견적서.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 13),
        ("사진.jpg", "image/jpeg", 12),  # raw UTF-8 name, base64 with bad padding
        ("햏.txt", "text/plain", 7),  # RFC 2231 in ks_c_5601-1987
        ("원본 문의.eml", "message/rfc822", 300),  # named after its subject
        ("winmail.dat", "application/ms-tnef", 68),
    ]
    forwarded = message.attachments[4]
    assert parse_email(forwarded.data, max_bytes=LIMIT).text == "원본 문의 내용입니다."
    assert message.attachments[3].data.decode("cp949") == "햏 메모"
    assert not any(a.inline for a in message.attachments)


def test_bounce_with_the_returned_message():
    message = parse("19-bounce-dsn-rfc822.eml")
    assert message.kind is MailKind.BOUNCE and message.is_automated
    assert "delivery status notification" in message.kind_reasons
    assert message.bounce is not None
    assert message.bounce.original_message_id == "outbound-123@dangol.example"
    assert message.bounce.recipient == "nobody@example.org"
    assert (message.bounce.action, message.bounce.status) == ("failed", "5.1.1")
    assert message.bounce.diagnostic == (
        "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"
    )
    assert message.bounce.permanent
    assert [a.content_type for a in message.attachments] == [
        "message/delivery-status",
        "message/rfc822",
    ]


def test_bounce_with_returned_headers_reports_the_failed_recipient():
    message = parse("20-bounce-dsn-headers-only.eml")
    assert message.kind is MailKind.BOUNCE
    assert message.subject == "메일 전송 실패"
    assert message.bounce is not None
    assert message.bounce.original_message_id == "outbound-789@dangol.example"
    assert message.bounce.recipient == "full@example.co.kr"  # not the delayed one
    assert (message.bounce.status, message.bounce.diagnostic) == ("5.2.2", "552 5.2.2 Mailbox full")


def test_plain_text_bounce_from_mailer_daemon():
    message = parse("21-bounce-qmail-plain.eml")
    assert message.kind is MailKind.BOUNCE
    assert message.kind_reasons == ("sender is mailer-daemon", "null Return-Path")
    assert message.bounce is not None
    assert message.bounce.original_message_id == "outbound-456@dangol.example"
    assert message.bounce.recipient == "gone.user@example.net"
    assert message.bounce.status == "5.1.1" and message.bounce.permanent


def test_out_of_office_is_an_auto_reply():
    message = parse("22-auto-reply-ooo.eml")
    assert message.kind is MailKind.AUTO_REPLY
    assert message.kind_reasons == ("Auto-Submitted: auto-replied", "X-Auto-Response-Suppress")
    assert message.subject == "자동 회신: [#12345] 로그인 문의"
    assert message.text == "3월 10일까지 휴가입니다. 똠방각하 건은 김햏 님께 문의하세요."
    assert message.bounce is None


def test_newsletter_is_bulk():
    message = parse("23-bulk-list.eml")
    assert message.kind is MailKind.BULK
    assert message.kind_reasons == ("Precedence: bulk", "List-Id")
    assert message.subject == "March deals 🎉"
    assert message.text == "Big sale this week!"


def test_read_receipt_is_an_auto_reply():
    message = parse("24-read-receipt.eml")
    assert (message.kind, message.kind_reasons) == (MailKind.AUTO_REPLY, ("read receipt",))
    assert message.bounce is None


def test_malformed_mime_still_gives_the_body():
    message = parse("25-malformed-mime.eml")
    assert message.text == "본문은 그대로 읽힙니다."  # unknown transfer encoding: bytes as sent
    assert message.date is None
    assert names(message) == [
        ("report.bin", "application/octet-stream", 7),  # " Base64 " with bad padding
        ("notes", "text/plain", 28),  # "Content-Type: text" is text/plain
    ]
    assert message.attachments[0].data == bytes(range(7))
    assert "CloseBoundaryNotFoundDefect" in message.defects


def test_multipart_without_boundary_is_shown_as_text():
    message = parse("26-multipart-no-boundary.eml")
    assert message.text == "The client forgot the boundary parameter."
    assert "NoBoundaryInMultipartDefect" in message.defects


def test_deep_nesting_is_capped():
    message = parse("27-deeply-nested.eml")
    assert message.text == "top text"  # "deep text" sits at level 30
    assert "MimeNestingTooDeep" in message.defects


def test_empty_body_without_id_or_date():
    message = parse("28-empty-body.eml")
    assert (message.subject, message.text, message.visible_text) == ("", "", "")
    assert message.message_id is None and message.date is None and message.html is None
    assert message.attachments == ()


def test_html_only_hostile_message():
    message = parse("29-html-only-hostile.eml")
    html = message.html or ""
    for dangerous in ("<script", "onclick", "onload", "javascript:", "<style", "<form", "<input"):
        assert dangerous not in html.lower()
    assert "Invoice attached." in message.text and "Invoice\n" not in message.text  # no <title>


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.stem)
def test_no_corpus_message_lets_active_content_through(path):
    message = parse_email(path.read_bytes(), max_bytes=LIMIT)
    for body in (message.html or "", message.visible_html or ""):
        lowered = body.lower()
        assert not any(bad in lowered for bad in ("<script", "javascript:", "<style", " on"))


# --- quoted history ---------------------------------------------------------------------------

KO_OUTLOOK_PLAIN = """네, 확인했습니다.

보낸 사람: 당골 고객센터 <support@dangol.example>
보낸 날짜: 2024년 3월 5일 화요일 오후 2:10
받는 사람: 김햏 <haeng@example.co.kr>
제목: [#1] 문의

예전 내용"""


@pytest.mark.parametrize(
    ("body", "visible"),
    [
        ("좋습니다.\n\n-----Original Message-----\nFrom: a\nTo: b\n\nold", "좋습니다."),
        ("좋습니다.\n\n-----원본 메시지-----\n보낸 사람: a\n\nold", "좋습니다."),
        ("좋습니다.\n\n------- 원본 메일 -------\n보낸사람: a\n받는사람: b\n\nold", "좋습니다."),
        (KO_OUTLOOK_PLAIN, "네, 확인했습니다."),
        ("감사합니다.\n\n2024년 3월 5일 (화) 오후 2:10, 홍길동 님이 작성:\n> 이전", "감사합니다."),
        (
            "감사합니다.\n\n2024. 3. 5. 오후 2:10, 홍길동 <hong@example.com> 작성:\n> 이전",
            "감사합니다.",
        ),
        (
            "Thanks!\n\nOn Tue, Mar 5, 2024 at 2:10 PM Hong <\nhong@example.com> wrote:\n> old",
            "Thanks!",
        ),
        ("Merci\n\nLe mar. 5 mars 2024 à 14:10, Hong <h@example.com> a écrit :\n> old", "Merci"),
        ("Fine.\n\n> old line\n>\n> older line\n", "Fine."),
        ("Hi\n\n*From:* Support <s@example.com>\n*Sent:* Tuesday\n*To:* me\n\nold", "Hi"),
    ],
    ids=[
        "original-message",
        "원본-메시지",
        "원본-메일",
        "outlook-korean-header-block",
        "님이-작성",
        "apple-korean-작성",
        "on-wrote-wrapped",
        "french",
        "trailing-quote",
        "outlook-bold-plain",
    ],
)
def test_quoted_history_is_collapsed_in_text(body, visible):
    message = parse_email(email(body), max_bytes=LIMIT)
    assert message.visible_text == visible
    assert message.text == body.strip()


@pytest.mark.parametrize(
    "body",
    [
        # answers written between the quoted lines stay visible
        "On Tue, Mar 5, 2024 at 2:10 PM Hong wrote:\n> first question\nfirst answer\n> second\nok",
        "> first question\nfirst answer\n\n> second question\nsecond answer",
        # a forward is the content, not history
        "FYI\n\n---------- Forwarded message ---------\nFrom: A <a@example.com>\n"
        "Date: Tue, Mar 5, 2024\nSubject: invoice\nTo: me@example.com\n\nthe invoice",
        # nothing would be left
        "-----Original Message-----\nFrom: a\nSent: b\nTo: c\n\nold",
        "> only a quote",
        # "From:" in prose is not a header block
        "From: the billing team I heard nothing.\nPlease check.",
    ],
    ids=["interleaved", "bottom-posted", "forward", "only-history", "only-quote", "prose"],
)
def test_text_that_is_not_history_stays_visible(body):
    message = parse_email(email(body), max_bytes=LIMIT)
    assert message.visible_text == message.text == body.strip()
    assert not message.has_quoted_history


@pytest.mark.parametrize(
    ("body", "visible"),
    [
        (
            '<div>Thanks</div><div class="gmail_quote"><div class="gmail_attr">On Tue, Mar 5, '
            '2024 X wrote:<br></div><blockquote class="gmail_quote">old</blockquote></div>',
            "<div>Thanks</div>",
        ),
        (
            '<p>Here.</p><div class="moz-cite-prefix">On 05.03.24 14:10, X wrote:<br></div>'
            '<blockquote type="cite">old</blockquote>',
            "<p>Here.</p>",
        ),
        (
            '<p>Done</p><div style="border:none;border-top:solid #E1E1E1 1.0pt">'
            "<p><b>보낸 사람:</b> a<br><b>보낸 날짜:</b> b<br><b>받는 사람:</b> c<br>"
            "<b>제목:</b> d</p></div><p>old</p>",
            "<p>Done</p>",
        ),
        (
            '<div>OK</div><hr><div id="divRplyFwdMsg"><b>From:</b> a<br><b>Sent:</b> b</div>old',
            "<div>OK</div>",
        ),
        (
            "<div>확인</div><div>-----Original Message-----<br>From: a<br>To: b<br></div>old",
            "<div>확인</div>",
        ),
    ],
    ids=["gmail", "thunderbird", "outlook-korean", "outlook-web", "naver"],
)
def test_quoted_history_is_collapsed_in_html(body, visible):
    message = parse_email(email(body, html=True), max_bytes=LIMIT)
    assert message.visible_html == visible
    assert "old" in (message.html or "") and "old" not in message.visible_text


@pytest.mark.parametrize(
    "body",
    [
        '<p>See below</p><div class="gmail_quote"><div class="gmail_attr">---------- Forwarded '
        "message ---------<br>From: A</div><p>the invoice</p></div>",
        '<div class="moz-cite-prefix">On 1/2/24, X wrote:</div><blockquote type="cite">question'
        "</blockquote><p>my answer</p>",
    ],
    ids=["gmail-forward", "thunderbird-bottom-post"],
)
def test_html_that_is_not_history_stays_visible(body):
    message = parse_email(email(body, html=True), max_bytes=LIMIT)
    assert message.visible_html == message.html
    assert message.visible_text == message.text


# --- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("Auto-Submitted: no\r\n", MailKind.HUMAN),
        ("Auto-Submitted: auto-generated\r\n", MailKind.AUTO_REPLY),
        ("X-Autoreply: yes\r\n", MailKind.AUTO_REPLY),
        ("X-Autorespond: Out of office\r\n", MailKind.AUTO_REPLY),
        ("X-Auto-Response-Suppress: OOF, AutoReply\r\n", MailKind.AUTO_REPLY),
        ("X-Auto-Response-Suppress: DR, RN, NRN\r\n", MailKind.HUMAN),
        ("Precedence: auto_reply\r\n", MailKind.AUTO_REPLY),
        ("Return-Path: <>\r\n", MailKind.AUTO_REPLY),
        ("Precedence: junk\r\n", MailKind.BULK),
        ("Precedence: list\r\n", MailKind.BULK),
        ("List-Id: <users.lists.example.com>\r\n", MailKind.BULK),
        ("Precedence: bulk\r\nAuto-Submitted: auto-replied\r\n", MailKind.AUTO_REPLY),
    ],
)
def test_classification_by_header(headers, kind):
    message = parse_email(email("hello", headers=headers), max_bytes=LIMIT)
    assert message.kind is kind
    assert message.is_automated is (kind is not MailKind.HUMAN)


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.com", "postmaster@example.com"])
def test_mail_server_senders_are_bounces(sender):
    raw = email("Delivery failed").replace(b"customer@example.com", sender.encode())
    message = parse_email(raw, max_bytes=LIMIT)
    assert message.kind is MailKind.BOUNCE
    assert message.bounce is not None and message.bounce.original_message_id is None


# --- refusals and robustness --------------------------------------------------------------------


def test_too_large_is_refused_before_parsing(monkeypatch):
    class Exploding:
        def parsebytes(self, raw: bytes) -> None:
            raise AssertionError("must not parse")

    monkeypatch.setattr(parse_module, "_PARSER", Exploding())
    with pytest.raises(EmailTooLarge) as refused:
        parse_email(b"x" * 1001, max_bytes=1000)
    assert (refused.value.size, refused.value.limit) == (1001, 1000)
    assert refused.value.reason == "message is 1001 bytes; the limit is 1000 bytes"
    assert isinstance(refused.value, EmailParseError)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b" \r\n\r\n", "empty message"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "no header section"),
        (b"Subject: hi\r\n\r\nno sender", "no sender address"),
        (
            b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
            + b"".join(
                b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                for i in range(3000)
            ),
            "too many MIME multiparts (3001)",
        ),
        (
            b"From: a@example.com\r\n"
            + b"Content-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\n" * 2000
            + b"\r\nbody",
            "MIME structure nested too deeply",
        ),
        (
            b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
            + b"".join(
                b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                for i in range(50)
            )
            + b"line\r\n" * 200_000,
            "MIME structure too costly to parse",
        ),
    ],
    ids=["empty", "blank", "binary", "no-sender", "multipart-3000", "rfc822-2000", "costly"],
)
def test_unusable_messages_raise_with_a_reason(raw, reason):
    with pytest.raises(EmailParseError) as refused:
        parse_email(raw, max_bytes=LIMIT)
    assert refused.value.reason == reason


def test_sender_falls_back_to_sender_and_reply_to():
    raw = b"From: undisclosed\r\nSender: Real One <Real@Example.com>\r\nSubject: x\r\n\r\nbody"
    assert parse_email(raw, max_bytes=LIMIT).sender == Address("Real One", "real@example.com")


def test_huge_headers():
    word = "=?utf-8?B?7ZWc6riA?= "  # 한글
    raw = (
        "".join(f"Received: from relay{i}.example.com by mx.example.com\r\n" for i in range(3000))
        + "From: a@example.com\r\n"
        + f"Subject: {word * 5000}\r\n"
        + "To: "
        + ", ".join(f"user{i}@example.com" for i in range(3000))
        + "\r\nReferences: "
        + " ".join(f"<ref{i}@example.com>" for i in range(500))
        + "\r\n\r\nbody"
    ).encode()
    message = parse_email(raw, max_bytes=LIMIT)
    assert message.subject == ("한글" * 5000)[:998]
    assert len(message.to) == 3000 and message.to[-1].address == "user2999@example.com"
    assert len(message.references) == 100
    assert message.references[0] == "ref0@example.com"
    assert message.references[-1] == "ref499@example.com"


def test_html_nested_too_deeply_for_the_sanitizer_is_shown_as_text():
    message = parse_email(email("<div>" * 5000 + "deep words", html=True), max_bytes=LIMIT)
    assert message.html is None and message.text == "deep words"
    assert "HtmlNestingTooDeep" in message.defects


def test_unexpected_failures_become_parse_errors_without_logging_content(monkeypatch, caplog):
    def broken(raw: bytes) -> ParsedEmail:
        raise ValueError(raw.decode())

    monkeypatch.setattr(parse_module, "_parse", broken)
    with caplog.at_level(logging.ERROR), pytest.raises(EmailParseError) as refused:
        parse_email(email("secret customer words"), max_bytes=LIMIT)
    assert refused.value.reason == "internal parser error (ValueError)"
    assert "secret" not in caplog.text and "ValueError" in caplog.text


_SAMPLES = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]


def _mutated(sample: bytes, seed: int) -> bytes:
    rng = random.Random(seed)
    data = bytearray(sample)
    for _ in range(rng.randrange(1, 12)):
        data[rng.randrange(len(data))] = rng.choice(b"=?<>\"';:\r\n\t -_*%\x00\xff\x1bBQ0")
    return bytes(data)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.builds(
            lambda s, cut: s[: cut % (len(s) + 1)], st.sampled_from(_SAMPLES), st.integers(0)
        ),
        st.builds(_mutated, st.sampled_from(_SAMPLES), st.integers(0, 2**32)),
    )
)
def test_any_bytes_give_a_message_or_a_parse_error(raw):
    try:
        message = parse_email(raw, max_bytes=LIMIT)
    except EmailParseError as refused:
        assert refused.reason and not refused.reason.startswith("internal")
        return
    assert isinstance(message, ParsedEmail)
    for text in (message.subject, message.text, message.visible_text, message.html or ""):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates: storable as is
    assert all(a.filename for a in message.attachments)


# --- charsets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        ("똠방각하".encode("cp949"), "ks_c_5601-1987", "똠방각하"),
        ("똠방각하".encode("cp949"), "EUC-KR", "똠방각하"),
        ("햏".encode("cp949"), '"KS_C_5601-1987"', "햏"),
        ("똠".encode(), "euc-kr", "똠"),  # lying label
        ("镕".encode("gb18030"), "GB2312", "镕"),
        ("①".encode("cp932"), "shift_jis", "①"),
        ("café".encode(), "iso-8859-1", "café"),  # UTF-8 under a Western label
        ("café".encode("latin-1"), "iso-8859-1", "café"),
        (b"\xff\xfe\xfa", "utf-8", "ÿþú"),  # nothing fits: Latin-1
        ("한글".encode()[:-1], "utf-8", "한\ufffd"),  # truncated: a little damage is kept
        (b"plain", "base64", "plain"),  # a codec that is not a charset
        (b"a\x00b", None, "ab"),
        (b"+2D0-", "utf-7", "?"),  # a lone surrogate cannot be stored
    ],
)
def test_decode_text_never_raises(data, charset, text):
    assert decode_text(data, charset) == text


# --- inline images and subjects -----------------------------------------------------------------


def test_rewrite_cid_urls_points_inline_images_at_stored_attachments():
    message = parse("17-inline-image-related.eml")
    stored = {n: a for n, a in enumerate(message.attachments) if a.inline and a.content_id}
    mapping = {a.content_id or "": f"/attachments/{n}" for n, a in stored.items()}
    html = rewrite_cid_urls(message.html or "", mapping)
    assert '<img src="/attachments/0" alt="screenshot">' in html and "cid:" not in html


def test_rewrite_cid_urls_matches_loosely_and_escapes():
    html = '<img src="cid:Logo%40Example"><img src=\'cid:other\'><a href="cid:LOGO@example">x</a>'
    rewritten = rewrite_cid_urls(html, {"<logo@example>": "/a?x=1&y=2"})
    assert rewritten == (
        '<img src="/a?x=1&amp;y=2"><img src=\'cid:other\'><a href="/a?x=1&amp;y=2">x</a>'
    )
    assert rewrite_cid_urls(html, {}) == html


@pytest.mark.parametrize(
    ("subject", "numbers", "stripped"),
    [
        ("[#12345] 로그인 오류", [12345], "[#12345] 로그인 오류"),
        ("Re: [#12345] Login", [12345], "[#12345] Login"),
        ("RE: Fwd: [#7] [#8] two", [7, 8], "[#7] [#8] two"),
        ("회신: 답장: 전달: [#42] 배송", [42], "[#42] 배송"),
        ("Re[2]: AW: 답변： [ # 9 ] x", [9], "[ # 9 ] x"),
        ("Order #123 and [123]", [], "Order #123 and [123]"),
        ("Re: [#5] again [#5]", [5], "[#5] again [#5]"),
    ],
)
def test_subject_helpers(subject, numbers, stripped):
    assert ticket_numbers_in_subject(subject) == numbers
    assert strip_reply_prefixes(subject) == stripped


def test_dates_without_a_zone_are_utc():
    raw = email("x", headers="Date: Tue, 5 Mar 2024 01:02:03 -0000\r\n")
    assert parse_email(raw, max_bytes=LIMIT).date == datetime(2024, 3, 5, 1, 2, 3, tzinfo=UTC)

"""Time ``connectors.email.parse_email`` on a built-in mix of typical ~3 KB messages.

The messages are built in memory (no files, no network): Korean and English, 40 %
multipart/alternative (a third of them Outlook-style ks_c_5601-1987, the rest UTF-8 replies with
quoted history), 15 % multipart/mixed with a small attachment, the rest single-part plain text.
Each run parses every message once; the figure is the median of the runs, on one core, in
messages per wall-clock second and per CPU second of this process (the steadier figure when
other work shares the machine).

    .venv/bin/python -m bench.email_parse_bench                 # 2,000 messages, 5 runs
    .venv/bin/python -m bench.email_parse_bench --baseline      # also time policy.default

``--baseline`` times the stdlib the way the notes measured it (``policy.default``, every header
decoded, ``get_body()`` and ``get_content()``) on the same messages, once.
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import time
from email import policy
from email.parser import BytesParser

from connectors.email import parse_email

KOREAN = [
    "안녕하세요, 주문한 상품이 아직 도착하지 않았습니다.",
    "로그인할 때마다 비밀번호 오류가 나옵니다. 확인 부탁드립니다.",
    "결제가 두 번 된 것 같습니다. 환불 절차를 알려 주세요.",
    "똠방각하 계정의 배송지를 변경하고 싶습니다.",
    "앱을 업데이트한 뒤로 알림이 오지 않습니다.",
    "견적서를 첨부합니다. 검토 후 회신 부탁드립니다.",
]
ENGLISH = [
    "Hello, my order has not arrived yet and the tracking page shows no update.",
    "I keep getting a password error when I log in. Could you take a look?",
    "It looks like I was charged twice. How do I get a refund?",
    "Please change the shipping address on my account.",
    "Since the last app update I no longer receive notifications.",
    "Please find the quote attached and let me know what you think.",
]
_BOUNDARY = "==_bench_{n}_=="


def _paragraphs(rng: random.Random, sentences: list[str], size: int) -> str:
    out: list[str] = []
    while sum(len(s.encode()) for s in out) < size:
        out.append(" ".join(rng.choice(sentences) for _ in range(3)))
    return "\r\n\r\n".join(out)


def _b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def _word(text: str, charset: str = "utf-8", codec: str | None = None) -> str:
    data = text.encode(codec or charset)
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def _headers(n: int, korean: bool, subject: str, content_type: str, word: str) -> list[str]:
    name = _word("홍길동", *word.split("|")) if korean else "Alice Kim"
    return [
        f"Received: from mx{n % 7}.example.com (mx{n % 7}.example.com [192.0.2.{n % 250}])",
        f"\tby imap.dangol.example with ESMTPS id {n:08x}; Tue, 5 Mar 2024 14:12:09 +0900",
        f"From: {name} <customer{n}@example.com>",
        "To: Dangol Support <support@dangol.example>",
        f"Subject: {subject}",
        "Date: Tue, 5 Mar 2024 14:12:03 +0900",
        f"Message-ID: <msg-{n}@example.com>",
        f"In-Reply-To: <ticket-{n}-1@dangol.example>",
        f"References: <ticket-{n}-0@dangol.example> <ticket-{n}-1@dangol.example>",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
    ]


def build_messages(count: int, seed: int = 7) -> list[bytes]:
    """``count`` raw messages of about 3 KB in the mix described in the module docstring."""
    rng = random.Random(seed)
    messages = []
    for n in range(count):
        korean = rng.random() < 0.6
        sentences = KOREAN if korean else ENGLISH
        text = _paragraphs(rng, sentences, 1200 if korean else 1500)
        subject_text = f"Re: [#{10000 + n}] " + ("배송 문의" if korean else "Delivery question")
        roll = rng.random()
        if roll < 0.40:
            outlook = korean and rng.random() < 0.33
            charset, codec = ("ks_c_5601-1987", "cp949") if outlook else ("utf-8", "utf-8")
            quoted = "\r\n".join("> " + line for line in text.splitlines()[:6])
            plain = (
                f"{text}\r\n\r\nOn Mon, Mar 4, 2024 at 5:00 PM Dangol Support wrote:\r\n{quoted}"
            )
            html = (
                f'<div dir="ltr">{text.replace(chr(13) + chr(10), "<br>")}</div>'
                '<div class="gmail_quote"><div class="gmail_attr">On Mon, Mar 4, 2024 at 5:00 PM '
                'Dangol Support wrote:</div><blockquote class="gmail_quote">Earlier message'
                "</blockquote></div>"
            )
            if outlook:
                plain = text
            boundary = _BOUNDARY.format(n=n)
            body = "\r\n".join(
                [
                    f"--{boundary}",
                    f'Content-Type: text/plain; charset="{charset}"',
                    "Content-Transfer-Encoding: base64",
                    "",
                    _b64(plain.encode(codec)),
                    f"--{boundary}",
                    f'Content-Type: text/html; charset="{charset}"',
                    "Content-Transfer-Encoding: base64",
                    "",
                    _b64(html.encode(codec)),
                    f"--{boundary}--",
                    "",
                ]
            )
            headers = _headers(
                n,
                korean,
                _word(subject_text, charset, codec),
                f'multipart/alternative; boundary="{boundary}"',
                f"{charset}|{codec}",
            )
            messages.append(("\r\n".join(headers) + "\r\n\r\n" + body).encode("ascii"))
        elif roll < 0.55:
            boundary = _BOUNDARY.format(n=n)
            attachment = bytes(rng.randrange(256) for _ in range(600))
            filename = _word("견적서.pdf") if korean else "quote.pdf"
            body = "\r\n".join(
                [
                    f"--{boundary}",
                    "Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: base64",
                    "",
                    _b64(text[: len(text) // 2].encode()),
                    f"--{boundary}",
                    f'Content-Type: application/pdf; name="{filename}"',
                    f'Content-Disposition: attachment; filename="{filename}"',
                    "Content-Transfer-Encoding: base64",
                    "",
                    _b64(attachment),
                    f"--{boundary}--",
                    "",
                ]
            )
            headers = _headers(
                n, korean, _word(subject_text), f'multipart/mixed; boundary="{boundary}"', "utf-8"
            )
            messages.append(("\r\n".join(headers) + "\r\n\r\n" + body).encode("ascii"))
        else:
            if korean:
                headers = _headers(
                    n, korean, _word(subject_text), "text/plain; charset=utf-8", "utf-8"
                )
                headers.append("Content-Transfer-Encoding: base64")
                body = _b64(text.encode())
            else:
                headers = _headers(n, korean, subject_text, "text/plain; charset=us-ascii", "")
                body = text
            messages.append(("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode("ascii"))
    return messages


def time_parse(messages: list[bytes]) -> tuple[float, float]:
    """Messages per wall-clock second and per CPU second for one pass of ``parse_email``.

    The CPU figure barely moves when other work shares the machine; the wall figure does.
    """
    start, start_cpu = time.perf_counter(), time.process_time()
    for raw in messages:
        parse_email(raw, max_bytes=25 * 1024 * 1024)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return len(messages) / wall, len(messages) / cpu


def time_stdlib_default(messages: list[bytes]) -> float:
    """Messages per second for the stdlib modern API on the same messages."""
    parser = BytesParser(policy=policy.default)
    start = time.perf_counter()
    for raw in messages:
        message = parser.parsebytes(raw)
        for name in ("from", "to", "subject", "date", "message-id", "references"):
            message.get(name)
        for kind in ("plain", "html"):
            body = message.get_body(preferencelist=(kind,))
            if body is not None:
                body.get_content()  # type: ignore[attr-defined]
    return len(messages) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", action="store_true", help="also time policy.default once")
    args = parser.parse_args(argv)

    messages = build_messages(args.messages)
    sizes = sorted(len(m) for m in messages)
    print(
        f"{len(messages)} messages, median {sizes[len(sizes) // 2]} bytes "
        f"(min {sizes[0]}, max {sizes[-1]})"
    )
    time_parse(messages[:200])  # warm caches (charset lookups, regexes)
    runs = [time_parse(messages) for _ in range(args.runs)]
    wall = [w for w, _cpu in runs]
    cpu = [c for _wall, c in runs]
    print(
        f"parse_email: median {statistics.median(wall):,.0f} messages/s over {args.runs} runs "
        f"(runs: {', '.join(f'{r:,.0f}' for r in wall)}); "
        f"{statistics.median(cpu):,.0f} messages per CPU second"
    )
    if args.baseline:
        print(f"stdlib policy.default (one run): {time_stdlib_default(messages):,.0f} messages/s")


if __name__ == "__main__":
    main()

"""``parse_email``: raw RFC 5322 bytes (an IMAP ``BODY.PEEK[]``) to a ``ParsedEmail``.

Speed is the point of the design. ``policy.default`` rebuilds header objects on every access and
re-parses Content-Type many times per message; it is the bottleneck of ingest. So the message is
parsed with ``compat32`` (no header decoding), every header is read once as a raw string and
decoded by us (``headers.py``, with our charset mapping), the MIME tree is walked once
(``mime_parts.py``), and payloads are decoded with our charset fallbacks (``charsets.py``).
Then the bodies are sanitized, their quoted history found (``quoting.py``) and the sender
classified (``autoreply.py``, ``bounces.py``).
"""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import replace
from email.parser import BytesParser
from email.policy import compat32

from helpdesk.services.html import html_to_text, sanitize_html

from .autoreply import classify
from .bounces import (
    bounce_from_report,
    bounce_from_text,
    message_id_in_text,
)
from .headers import (
    header_text,
    message_id,
    message_ids,
    parse_addresses,
    parse_date,
)
from .inline_images import referenced_content_ids
from .mime_parts import collect_parts
from .model import (
    Address,
    EmailParseError,
    EmailTooLarge,
    MailKind,
    ParsedEmail,
)
from .quoting import html_quote_start, html_text, text_quote_start

logger = logging.getLogger(__name__)

MAX_HTML_DEPTH = 1000  # HTML nested deeper is shown as text only
MAX_MULTIPARTS = 100  # more boundary parameters than this: refused
MAX_BOUNDARY_CHECKS = 10_000_000  # boundary parameters x lines: refused above this

_PARSER = BytesParser(policy=compat32)
_BOUNDARY_PARAMETER = re.compile(rb"boundary\s*(?:\*\d*\*?)?\s*=")
_HEAD = re.compile(r"<head\b.*?(?:</head\s*>|\Z)", re.I | re.S)
_NEWLINES = re.compile(r"\r\n?")
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")
# Void elements, and elements the HTML parser closes by itself when the next one starts.
_NOT_NESTING = frozenset(
    {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "wbr", "source"}
    | {"p", "li", "td", "th", "tr", "dt", "dd", "option"}
)


def parse_many(raws: list[bytes], max_bytes: int) -> list[ParsedEmail | str]:
    """``parse_email`` for each message, a refusal given as its reason: for a worker process,
    which returns plain data (exceptions with their own arguments do not travel well)."""
    out: list[ParsedEmail | str] = []
    for raw in raws:
        try:
            out.append(parse_email(raw, max_bytes=max_bytes))
        except EmailParseError as exc:
            out.append(exc.reason)
    return out


def parse_email(raw: bytes, *, max_bytes: int) -> ParsedEmail:
    """Parse one raw message.

    Raises ``EmailTooLarge`` (before parsing) when ``raw`` is over ``max_bytes``, and
    ``EmailParseError`` with a short ``reason`` when no sensible message comes out (no header,
    no sender address, pathological nesting). Nothing else: an unexpected failure is logged
    (exception type and code location only, never message content) and reported as
    ``EmailParseError("internal parser error (...)")``.
    """
    size = len(raw)
    if size > max_bytes:
        raise EmailTooLarge(size, max_bytes)
    if not raw.strip():
        raise EmailParseError("empty message")
    _refuse_costly_structure(raw)
    try:
        return _parse(bytes(raw))
    except EmailParseError:
        raise
    except RecursionError:
        raise EmailParseError("MIME structure nested too deeply") from None
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1:]
        location = f"{where[0].filename}:{where[0].lineno}" if where else "?"
        logger.error("email parser failed: %s at %s", type(exc).__name__, location)
        raise EmailParseError(f"internal parser error ({type(exc).__name__})") from exc


def _parse(raw: bytes) -> ParsedEmail:
    message = _PARSER.parsebytes(raw)
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(value)
    if not headers:
        raise EmailParseError("no header section")
    first = {name: values[0] for name, values in headers.items()}

    sender = _sender(headers)
    walk = collect_parts(message)

    raw_html = _HEAD.sub("", "".join(walk.htmls)) if walk.htmls else None
    if raw_html is not None and _nested_too_deeply(raw_html):
        # The sanitizer's HTML parser is quadratic in nesting depth (about 10 s for 50,000
        # nested <div>): such a body is only shown as text.
        walk.defects.add("HtmlNestingTooDeep")
        if not walk.texts:
            walk.texts.append(html_text(raw_html))
        raw_html = None
    html = visible_html = None
    if raw_html is not None:
        html = visible_html = sanitize_html(raw_html).strip()
        cut = html_quote_start(raw_html)
        if cut is not None:
            visible_html = sanitize_html(raw_html[:cut]).strip()
    if walk.texts:
        text = _NEWLINES.sub("\n", "\n".join(walk.texts)).strip()
        cut = text_quote_start(text)
        visible_text = text if cut is None else text[:cut].rstrip()
    elif html is not None:
        text = html_to_text(html)
        visible_text = text if visible_html is html else html_to_text(visible_html or "")
    else:
        text = visible_text = ""

    bounce = None
    is_report = walk.delivery_status is not None
    if is_report:
        original = walk.returned_message_id or message_id_in_text(text)
        bounce = bounce_from_report(
            walk.delivery_status or [], original, first.get("x-failed-recipients")
        )
    kind, reasons = classify(
        first, sender, delivery_status=is_report, read_receipt=walk.read_receipt
    )
    if kind is MailKind.BOUNCE and bounce is None:
        bounce = bounce_from_text(text, walk.returned_message_id, first.get("x-failed-recipients"))

    shown = referenced_content_ids(html) if html else set()
    attachments = tuple(
        replace(a, inline=True) if a.content_id and a.content_id.lower() in shown else a
        for a in walk.attachments
    )
    return ParsedEmail(
        message_id=message_id(first.get("message-id")),
        in_reply_to=message_id(first.get("in-reply-to")),
        references=tuple(message_ids(" ".join(headers.get("references", ())))),
        subject=header_text(first.get("subject")),
        sender=sender,
        reply_to=parse_addresses(headers.get("reply-to", [])),
        to=parse_addresses(headers.get("to", [])),
        cc=parse_addresses(headers.get("cc", [])),
        date=parse_date(first.get("date")),
        text=text,
        html=html,
        visible_text=visible_text,
        visible_html=visible_html,
        attachments=attachments,
        kind=kind,
        kind_reasons=reasons,
        bounce=bounce,
        size=len(raw),
        defects=tuple(sorted(walk.defects)),
    )


def _refuse_costly_structure(raw: bytes) -> None:
    """Refuse, before parsing, messages whose MIME structure would take seconds to parse.

    The stdlib parser tests every line against the boundary of every enclosing multipart, so
    its cost grows with nesting depth times line count (700 nested multiparts: ~0.5 s; a few
    MB of lines below them: minutes). Each ``boundary`` parameter bounds the depth by one.
    """
    boundaries = len(_BOUNDARY_PARAMETER.findall(raw.lower()))
    if boundaries > MAX_MULTIPARTS:
        raise EmailParseError(f"too many MIME multiparts ({boundaries})")
    if boundaries > 1 and boundaries * raw.count(b"\n") > MAX_BOUNDARY_CHECKS:
        raise EmailParseError("MIME structure too costly to parse")


def _nested_too_deeply(raw_html: str) -> bool:
    opening = raw_html.count("<") - raw_html.count("</")
    if opening <= MAX_HTML_DEPTH:
        return False  # cheap and by far the usual case: not even that many tags
    depth = 0
    for match in _HTML_TAG.finditer(raw_html):
        name = match.group(2).lower()
        if name in _NOT_NESTING or match.group(3):
            continue
        if match.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > MAX_HTML_DEPTH:
                return True
    return False


def _sender(headers: dict[str, list[str]]) -> Address:
    """From, else Sender, Reply-To, Return-Path; an address with a domain is preferred."""
    candidates: list[Address] = []
    for name in ("from", "sender", "reply-to", "return-path"):
        candidates.extend(parse_addresses(headers.get(name, [])))
        for candidate in candidates:
            if "@" in candidate.address:
                return candidate
    if candidates:
        return candidates[0]
    raise EmailParseError("no sender address")

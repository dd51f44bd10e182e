"""One pass over a parsed MIME tree: the body parts, the attachments and the report parts.

Works on a ``compat32`` tree and reads only raw header values (decoded in ``headers.py``).
Bodies are the ``text/plain`` and ``text/html`` leaves that are neither attachments nor inside
an attached message; every other leaf, and every ``message/*`` part, is an attachment.
``multipart/alternative`` renditions other than plain, HTML and calendar are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from .bounces import delivery_status_blocks
from .charsets import decode_text, html_meta_charset
from .headers import header_text, message_id, parse_params
from .inline_images import normalize_content_id
from .model import EmailAttachment

MAX_DEPTH = 20  # MIME nesting below this is ignored (and reported as a defect)
MAX_PARTS = 1000  # parts beyond this are ignored (and reported as a defect)

_HEADER_PARSER = BytesHeaderParser(policy=compat32)
_BODY_TYPES = ("text/plain", "text/html")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "message/rfc822": ".eml",
    "message/global": ".eml",
}
_DEFAULT_NAMES = {
    "application/ms-tnef": "winmail.dat",
    "message/delivery-status": "delivery-status.txt",
    "message/global-delivery-status": "delivery-status.txt",
    "message/disposition-notification": "disposition-notification.txt",
    "text/rfc822-headers": "returned-headers.txt",
}


@dataclass
class MimeParts:
    """What one pass over the MIME tree collects, in document order."""

    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[EmailAttachment] = field(default_factory=list)
    defects: set[str] = field(default_factory=set)  # stdlib defect class names and our own
    delivery_status: list[dict[str, str]] | None = None  # the DSN field blocks, if any
    returned_message_id: str | None = None  # of the first attached message or headers
    read_receipt: bool = False
    count: int = 0


def collect_parts(message: Message) -> MimeParts:
    """Walk ``message`` once (at most ``MAX_DEPTH`` deep and ``MAX_PARTS`` parts)."""
    parts = MimeParts()
    _walk(message, parts, depth=0, parent="")
    return parts


def _walk(part: Message, walk: MimeParts, *, depth: int, parent: str) -> None:
    walk.count += 1
    if walk.count > MAX_PARTS:
        walk.defects.add("TooManyParts")
        return
    if depth > MAX_DEPTH:
        walk.defects.add("MimeNestingTooDeep")
        return
    fields = _content_fields(part)
    content_type, params = parse_params(fields.get("content-type"))
    if content_type.count("/") != 1 or " " in content_type:
        content_type = "text/plain"
    maintype = content_type.partition("/")[0]

    if maintype == "message" or content_type == "text/rfc822-headers":
        _message_part(part, walk, content_type, params, fields)
    elif part.is_multipart():
        if content_type == "multipart/report":
            report_type = params.get("report-type", "").lower()
            walk.read_receipt |= report_type == "disposition-notification"
        children = part.get_payload()
        if isinstance(children, list):
            for child in children:
                if isinstance(child, Message):
                    _walk(child, walk, depth=depth + 1, parent=content_type)
    else:
        _leaf(part, walk, content_type, params, fields, parent)
    for defect in part.defects:
        walk.defects.add(type(defect).__name__)


def _content_fields(part: Message) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in part.raw_items():
        key = name.lower()
        if key.startswith("content-") and key not in fields:
            fields[key] = value
    return fields


def _leaf(
    part: Message,
    walk: MimeParts,
    content_type: str,
    params: dict[str, str],
    fields: dict[str, str],
    parent: str,
) -> None:
    disposition, disposition_params = parse_params(fields.get("content-disposition"))
    filename = disposition_params.get("filename") or params.get("name")
    if content_type.startswith("multipart/"):
        content_type = "text/plain"  # a multipart without a usable boundary: show it as text
    if content_type in _BODY_TYPES and disposition != "attachment" and not filename:
        data = _payload(part, fields)
        charset = params.get("charset")
        if content_type == "text/html":
            walk.htmls.append(decode_text(data, charset or html_meta_charset(data)))
        else:
            walk.texts.append(decode_text(data, charset))
        return
    other_rendition = content_type.startswith("text/") and content_type != "text/calendar"
    if parent == "multipart/alternative" and other_rendition:
        return  # another rendition of the body (text/enriched, text/watch-html)
    walk.attachments.append(
        EmailAttachment(
            filename=_filename(filename, content_type),
            content_type=content_type,
            data=_payload(part, fields),
            content_id=normalize_content_id(header_text(fields.get("content-id"))),
        )
    )


def _message_part(
    part: Message,
    walk: MimeParts,
    content_type: str,
    params: dict[str, str],
    fields: dict[str, str],
) -> None:
    """message/* and text/rfc822-headers parts: kept as attachments, read for bounces."""
    _, disposition_params = parse_params(fields.get("content-disposition"))
    filename = disposition_params.get("filename") or params.get("name")
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if content_type in ("message/delivery-status", "message/global-delivery-status"):
        if walk.delivery_status is None:
            walk.delivery_status = delivery_status_blocks(part)
        data = _message_bytes(payload)
    elif content_type == "text/rfc822-headers":
        data = _payload(part, fields)
        returned = _HEADER_PARSER.parsebytes(data)
        _returned_message_id(walk, returned)
    elif isinstance(inner, Message):
        if content_type == "message/disposition-notification":
            walk.read_receipt = True
            data = _message_bytes(payload)
        else:
            _returned_message_id(walk, inner)
            data = inner.as_bytes()
            if not filename:
                subject = header_text(_raw_header(inner, "subject"), 120)
                filename = f"{subject or 'message'}.eml"
    else:
        data = _payload(part, fields)
    walk.attachments.append(
        EmailAttachment(
            filename=_filename(filename, content_type),
            content_type=content_type,
            data=data,
            content_id=normalize_content_id(header_text(fields.get("content-id"))),
        )
    )


def _returned_message_id(walk: MimeParts, returned: Message) -> None:
    if walk.returned_message_id is None:
        walk.returned_message_id = message_id(_raw_header(returned, "message-id"))


def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name:
            return value
    return None


def _message_bytes(payload: object) -> bytes:
    if isinstance(payload, list):
        return b"".join(m.as_bytes() for m in payload if isinstance(m, Message))
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _payload(part: Message, fields: dict[str, str]) -> bytes:
    """The decoded bytes of a leaf part; a bad or unknown transfer encoding gives the raw bytes."""
    encoding = fields.get("content-transfer-encoding")
    if encoding is not None:
        clean = encoding.strip().strip("\"'").lower()
        if clean != encoding and clean.isascii():
            part.replace_header("content-transfer-encoding", clean)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _filename(name: str | None, content_type: str) -> str:
    """A file name to show and store: decoded, path-free, never empty."""
    if name:
        cleaned = _CONTROL.sub(" ", name.replace("\\", "/").rsplit("/", 1)[-1])
        cleaned = " ".join(cleaned.split()).strip(". ")
        if cleaned:
            return cleaned[:255]
    if content_type in _DEFAULT_NAMES:
        return _DEFAULT_NAMES[content_type]
    return "attachment" + _EXTENSIONS.get(content_type, ".bin")

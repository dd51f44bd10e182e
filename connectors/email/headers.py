"""Header values from ``compat32`` raw strings to text: encoded words, parameters, addresses.

``BytesParser(policy=compat32)`` leaves header values exactly as received, with any 8-bit byte
carried as a surrogate escape. Everything here starts from those raw values, so raw UTF-8 or
EUC-KR bytes in a header are decoded with the same charset fallbacks as bodies, and encoded words
go through our charset mapping (cp949 for Korean) instead of the stdlib's.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import unquote_to_bytes

from .charsets import decode_text
from .model import Address

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?]*)\?=")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_PARAM = re.compile(r""";\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)""", re.S)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)
_RFC2231_KEY = re.compile(r"^([^*]+)\*(?:(\d{1,3})(\*)?)?$")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_SIMPLE_ADDRESS = re.compile(
    r"""^\s*(?:"([^"\\]*)"|([^"<>,;:@()\\]*?))\s*"""
    r"""<\s*([^<>\s,;"()\\]+@[^<>\s,;"()\\]+)\s*>\s*$"""
)
_BARE_ADDRESS = re.compile(r"""^\s*<?([^<>\s,;"()\\]+@[^<>\s,;"()\\]+?)>?\s*$""")
_ANY_ADDRESS = re.compile(r"""[^<>\s,;:"()\\\[\]]+@[^<>\s,;:"()\\\[\]]+""")
MAX_MESSAGE_IDS = 100
MAX_HEADER_TEXT = 998


def unfold(value: str) -> str:
    return _FOLD.sub("", value)


def clean(value: str) -> str:
    """A raw header value unfolded, its 8-bit bytes decoded, control characters removed."""
    return _CONTROLS.sub("", recover_8bit(unfold(value)))


def recover_8bit(value: str) -> str:
    """Turn surrogate-escaped raw bytes (8-bit header bytes) back into text."""
    if value.isascii():
        return value
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        # Already real text (a caller-built message): only lone surrogates must go.
        return value.encode("utf-8", "replace").decode("utf-8")
    return decode_text(raw, None)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, leniently.

    Adjacent words in the same charset are joined as bytes before decoding, so a character split
    across two words (or two folded lines) survives. A word whose base64 is broken is repaired
    if possible and left as written otherwise; an unknown charset gets the fallbacks.
    """
    if "=?" not in value:
        return value
    pieces: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    after_word = False
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        if gap and not (after_word and gap.isspace()):
            if pending_charset is not None:
                pieces.append(decode_text(bytes(pending), pending_charset))
                pending.clear()
                pending_charset = None
            pieces.append(gap)
        charset, encoding, payload = match.groups()
        data = _decode_b(payload) if encoding in "bB" else _decode_q(payload)
        if data is None:
            if pending_charset is not None:
                pieces.append(decode_text(bytes(pending), pending_charset))
                pending.clear()
                pending_charset = None
            pieces.append(match.group(0))
            after_word = False
        else:
            charset = charset.lower()
            if pending_charset is not None and charset != pending_charset:
                pieces.append(decode_text(bytes(pending), pending_charset))
                pending.clear()
            pending_charset = charset
            pending += data
            after_word = True
        position = match.end()
    if pending_charset is not None:
        pieces.append(decode_text(bytes(pending), pending_charset))
    pieces.append(value[position:])
    return "".join(pieces)


def _decode_b(payload: str) -> bytes | None:
    cleaned = _NOT_BASE64.sub("", payload.split("=", 1)[0])
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    try:
        return binascii.a2b_base64(cleaned + "=" * (-len(cleaned) % 4))
    except binascii.Error:
        return None


def _decode_q(payload: str) -> bytes | None:
    try:
        return binascii.a2b_qp(payload.encode("utf-8", "surrogateescape"), header=True)
    except (binascii.Error, ValueError):
        return None


def one_line(text: str, limit: int = MAX_HEADER_TEXT) -> str:
    """``text`` without control characters, its white space collapsed, at most ``limit`` long."""
    return " ".join(_CONTROLS.sub("", text).split())[:limit]


def header_text(raw: str | None, limit: int = MAX_HEADER_TEXT) -> str:
    """A header value as one line of text: unfolded, 8-bit and encoded words decoded."""
    if not raw:
        return ""
    return one_line(decode_words(clean(raw)) if "=?" in raw else clean(raw), limit)


def parse_params(raw: str | None) -> tuple[str, dict[str, str]]:
    """Split a Content-Type or Content-Disposition value into its lower-cased main value and
    its parameters (lower-cased keys).

    RFC 2231 extended and continued parameters (``filename*0*=utf-8''%ED%95%9C``) are joined
    and decoded; encoded words inside quoted values (Outlook, many Korean clients) and raw
    8-bit bytes are decoded as well.
    """
    if not raw:
        return "", {}
    value = clean(raw)
    main, _, rest = value.partition(";")
    main = main.strip().strip("\"'").lower()
    params: dict[str, str] = {}
    if not rest:
        return main, params
    extended: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAM.finditer(";" + rest):
        key = match.group(1).lower()
        param = match.group(2).strip()
        if param.startswith('"'):
            param = param[1:-1] if param.endswith('"') and len(param) > 1 else param[1:]
            if "\\" in param:
                param = _QUOTED_PAIR.sub(r"\1", param)
        star = _RFC2231_KEY.match(key) if "*" in key else None
        if star:
            index = int(star.group(2)) if star.group(2) else 0
            encoded = star.group(2) is None or star.group(3) is not None
            extended.setdefault(star.group(1), []).append((index, encoded, param))
        elif key not in params:
            params[key] = decode_words(param) if "=?" in param else param
    for name, segments in extended.items():
        params[name] = _join_rfc2231(segments)
    return main, params


def _join_rfc2231(segments: list[tuple[int, bool, str]]) -> str:
    segments.sort(key=lambda segment: segment[0])
    charset: str | None = None
    data = bytearray()
    for number, (_, encoded, text) in enumerate(segments):
        if encoded:
            if number == 0 and text.count("'") >= 2:
                charset, _language, text = text.split("'", 2)
            data += unquote_to_bytes(text.encode("utf-8", "surrogateescape"))
        else:
            data += text.encode("utf-8", "surrogateescape")
    return decode_words(decode_text(bytes(data), charset))


def parse_addresses(raw_values: list[str]) -> tuple[Address, ...]:
    """Every address in the given header values, names decoded, addresses lower-cased."""
    found: list[Address] = []
    for raw in raw_values:
        value = clean(raw)
        if "," not in value:
            simple = _simple_address(value)
            if simple is not None:
                found.append(simple)
                continue
        pairs = getaddresses([value])
        parsed = [(name, address) for name, address in pairs if address.strip()]
        if not parsed:
            parsed = [("", address) for address in _ANY_ADDRESS.findall(value)]
        for name, address in parsed:
            found.append(Address(_display_name(name), address.strip().lower()[:320]))
    return tuple(found)


def _simple_address(value: str) -> Address | None:
    match = _SIMPLE_ADDRESS.match(value)
    if match:
        name = match.group(1) if match.group(1) is not None else match.group(2)
        return Address(_display_name(name), match.group(3).lower()[:320])
    match = _BARE_ADDRESS.match(value)
    if match:
        return Address("", match.group(1).lower()[:320])
    return None


def _display_name(name: str) -> str:
    if not name:
        return ""
    name = _CONTROLS.sub("", decode_words(name))
    return " ".join(name.split()).strip("\"' ")[:MAX_HEADER_TEXT]


def message_id(raw: str | None) -> str | None:
    """The first Message-ID in a header value, without angle brackets; None if there is none."""
    ids = message_ids(raw)
    return ids[0] if ids else None


def message_ids(raw: str | None) -> list[str]:
    """All Message-IDs in a header value (References), in order, without duplicates.

    Over ``MAX_MESSAGE_IDS`` only the first (the thread's root) and the latest are kept.
    """
    if not raw:
        return []
    value = clean(raw)
    ids = _MESSAGE_ID.findall(value)
    if not ids:
        ids = [token.strip("<>") for token in value.split() if "@" in token]
    unique = list(dict.fromkeys(i[:MAX_HEADER_TEXT] for i in ids if i))
    if len(unique) > MAX_MESSAGE_IDS:
        unique = unique[:1] + unique[-(MAX_MESSAGE_IDS - 1) :]
    return unique


def parse_date(raw: str | None) -> datetime | None:
    """An aware datetime (UTC when the header says -0000 or nothing), or None if unreadable."""
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(" ".join(recover_8bit(raw).split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when

"""Bytes to text for email, the way mail clients decode it, never raising.

The stdlib maps ``ks_c_5601-1987`` and ``euc-kr`` to the ``euc_kr`` codec, which turns extended
Hangul (똠, 햏) into U+FFFD without a word; every Korean client actually writes cp949 (Unified
Hangul Code), a superset. Likewise GB2312 mail is GBK in practice, Big5 is usually cp950, and
Shift_JIS is Microsoft's cp932. The labels are mapped to those supersets (as the WHATWG Encoding
Standard does for browsers) and a label that lies is survived by fallbacks.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

# Label (lower case) or stdlib codec name -> codecs to try, in order.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "euc_kr": ("cp949",),
    "cp949": ("cp949",),
    "johab": ("johab", "cp949"),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "gb18030": ("gb18030",),
    "big5": ("cp950", "big5hkscs"),
    "cp950": ("cp950", "big5hkscs"),
    "big5hkscs": ("big5hkscs", "cp950"),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "cp932": ("cp932", "shift_jis_2004"),
    "euc_jp": ("euc_jp", "euc_jis_2004", "cp932"),
    "iso2022_jp": ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004"),
    "iso2022_kr": ("iso2022_kr",),
}
# Labels Python does not know, or knows as something else.
_LABELS: dict[str, str] = {
    "ks_c_5601-1987": "euc_kr",
    "ks_c_5601": "euc_kr",
    "ksc5601": "euc_kr",
    "ksc_5601": "euc_kr",
    "x-windows-949": "cp949",
    "windows-949": "cp949",
    "ms949": "cp949",
    "uhc": "cp949",
    "x-mac-korean": "cp949",
    "windows-31j": "cp932",
    "x-sjis": "shift_jis",
    "ms_kanji": "shift_jis",
    "csshiftjis": "shift_jis",
    "x-gbk": "gbk",
    "cp936": "gbk",
    "windows-936": "gbk",
    "x-euc-tw": "big5",
    "windows-874": "cp874",
    "x-cp1250": "cp1250",
    "x-cp1251": "cp1251",
    "x-cp1252": "cp1252",
    "x-user-defined": "cp1252",
}
# Labels that mean "no idea": treated as undeclared.
_UNDECLARED = frozenset({"", "unknown", "unknown-8bit", "x-unknown", "default", "charset", "none"})
# A declared Western single-byte charset on bytes that are valid UTF-8 is a lie far more often
# than real Latin-1 text that happens to form UTF-8 sequences ("Ã©"), so UTF-8 goes first there.
_WESTERN = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15"})
# Seven-bit codecs whose escape sequences are ASCII: ASCII bytes still need the real codec.
_SEVEN_BIT = frozenset(
    {"utf-7", "hz", "iso2022_kr", "iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004"}
)
_FALLBACKS = ("utf-8", "cp949")
# Registered as codecs but not charsets: "charset=base64" must not select them.
_BINARY_CODECS = frozenset({"base64", "bz2", "hex", "quopri", "rot-13", "uu", "zlib"})
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]{1,40})""", re.I
)


@lru_cache(maxsize=512)
def codecs_for(label: str | None) -> tuple[str, ...]:
    """The Python codecs to try, in order, for a MIME charset label; () when unknown or absent.

    Tolerates quotes, stray spaces, wrong case and an RFC 2231 language suffix (``utf-8*ko``).
    """
    if not label:
        return ()
    name = label.strip().strip("\"'").strip().lower().split("*", 1)[0]
    if name in _UNDECLARED:
        return ()
    name = _LABELS.get(name, name)
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):
        return ()
    if codec in _BINARY_CODECS:
        return ()
    return _SUPERSETS.get(codec, (codec,))


def decode_text(data: bytes, charset: str | None) -> str:
    """Decode ``data`` declared as ``charset`` (may be None, unknown or wrong); never raises.

    Order: the declared charset (mapped to its superset), UTF-8, cp949; if every strict decode
    fails, the candidate with only a few U+FFFD (a truncated sequence) wins; then cp1252, then
    Latin-1, which accepts any bytes. NUL characters and lone surrogates are removed (databases
    refuse them).
    """
    if not data:
        return ""
    declared = codecs_for(charset)
    if data.isascii() and not (declared and declared[0] in _SEVEN_BIT):
        if b"\x1b" in data and not declared:
            text = _decode_escape_sequences(data)
        else:
            text = data.decode("ascii")
    else:
        text = _decode_8bit(data, declared)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # UTF-7 and the *_escape codecs can produce lone surrogates, which cannot be stored.
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _decode_8bit(data: bytes, declared: tuple[str, ...]) -> str:
    candidates = list(declared)
    if declared and declared[0] in _WESTERN:
        candidates.insert(0, "utf-8")
    candidates.extend(c for c in _FALLBACKS if c not in candidates)
    for codec in candidates:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    best: str | None = None
    best_damage = len(data)
    for codec in candidates:
        try:
            text = data.decode(codec, errors="replace")
        except LookupError:
            continue
        damage = text.count("\ufffd")
        if damage < best_damage:
            best, best_damage = text, damage
    if best is not None and best_damage <= max(2, len(best) // 200):
        return best
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode_escape_sequences(data: bytes) -> str:
    # Undeclared ISO-2022 text (JIS mail without a charset parameter).
    for codec in ("iso2022_jp_2", "iso2022_kr"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("ascii")


def html_meta_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in a ``<meta>`` tag (first 4 KB), if any."""
    match = _META_CHARSET.search(data, 0, 4096)
    return match.group(1).decode("ascii") if match else None

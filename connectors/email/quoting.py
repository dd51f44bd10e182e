"""Where the quoted history of a reply starts, in a plain-text or an HTML body.

Replies carry the whole thread below the new words. For display the history is collapsed: these
functions find the offset where it starts, or None when there is none (or when cutting there
would leave nothing, or would hide answers written between quoted lines).

Rules, first match from the top wins:

- a separator line: ``-----Original Message-----``, ``-----원본 메시지-----``,
  ``------- 원본 메일 -------`` and their German/French/Spanish/Japanese/Chinese forms;
- a header block: a ``From:`` / ``보낸 사람:`` / ``발신:`` line followed within five lines by
  two more of ``Sent: Date: To: Cc: Subject: 보낸 날짜: 받는 사람: 참조: 제목:`` (Outlook,
  Naver, Daum, Hiworks), cut at the ``_____`` rule right above it if there is one; not when a
  forward marker (``---------- Forwarded message ---------``) comes right before it;
- an attribution line, possibly wrapped over three lines: ``On <date> <name> wrote:`` (and
  Le/Am/El... forms), ``<날짜> <이름> 님이 작성:`` or ``<날짜>, <이름> 작성:``, followed only by
  ``>``-quoted lines (in HTML: by a ``<blockquote>`` with nothing after it), or by no quoted
  line at all;
- a trailing block of ``>``-quoted lines that runs to the end of the body;
- HTML only: ``<div class="gmail_quote">``, ``<blockquote type="cite">`` (Apple Mail,
  Thunderbird), Yahoo and Proton quote containers when nothing but the quote follows them, and
  Outlook's ``divRplyFwdMsg`` / ``OLK_SRC_BODY_SECTION`` header containers; a cut there moves
  up over the attribution line, an ``<hr>`` and empty lines right above it.

Forwarded messages are not history: a Gmail quote container that starts with a forward marker
is left alone.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Sequence

_SEPARATOR = re.compile(
    r"^[\s>]*[-_=*]{2,}\s*(?:original\s+message|original\s+mail|원본\s*메시지|원본\s*메일|"
    r"ursprüngliche\s+nachricht|message\s+d'origine|mensaje\s+original|元のメッセージ|原始邮件)"
    r"\s*[-_=*]{2,}\s*$",
    re.I,
)
_FORWARD = re.compile(
    r"^[\s>]*(?:-{2,}\s*(?:forwarded\s+message|전달된\s*메시지|전달\s*메시지|전달된\s*메일|"
    r"weitergeleitete\s+nachricht|message\s+transféré)\s*-{2,}|begin\s+forwarded\s+message\s*:)",
    re.I,
)
_RULE = re.compile(r"^\s*(?:_{8,}|-{8,})\s*$")
_FROM_LINE = re.compile(
    r"^[\s>]*\*?(?:from|보낸\s*사람|보낸이|발신자|발신|von|de|差出人|发件人)\s*\*?\s*[:：]", re.I
)
_HEADER_LINE = re.compile(
    r"^[\s>]*\*?(?:sent|date|to|cc|subject|보낸\s*날짜|날짜|받는\s*사람|받는이|수신자|수신|참조|"
    r"제목|gesendet|datum|an|betreff|envoyé|à|objet|送信日時|宛先|件名|发送时间|收件人|主题)"
    r"\s*\*?\s*[:：]",
    re.I,
)
_ATTRIBUTION_START = re.compile(r"^\s*(?:(?:on|le|am|el|il|em|op)\s|\d{2,4}\s*[.\-/년])", re.I)
_ATTRIBUTION = re.compile(
    r"^\s*(?:(?:on|le|am|el|il|em|op)\s(?=.*\d).{1,300}?"
    r"(?:wrote|a\s+écrit|schrieb|escribió|ha\s+scritto|escreveu|schreef)"
    r"|\d{2,4}\s*[.\-/년].{1,250}?작성)\s*[:：]\s*$",
    re.I | re.S,
)
_ATTRIBUTION_WITH_ADDRESS = re.compile(
    r"^.{0,200}<[^<>\s]+@[^<>\s]+>.{0,40}?(?:wrote|님이\s*작성|작성)\s*[:：]\s*$", re.I
)
# Cheap substring tests (on the lower-cased body) that rule out most messages without quotes.
_TEXT_MARKERS = (
    "wrote",
    "écrit",
    "schrieb",
    "escribió",
    "scritto",
    "escreveu",
    "schreef",
    "작성",
    "original",
    "원본",
    "from",
    "보낸",
    "발신",
    "von",
    "de:",
    "de :",
    "差出人",
    "发件人",
    "元のメッセージ",
    "原始邮件",
    "ursprüngliche",
    "mensaje",
    "\n>",
    "\n >",
)
_HTML_MARKERS = (
    *_TEXT_MARKERS,
    "&gt;",
    "quote",
    "cite",
    "divrplyfwdmsg",
    "olk_src",
    "outlookmessage",
)

# Quote containers whose content is history only if nothing follows them (interleaved replies).
_HTML_TRAILING_QUOTE = re.compile(
    r"""<(div|blockquote)\b[^>]*?\bclass\s*=\s*["']?[^"'>]*?\b"""
    r"""(?:gmail_quote|yahoo_quoted|protonmail_quote)\b"""
    r"""|<(blockquote)\b[^>]*?\btype\s*=\s*["']?cite""",
    re.I,
)
# Containers after which everything is history (Outlook puts the quoted body after them).
_HTML_HEADER_CONTAINER = re.compile(
    r"""<div\b[^>]*?\bid\s*=\s*["']?(?:x_)?(?:divRplyFwdMsg|OLK_SRC_BODY_SECTION|"""
    r"""mail-editor-reference-message-container)\b"""
    r"""|<div\b[^>]*?\bclass\s*=\s*["']?[^"'>]*?\bOutlookMessageHeader\b""",
    re.I,
)
_TOKEN = re.compile(
    r"<!--.*?(?:-->|$)|<(script|style|head|title|xml)\b.*?(?:</\1\s*>|$)"
    r"|<(/?)([a-zA-Z][a-zA-Z0-9:]*)[^>]*>?|[^<]+|<",
    re.S | re.I,
)
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "tr", "td", "th", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"table", "hr", "pre", "ul", "ol", "dl", "dt", "dd", "section", "article", "header"}
    | {"footer", "center"}
)
_TAG = re.compile(r"<[^>]*>")
_TRAILING_JUNK = re.compile(
    r"(?:\s|&nbsp;|<hr\b[^>]*>|<br\b[^>]*>"
    r"|<(div|p|span|font)\b[^>]*>(?:\s|&nbsp;|<br\b[^>]*>)*</\1\s*>)+\Z",
    re.I,
)
_ELEMENT_TAGS = {tag: re.compile(rf"<(/?){tag}\b[^>]*>", re.I) for tag in ("div", "blockquote")}
_WINDOW = 300
# Each check of an HTML quote container scans the rest of the body; a hostile body with
# thousands of them must not make parsing quadratic.
_MAX_HTML_CHECKS = 20

# (text, offset where the line's markup starts, offset where its text starts)
Line = tuple[str, int, int]


def text_quote_start(text: str) -> int | None:
    """The offset in ``text`` where quoted history starts, or None."""
    lowered = text.lower()
    if not text.startswith(">") and not any(marker in lowered for marker in _TEXT_MARKERS):
        return None
    lines: list[Line] = []
    offset = 0
    for line in text.split("\n"):
        lines.append((line, offset, offset))
        offset += len(line) + 1
    index = _first_candidate(lines, html_body=None)
    if index is None:
        return None
    cut = lines[index][1]
    return cut if text[:cut].strip() else None


def html_quote_start(raw: str) -> int | None:
    """The offset in the (unsanitized) HTML ``raw`` where quoted history starts, or None.

    The caller sanitizes ``raw[:offset]``; the sanitizer closes the tags left open.
    """
    lowered = raw.lower()
    if not any(marker in lowered for marker in _HTML_MARKERS):
        return None
    cut = _structural_cut(raw)
    lines = _html_lines(raw if cut is None else raw[: cut + 4 * _WINDOW])
    index = _first_candidate(lines, html_body=raw)
    if index is not None and (cut is None or lines[index][1] < cut):
        cut = lines[index][1]
    if cut is None:
        return None
    cut = _extend_upwards(raw, lines, cut)
    return cut if _has_text(raw[:cut]) else None


def _first_candidate(lines: Sequence[Line], html_body: str | None) -> int | None:
    suffix: _QuotedSuffix | None = None
    html_checks = _MAX_HTML_CHECKS
    for index, (line, _start, _text_start) in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if _SEPARATOR.match(stripped):
            return index
        if _FROM_LINE.match(stripped) and _is_header_block(lines, index):
            before = _previous_nonblank(lines, index)
            if before is not None and _FORWARD.match(lines[before][0]):
                continue
            if before is not None and _RULE.match(lines[before][0]):
                return before
            return index
        if _ATTRIBUTION_START.match(stripped) or "@" in stripped:
            end = _attribution_end(lines, index)
            if end is not None:
                blockquote = _blockquote_after(lines, end, html_body)
                if blockquote is not None:
                    html_checks -= 1
                    if html_checks < 0:
                        continue
                    if _is_trailing(html_body or "", blockquote, "blockquote"):
                        return index
                else:
                    suffix = suffix or _QuotedSuffix(lines)
                    if suffix.no_reply_after_quote[end + 1]:
                        return index
        if stripped.startswith(">"):
            suffix = suffix or _QuotedSuffix(lines)
            if suffix.quoted_to_end[index + 1]:
                return index
    return None


class _QuotedSuffix:
    """For every line index, facts about the lines from there to the end (one backward pass, so
    that checking many candidate lines stays linear)."""

    def __init__(self, lines: Sequence[Line]) -> None:
        count = len(lines)
        # Only ">"-quoted or blank lines from here on.
        self.quoted_to_end = [True] * (count + 1)
        # No quoted line followed by an unquoted one from here on (no interleaved answers).
        self.no_reply_after_quote = [True] * (count + 1)
        unquoted_later = False
        for index in range(count - 1, -1, -1):
            stripped = lines[index][0].strip()
            quoted = stripped.startswith(">")
            self.quoted_to_end[index] = self.quoted_to_end[index + 1] and (quoted or not stripped)
            self.no_reply_after_quote[index] = self.no_reply_after_quote[index + 1] and not (
                quoted and unquoted_later
            )
            if stripped and not quoted:
                unquoted_later = True


def _is_header_block(lines: Sequence[Line], index: int) -> bool:
    found = 0
    for line, _start, _text_start in lines[index + 1 : index + 6]:
        if _HEADER_LINE.match(line):
            found += 1
            if found == 2:
                return True
    return False


def _previous_nonblank(lines: Sequence[Line], index: int) -> int | None:
    for before in range(index - 1, max(index - 4, -1), -1):
        if lines[before][0].strip():
            return before
    return None


def _attribution_end(lines: Sequence[Line], index: int) -> int | None:
    """The last line of an attribution starting at ``index`` (wrapped over up to 3 lines)."""
    joined = ""
    for end in range(index, min(index + 3, len(lines))):
        joined = (joined + " " + lines[end][0].strip()).strip()
        if len(joined) > 400:
            return None
        if _ATTRIBUTION.match(joined) or _ATTRIBUTION_WITH_ADDRESS.match(joined):
            return end
    return None


def _blockquote_after(lines: Sequence[Line], end: int, html_body: str | None) -> int | None:
    """Where a ``<blockquote>`` opens right after an attribution line of an HTML body."""
    if html_body is None:
        return None
    following = lines[end + 1][1] if end + 1 < len(lines) else len(html_body)
    start = lines[end][2]
    found = html_body[start : following + _WINDOW].lower().find("<blockquote")
    return start + found if found >= 0 else None


def _structural_cut(raw: str) -> int | None:
    cut: int | None = None
    header = _HTML_HEADER_CONTAINER.search(raw)
    if header:
        cut = header.start()
    matches = _HTML_TRAILING_QUOTE.finditer(raw, 0, cut if cut is not None else len(raw))
    for match in itertools.islice(matches, _MAX_HTML_CHECKS):
        tag = (match.group(1) or match.group(2)).lower()
        if _starts_with_forward(raw, match.end()):
            continue
        if _is_trailing(raw, match.start(), tag):
            return match.start()
    return cut


def _starts_with_forward(raw: str, start: int) -> bool:
    start = raw.find(">", start) + 1  # the end of the container's opening tag
    head = html.unescape(_TAG.sub("\n", raw[start : start + _WINDOW]))
    first = next((line for line in head.split("\n") if line.strip()), "")
    return bool(_FORWARD.match(first))


def _is_trailing(raw: str, start: int, tag: str) -> bool:
    """True when nothing but markup and white space follows the element opened at ``start``."""
    return not _has_text(raw[_element_end(raw, start, tag) :])


def _element_end(raw: str, start: int, tag: str) -> int:
    depth = 0
    for match in _ELEMENT_TAGS[tag].finditer(raw, start):
        if match.group(1):
            depth -= 1
            if depth <= 0:
                return match.end()
        elif not match.group(0).endswith("/>"):
            depth += 1
    return len(raw)


def _has_text(fragment: str) -> bool:
    """True when the HTML fragment shows any text or image."""
    for match in _TOKEN.finditer(fragment):
        token = match.group(0)
        if token[0] != "<" or len(token) == 1:
            if html.unescape(token).replace("\xa0", " ").strip():
                return True
        elif (match.group(3) or "").lower() == "img":
            return True
    return False


def html_text(raw: str) -> str:
    """The text of an HTML document, one line per block, without parsing it into a tree."""
    return "\n".join(line[0].strip() for line in _html_lines(raw))


def _html_lines(raw: str) -> list[Line]:
    """The text of an HTML document line by line, each line with the offset of the markup that
    opened it (the first block-level tag after the previous line's text)."""
    lines: list[Line] = []
    parts: list[str] = []
    start = text_start = 0
    for match in _TOKEN.finditer(raw):
        token = match.group(0)
        if token[0] == "<" and len(token) > 1:
            name = match.group(3)
            if name and name.lower() in _BLOCK_TAGS and parts:
                lines.append(("".join(parts), start, text_start))
                parts.clear()
                start = match.start()
            continue
        text = html.unescape(token).replace("\r", " ").replace("\n", " ").replace("\t", " ")
        if not parts:
            if not text.strip():
                continue
            text_start = match.start()
        parts.append(text)
    if parts:
        lines.append(("".join(parts), start, text_start))
    return lines


def _extend_upwards(raw: str, lines: Sequence[Line], cut: int) -> int:
    """Move a cut above the attribution line and the rules and blank lines right above it."""
    previous = [index for index, line in enumerate(lines) if line[2] < cut]
    if previous:
        index = previous[-1]
        for first in range(index, max(index - 3, -1), -1):
            if _attribution_end(lines, first) == index:
                cut = lines[first][1]
                break
    junk = _TRAILING_JUNK.search(raw, max(0, cut - _WINDOW), cut)
    if junk and junk.end() == cut:
        cut = junk.start()
    return cut

"""Inbound and outbound HTML: sanitized with nh3, plus the plain-text twin of each body."""

from __future__ import annotations

import html
import re

import nh3

# cid: stays allowed so inline email images can be rewritten to stored attachments.
_URL_SCHEMES = nh3.ALLOWED_URL_SCHEMES | {"cid"}
_BLOCK_END = re.compile(r"</(p|div|li|tr|h[1-6]|blockquote)>|<br\s*/?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")


# The sanitizer's parser slows down with the square of element nesting (20,000 nested <div>
# take over a second), so HTML nested deeper than any real message is read as text instead.
MAX_NESTING = 256
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
# Elements without a closing tag, or whose closing tag HTML lets authors leave out.
_NOT_NESTING = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "p",
        "li",
        "dt",
        "dd",
        "td",
        "th",
        "tr",
        "thead",
        "tbody",
        "tfoot",
        "option",
        "colgroup",
    ]
)
_ANY_TAG = re.compile(r"<[^>]*>")


def too_deep(raw: str, limit: int = MAX_NESTING) -> bool:
    """Whether ``raw`` nests elements deeper than ``limit`` (one linear scan, no parsing)."""
    depth = 0
    for closing, name, self_closing in _TAG.findall(raw):
        if self_closing or name.lower() in _NOT_NESTING:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > limit:
                return True
    return False


def _strip_tags(raw: str) -> str:
    return html.unescape(_ANY_TAG.sub(" ", raw))


def sanitize_html(raw: str) -> str:
    """Return ``raw`` with scripts, styles, event handlers and unsafe URLs removed."""
    if too_deep(raw):
        return text_to_html(_strip_tags(raw))
    return nh3.clean(raw, url_schemes=_URL_SCHEMES, link_rel="noopener noreferrer nofollow")


def html_to_text(raw: str) -> str:
    """A readable plain-text version of an HTML body (for search, previews, SMS-like channels)."""
    with_breaks = _BLOCK_END.sub(lambda m: m.group(0) + "\n", raw)
    if too_deep(with_breaks):
        stripped = _ANY_TAG.sub(" ", with_breaks)
    else:
        stripped = nh3.clean(with_breaks, tags=set(), attributes={})
    text = html.unescape(stripped)
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def text_to_html(text: str) -> str:
    """Escape plain text and keep its paragraphs and line breaks."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "".join(
        "<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p.strip()
    )


def bodies(text: str | None, html_body: str | None) -> tuple[str, str]:
    """Given either or both bodies, return ``(text, sanitized_html)``. Line breaks in the text
    become ``\n`` whatever sent it (a browser form sends ``\r\n``)."""
    if text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if html_body:
        clean = sanitize_html(html_body)
        return (text if text else html_to_text(clean)), clean
    text = text or ""
    return text, text_to_html(text)

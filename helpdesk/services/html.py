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


def sanitize_html(raw: str) -> str:
    """Return ``raw`` with scripts, styles, event handlers and unsafe URLs removed."""
    return nh3.clean(raw, url_schemes=_URL_SCHEMES, link_rel="noopener noreferrer nofollow")


def html_to_text(raw: str) -> str:
    """A readable plain-text version of an HTML body (for search, previews, SMS-like channels)."""
    with_breaks = _BLOCK_END.sub(lambda m: m.group(0) + "\n", raw)
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
    """Given either or both bodies, return ``(text, sanitized_html)``."""
    if html_body:
        clean = sanitize_html(html_body)
        return (text if text else html_to_text(clean)), clean
    text = text or ""
    return text, text_to_html(text)

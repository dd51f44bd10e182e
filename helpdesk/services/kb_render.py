"""Knowledge base text: Markdown to safe HTML, and slugs from titles (Hangul kept).

Articles are written in CommonMark with GitHub's tables and strikethrough. Authors may mix in
raw HTML (``<kbd>``, ``<details>``); whatever comes out of the renderer goes through the same
sanitizer as inbound email, so nothing an author types can run in a reader's browser.
"""

from __future__ import annotations

import re
import unicodedata

from markdown_it import MarkdownIt

from .html import sanitize_html

MAX_SLUG = 80
_NOT_WORD = re.compile(r"[\W_]+")
# One renderer per process: building it compiles the rule chains; rendering is thread safe.
_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def render_markdown(text: str) -> str:
    """``text`` (Markdown) as sanitized HTML, ready to serve."""
    return sanitize_html(_MARKDOWN.render(text or ""))


def slugify(title: str) -> str:
    """A URL word from a title: lower case, words joined by ``-``, letters of any script kept.

    "배송 조회는 어떻게 하나요?" gives "배송-조회는-어떻게-하나요"; "Reset your password!" gives
    "reset-your-password". May be empty (a title of only punctuation): the caller falls back.
    """
    text = unicodedata.normalize("NFKC", title).lower()
    slug = _NOT_WORD.sub("-", text).strip("-")
    return slug[:MAX_SLUG].rstrip("-")


def normalize_slug(slug: str) -> str:
    """A slug as it arrives in a URL, in the form slugs are stored (NFC Hangul, lower case)."""
    return unicodedata.normalize("NFKC", slug).strip().lower()

"""Inline images: ``cid:`` URLs in an HTML body and the MIME parts they point at."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

_CID_URL = re.compile(r"""\bcid:([^"'\s<>)]+)""", re.I)
_CID_ATTRIBUTE = re.compile(
    r"""(\b(?:src|href|background)\s*=\s*)(["']?)cid:([^"'\s<>]+)\2""", re.I
)


def normalize_content_id(raw: str | None) -> str | None:
    """A Content-ID header value as it appears in ``cid:`` URLs: no angle brackets or spaces."""
    if not raw:
        return None
    value = raw.strip().strip("<>").strip()
    return value[:255] or None


def referenced_content_ids(html_body: str) -> set[str]:
    """Every content id an HTML body refers to through ``cid:``, lower-cased."""
    if "cid:" not in html_body.lower():
        return set()
    return {unquote(html.unescape(cid)).lower() for cid in _CID_URL.findall(html_body)}


def rewrite_cid_urls(html_body: str, mapping: dict[str, str]) -> str:
    """Replace ``cid:`` URLs in src/href/background attributes with the URLs in ``mapping``
    (content id without angle brackets -> URL of the stored attachment).

    Content ids are matched as written, then percent-decoded and case-insensitively; an id not
    in ``mapping`` is left alone. The new URL is HTML-escaped.
    """
    if not mapping or "cid:" not in html_body.lower():
        return html_body
    folded = {key.strip("<>").lower(): url for key, url in mapping.items()}

    def replace(match: re.Match[str]) -> str:
        cid = html.unescape(match.group(3))
        url = mapping.get(cid) or folded.get(unquote(cid).lower())
        if url is None:
            return match.group(0)
        return f'{match.group(1)}"{html.escape(url, quote=True)}"'

    return _CID_ATTRIBUTE.sub(replace, html_body)

"""Inbound HTML: sanitized, and never a way to stall a request with pathological nesting."""

from __future__ import annotations

from helpdesk.services.html import MAX_NESTING, html_to_text, sanitize_html, too_deep


def test_ordinary_mail_html_is_not_too_deep():
    table = "<table><tr><td><p>한 줄<br>두 줄<td>칸</table>" * 50
    assert not too_deep("<div><blockquote><div>" + table + "</div></blockquote></div>")
    assert not too_deep("<p>" * 5000)  # unclosed paragraphs do not nest


def test_html_nested_past_the_limit_is_kept_as_escaped_text():
    depth = MAX_NESTING * 40
    raw = "<div>" * depth + "환불 <b>요청</b><script>alert(1)</script>" + "</div>" * depth
    assert too_deep(raw)
    clean = sanitize_html(raw)
    assert "<script" not in clean and "<div" not in clean
    assert clean.startswith("<p>") and "환불" in clean and "요청" in clean
    assert html_to_text(raw).split() == ["환불", "요청", "alert(1)"]

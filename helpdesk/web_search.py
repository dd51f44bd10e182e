"""The staff search page: tickets by subject, conversation and internal notes, in Korean or
English, with highlighted snippets."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from .services.errors import Invalid
from .services.search_queries import search
from .webui import bp, me

PAGE = 20


@bp.get("/search")
@login_required
def search_page():  # type: ignore[no-untyped-def]
    query = request.args.get("q", "").strip()
    page_number = max(1, request.args.get("page", 1, type=int) or 1)
    results, error = None, None
    if query:
        try:
            results = search(me(), query, limit=PAGE, offset=(page_number - 1) * PAGE)
        except Invalid as exc:
            error = exc.message
    return render_template(
        "search.html", query=query, results=results, error=error, page=page_number, size=PAGE
    )

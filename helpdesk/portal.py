"""The customer self-service portal: FAQ home, search, articles and the contact form.

Reading and writing to us need no account; customers who want to follow their requests sign
in by an emailed link (``portal_account``, which adds its pages to this blueprint). Pages live
under ``/help/<locale>`` and are rendered in that language,
whatever the browser or a staff member's own setting says (``/help`` alone picks the language
the usual way). Everything read comes from ``services.kb`` (published public articles only)
and the search index in the public scope; the contact form opens a ticket through
``services.ticket_create`` like any other channel.

What the portal remembers about a visitor lives in the signed session cookie: the articles
already viewed (one view per browser session), voted on (one vote per browser) and opened
from the contact form (one deflection each), and the number of the ticket just opened.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from knowledge_base.search import SearchScope

from .extensions import limiter
from .models import KB_LOCALES, Channel, KbTranslation
from .services import kb, portal_auth, search_sync
from .services.errors import Invalid, NotFound
from .services.permissions import SYSTEM
from .services.portal_auth import PortalCustomer
from .services.ticket_create import create_ticket
from .web_uploads import uploaded_files

log = logging.getLogger(__name__)

bp = Blueprint("portal", __name__, url_prefix="/help")

LOCALE = "<any(ko, en):locale>"
CONTACT_RATE_LIMIT = "5 per minute;30 per day"  # per IP; app config PORTAL_CONTACT_RATE_LIMIT
MAX_QUERY = 200
RESULTS = 20
SUGGESTIONS = 8
POPULAR = 5
RELATED = 5
REMEMBERED = 100  # ids kept per list in the session cookie (it must stay well under 4 KB)
LIMITS = {"name": 100, "email": 254, "subject": 200, "message": 5000}
MAX_FILES = 5  # per message sent from the portal (each within the attachment size limit)
HONEYPOT = "website"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
LANGUAGES = {"ko": "한국어", "en": "English"}


# --- rendering -----------------------------------------------------------------------------


def _home_urls() -> dict[str, str]:
    return {code: url_for("portal.home_in", locale=code) for code in KB_LOCALES}


def _render(locale: str, template: str, status: int = 200, **context: Any):  # type: ignore[no-untyped-def]
    """``template`` in ``locale`` (the page's language, not the browser's)."""
    context.setdefault("switch_urls", _home_urls())
    with force_locale(locale):
        page = render_template(template, locale=locale, languages=LANGUAGES, **context)
    return page, status


def signed_in() -> PortalCustomer | None:
    """The customer signed in to the portal in this browser, resolved again on each request
    (a merge moves them to the survivor; an address taken off the customer signs them out)."""
    if "portal_customer" not in g:
        customer = portal_auth.signed_in_customer(session.get("portal_email"))
        if customer is None and "portal_email" in session:
            forget_customer()
        elif customer is not None and session.get("portal_customer_id") != customer.id:
            session["portal_customer_id"] = customer.id
        g.portal_customer = customer
    return cast(PortalCustomer | None, g.portal_customer)


def remember_customer(customer: PortalCustomer) -> None:
    session["portal_customer_id"] = customer.id
    session["portal_email"] = customer.email
    g.portal_customer = customer


def forget_customer() -> None:
    session.pop("portal_customer_id", None)
    session.pop("portal_email", None)
    g.portal_customer = None


@bp.context_processor
def _portal_context() -> dict[str, Any]:
    return {"portal_customer": signed_in()}


def _not_found(locale: str):  # type: ignore[no-untyped-def]
    return _render(locale, "portal/error.html", 404, code=404, message=None)


@bp.errorhandler(429)
def _too_many(exc: HTTPException):  # type: ignore[no-untyped-def]
    locale = (request.view_args or {}).get("locale") or _browser_locale()
    message = _l("Too many messages from your network. Please try again a little later.")
    page, status = _render(locale, "portal/error.html", 429, code=429, message=message)
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return page, status, headers


def _browser_locale() -> str:
    chosen = str(get_locale() or "")
    return chosen if chosen in KB_LOCALES else KB_LOCALES[0]


def _remembered(key: str) -> list[int]:
    value = session.get(key)
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _remember(key: str, value: int) -> None:
    session[key] = [*_remembered(key), value][-REMEMBERED:]


def _article_url(translation: KbTranslation) -> str:
    return url_for("portal.article", locale=translation.locale, slug=translation.slug)


# --- home and search -----------------------------------------------------------------------


@bp.get("")
@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return _home(_browser_locale())


@bp.get(f"/{LOCALE}")
def home_in(locale: str):  # type: ignore[no-untyped-def]
    return _home(locale)


def _home(locale: str):  # type: ignore[no-untyped-def]
    articles = kb.public_articles(locale)
    by_category: dict[int | None, list[KbTranslation]] = {}
    for translation in articles:
        by_category.setdefault(translation.article.category_id, []).append(translation)
    categories = kb.public_categories([cid for cid in by_category if cid is not None])
    sections: list[tuple[int | None, str | None, list[KbTranslation]]] = [
        (c.id, c.name_for(locale), by_category[c.id]) for c in categories
    ]
    if None in by_category:
        sections.append((None, None, by_category[None]))
    return _render(
        locale,
        "portal/home.html",
        sections=sections,
        popular=kb.popular_articles(locale, POPULAR),
    )


def _hits(locale: str, query: str) -> list[dict[str, Any]]:
    """Search results in the public scope, as links to articles readers may still see."""
    ix = search_sync.search_index()
    results = ix.search(query, SearchScope.public(locale), kinds=["article"], limit=RESULTS)
    found = kb.public_translations(locale, [hit.id for hit in results.hits])
    return [
        {
            "title_html": hit.title_html,
            "snippet": hit.snippet,
            "url": _article_url(found[hit.id]),
        }
        for hit in results.hits
        if hit.id in found
    ]


@bp.get(f"/{LOCALE}/search")
def search(locale: str):  # type: ignore[no-untyped-def]
    query = " ".join(request.args.get("q", "").split())[:MAX_QUERY]
    hits = _hits(locale, query) if query else []
    return _render(locale, "portal/search.html", query=query, hits=hits)


@bp.get(f"/{LOCALE}/suggest")
def suggest(locale: str):  # type: ignore[no-untyped-def]
    """Titles matching what is typed so far (the last word may be unfinished), as JSON."""
    prefix = " ".join(request.args.get("q", "").split())[:MAX_QUERY]
    if not prefix:
        return jsonify([])
    ix = search_sync.search_index()
    hits = ix.suggest(prefix, SearchScope.public(locale), kinds=["article"], limit=SUGGESTIONS)
    found = kb.public_translations(locale, [hit.id for hit in hits])
    return jsonify(
        [
            {"title": found[hit.id].title, "url": _article_url(found[hit.id])}
            for hit in hits
            if hit.id in found
        ]
    )


# --- the contact form ----------------------------------------------------------------------


def _contact_limit() -> str:
    return str(current_app.config.get("PORTAL_CONTACT_RATE_LIMIT") or CONTACT_RATE_LIMIT)


def _contact_errors(values: dict[str, str]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for field, limit in LIMITS.items():
        if not values[field]:
            errors[field] = _l("This field is required.")
        elif len(values[field]) > limit:
            errors[field] = _l("At most %(max)s characters.", max=limit)
    if "email" not in errors and not EMAIL.match(values["email"]):
        errors["email"] = _l("Enter a valid email address, like name@example.com.")
    return errors


@bp.route(f"/{LOCALE}/contact", methods=["GET", "POST"])
@limiter.limit(_contact_limit, methods=["POST"], key_func=lambda: request.remote_addr or "-")
def contact(locale: str):  # type: ignore[no-untyped-def]
    values = {field: "" for field in LIMITS}
    values["subject"] = request.args.get("subject", "")[: LIMITS["subject"]]
    customer = signed_in()
    if customer is not None:
        values["name"], values["email"] = customer.name[: LIMITS["name"]], customer.email
    errors: dict[str, Any] = {}
    if request.method == "POST":
        values = {field: request.form.get(field, "").strip() for field in LIMITS}
        values["name"] = " ".join(values["name"].split())
        values["subject"] = " ".join(values["subject"].split())
        if request.form.get(HONEYPOT, "").strip():
            # A bot filled the field people never see: it gets the same answer as a person.
            log.info("portal contact form: honeypot filled, nothing created")
            session.pop("portal_ticket", None)
            return redirect(url_for("portal.thanks", locale=locale))
        errors = _contact_errors(values)
        files = uploaded_files()
        if len(files) > MAX_FILES:
            errors["attachments"] = _l("Attach at most %(max)s files.", max=MAX_FILES)
        if not errors:
            try:
                ticket = create_ticket(
                    SYSTEM,
                    subject=values["subject"],
                    body_text=values["message"],
                    channel=Channel.WEB,
                    customer_identity=("email", values["email"]),
                    customer_name=values["name"],
                    attachments=files,
                )
            except Invalid as exc:
                field = next(iter(exc.fields or {}), "")
                key = field if field in (*LIMITS, "attachments") else "form"
                errors[key] = exc.message
            else:
                session["portal_ticket"] = ticket.number
                return redirect(url_for("portal.thanks", locale=locale))
    return _render(
        locale,
        "portal/contact.html",
        422 if errors else 200,
        values=values,
        errors=errors,
        limits=LIMITS,
        max_files=MAX_FILES,
        honeypot=HONEYPOT,
    )


@bp.get(f"/{LOCALE}/contact/thanks")
def thanks(locale: str):  # type: ignore[no-untyped-def]
    return _render(locale, "portal/thanks.html", number=session.get("portal_ticket"))


# --- articles ------------------------------------------------------------------------------


@bp.get(f"/{LOCALE}/<slug>")
def article(locale: str, slug: str):  # type: ignore[no-untyped-def]
    try:
        translation = kb.public_article(locale, slug)
    except NotFound:
        return _not_found(locale)
    article_id = translation.article_id
    from_contact = request.args.get("from") == "contact"
    try:
        if translation.id not in _remembered("portal_viewed"):
            kb.record_view(article_id, locale)
            _remember("portal_viewed", translation.id)
        if from_contact and translation.id not in _remembered("portal_deflected"):
            kb.record_deflection(article_id, locale)
            _remember("portal_deflected", translation.id)
    except NotFound:  # unpublished between the read and the count
        return _not_found(locale)
    switch_urls = _home_urls()
    for code in KB_LOCALES:
        twin = kb.public_translations(code, [article_id]).get(article_id)
        if twin is not None:
            switch_urls[code] = _article_url(twin)
    category = translation.article.category_id
    categories = kb.public_categories([category]) if category is not None else []
    return _render(
        locale,
        "portal/article.html",
        translation=translation,
        category=categories[0] if categories else None,
        related=kb.related_articles(translation, RELATED),
        voted=article_id in _remembered("portal_voted"),
        from_contact=from_contact,
        switch_urls=switch_urls,
    )


@bp.post(f"/{LOCALE}/<slug>/vote")
def vote(locale: str, slug: str):  # type: ignore[no-untyped-def]
    try:
        translation = kb.public_article(locale, slug)
    except NotFound:
        return _not_found(locale)
    answer = request.form.get("helpful")
    if answer not in ("yes", "no"):
        return redirect(_article_url(translation))
    with force_locale(locale):
        if translation.article_id in _remembered("portal_voted"):
            flash(_("You have already answered for this article."), "info")
        else:
            try:
                kb.record_vote(translation.article_id, locale, answer == "yes")
            except NotFound:
                return _not_found(locale)
            _remember("portal_voted", translation.article_id)
            session.permanent = True  # one vote per browser, not per browser session
            flash(_("Thank you for your feedback."), "success")
    return redirect(_article_url(translation) + "#vote")


def init_app(app: Flask) -> None:
    from . import portal_account  # noqa: F401  (its pages join this blueprint)

    app.register_blueprint(bp)

"""Customer sign-in to the portal by an emailed link, and "my tickets".

Pages live under ``/help/<locale>/account/`` (a prefix no article slug can hide). Signing in:
the customer gives an email address; the page always answers "if we know this address, a
link is on its way" (``services.portal_auth`` queues the link, the worker sends it). The link
opens a page with a "Sign in" button: the POST spends the link, so a mail scanner that fetches
links does not. The session remembers the address signed in with (``portal.signed_in``).

Signed in, a customer lists their own tickets, reads the public conversation and replies,
all through the services with ``Actor.customer``: internal notes and other customers' tickets
never reach these pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _

from .extensions import limiter
from .models import KB_LOCALES
from .portal import (
    EMAIL,
    LIMITS,
    LOCALE,
    MAX_FILES,
    _render,
    bp,
    forget_customer,
    remember_customer,
    signed_in,
)
from .services import attachments, portal_auth, portal_tickets
from .services.errors import Conflict, Invalid, NotFound
from .services.messages import add_customer_message
from .services.permissions import Actor
from .web_uploads import uploaded_files

SIGN_IN_RATE_LIMIT = "5 per minute;30 per hour"  # per IP; app config PORTAL_SIGN_IN_RATE_LIMIT
ACCOUNT = f"/{LOCALE}/account"
# What a customer is told about a ticket's status (the staff's words mean little to them).
STATUS_TEXT = {
    "new": "received",
    "open": "in-progress",
    "on-hold": "in-progress",
    "pending": "awaiting-you",
    "solved": "solved",
    "closed": "closed",
}


def _sign_in_limit() -> str:
    return str(current_app.config.get("PORTAL_SIGN_IN_RATE_LIMIT") or SIGN_IN_RATE_LIMIT)


def _page(locale: str, template: str, status: int = 200, **context: Any) -> Any:
    """A portal page whose language links lead to the same page in the other language."""
    if request.method == "GET" and request.endpoint:
        args = dict(request.view_args or {})
        context["switch_urls"] = {
            code: url_for(request.endpoint, **{**args, "locale": code}) for code in KB_LOCALES
        }
    return _render(locale, template, status, **context)


def _no_store(response: Any) -> Any:
    """Pages carrying a link's token or a customer's conversation stay out of shared caches."""
    page, status = response
    return page, status, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def customer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages for signed-in customers; anyone else is sent to sign in first."""

    @wraps(view)
    def wrapper(locale: str, **kwargs: Any) -> Any:
        customer = signed_in()
        if customer is None:
            return redirect(url_for("portal.sign_in", locale=locale))
        return view(locale, Actor.customer(customer.id), **kwargs)

    return wrapper


# --- signing in and out --------------------------------------------------------------------


def _link_base(locale: str) -> str:
    """Where the emailed link points: the configured public address, else this request's host.

    Set ``HELPDESK_PUBLIC_URL`` in production: without it the link follows the Host header of
    the request that asked for it (restrict hosts with ``HELPDESK_TRUSTED_HOSTS``).
    """
    path = url_for("portal.link_base", locale=locale)
    public_url = current_app.config["HELPDESK"].public_url
    if public_url:
        return public_url + path[len(request.script_root) :]
    return request.host_url.rstrip("/") + path


@bp.route(f"{ACCOUNT}/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"], key_func=lambda: request.remote_addr or "-")
def sign_in(locale: str):  # type: ignore[no-untyped-def]
    if signed_in() is not None and request.method == "GET":
        return redirect(url_for("portal.my_tickets", locale=locale))
    email = ""
    error = None
    if request.method == "POST":
        email = request.form.get("email", "").strip()[: LIMITS["email"]]
        if not EMAIL.match(email):
            with force_locale(locale):
                error = _("Enter a valid email address, like name@example.com.")
        else:
            portal_auth.request_link(email, locale, _link_base(locale))
            session["portal_link_sent_to"] = email
            return redirect(url_for("portal.check_email", locale=locale))
    return _page(
        locale,
        "portal/sign_in.html",
        422 if error else 200,
        email=email,
        error=error,
        limits=LIMITS,
    )


@bp.get(f"{ACCOUNT}/check-email")
def check_email(locale: str):  # type: ignore[no-untyped-def]
    return _page(locale, "portal/check_email.html", email=session.get("portal_link_sent_to"))


@bp.get(f"{ACCOUNT}/link")
def link_base(locale: str):  # type: ignore[no-untyped-def]
    """A link cut short (the token lost on the way): start again."""
    return redirect(url_for("portal.sign_in", locale=locale))


@bp.get(f"{ACCOUNT}/link/<token>")
def open_link(locale: str, token: str):  # type: ignore[no-untyped-def]
    problem = portal_auth.check_link(token)
    status = 200 if problem is None else 410 if problem != "unknown" else 404
    return _no_store(_page(locale, "portal/link.html", status, token=token, problem=problem))


@bp.post(f"{ACCOUNT}/link/<token>")
def use_link(locale: str, token: str):  # type: ignore[no-untyped-def]
    try:
        customer = portal_auth.redeem_link(token)
    except portal_auth.LinkRefused as exc:
        return _no_store(_page(locale, "portal/link.html", 410, token="", problem=exc.problem))
    remember_customer(customer)
    session.pop("portal_link_sent_to", None)
    return redirect(url_for("portal.my_tickets", locale=locale))


@bp.post(f"{ACCOUNT}/sign-out")
def sign_out(locale: str):  # type: ignore[no-untyped-def]
    forget_customer()
    with force_locale(locale):
        flash(_("You have signed out."), "info")
    return redirect(url_for("portal.home_in", locale=locale))


# --- my tickets ----------------------------------------------------------------------------


@bp.get(f"{ACCOUNT}/tickets")
@customer_required
def my_tickets(locale: str, actor: Actor):  # type: ignore[no-untyped-def]
    cursor = request.args.get("cursor") or None
    try:
        page = portal_tickets.my_tickets(actor, cursor)
    except Invalid:  # a cursor mangled in the address bar: the first page
        return redirect(url_for("portal.my_tickets", locale=locale))
    return _no_store(_page(locale, "portal/my_tickets.html", page=page, status_text=STATUS_TEXT))


def _ticket_page(locale: str, actor: Actor, number: int, body: str = "", error: str | None = None):  # type: ignore[no-untyped-def]
    try:
        found = portal_tickets.conversation(actor, number)
    except NotFound:
        return _page(locale, "portal/error.html", 404, code=404, message=None)
    return _no_store(
        _page(
            locale,
            "portal/ticket.html",
            422 if error else 200,
            conversation=found,
            ticket=found.ticket,
            status_text=STATUS_TEXT,
            body=body,
            error=error,
            limits=LIMITS,
            max_files=MAX_FILES,
        )
    )


@bp.get(f"{ACCOUNT}/tickets/<int:number>")
@customer_required
def my_ticket(locale: str, actor: Actor, number: int):  # type: ignore[no-untyped-def]
    return _ticket_page(locale, actor, number)


@bp.post(f"{ACCOUNT}/tickets/<int:number>")
@customer_required
def reply(locale: str, actor: Actor, number: int):  # type: ignore[no-untyped-def]
    body = request.form.get("body", "").strip()
    files = uploaded_files()
    with force_locale(locale):
        if not body:
            return _ticket_page(locale, actor, number, body, _("Write your message first."))
        if len(body) > LIMITS["message"]:
            error = _("At most %(max)s characters.", max=LIMITS["message"])
            return _ticket_page(locale, actor, number, body, error)
        if len(files) > MAX_FILES:
            error = _("Attach at most %(max)s files.", max=MAX_FILES)
            return _ticket_page(locale, actor, number, body, error)
        try:
            found = portal_tickets.conversation(actor, number)
            add_customer_message(
                actor, found.ticket.id, body_text=body, attachments=files, kind="web"
            )
        except NotFound:
            return _page(locale, "portal/error.html", 404, code=404, message=None)
        except Invalid as exc:  # e.g. a file over the size limit
            return _ticket_page(locale, actor, number, body, str(exc.message))
        except Conflict:
            # Closed or merged meanwhile: the page explains what to do instead.
            return _ticket_page(
                locale, actor, number, body, _("This request can no longer be answered here.")
            )
        flash(_("Your message was added. We will get back to you."), "success")
    return redirect(url_for("portal.my_ticket", locale=locale, number=number) + "#latest")


@bp.get(f"{ACCOUNT}/attachments/<int:attachment_id>")
@customer_required
def attachment(locale: str, actor: Actor, attachment_id: int):  # type: ignore[no-untyped-def]
    try:
        found = attachments.get_attachment(actor, attachment_id)
    except NotFound:
        abort(404)
    return send_file(
        attachments.blob_path(found.sha256),
        mimetype=found.content_type,
        as_attachment=True,  # never rendered inline: an HTML file must not run on our origin
        download_name=found.filename,
        max_age=0,
    )

"""Who sent it: a person, an auto-responder, a mailing list, or a mail server.

Automated mail must never get an automatic answer (that is how mail loops start), and lists and
bounces usually should not open tickets. The signals, each reported as a reason:

- bounce: a delivery status notification (``multipart/report; report-type=delivery-status`` or
  a ``message/delivery-status`` part), or a sender whose local part is ``mailer-daemon`` or
  ``postmaster``;
- auto reply: ``Auto-Submitted`` other than ``no`` (RFC 3834), ``X-Autoreply``,
  ``X-Autorespond``, ``X-Auto-Response-Suppress`` containing All, OOF or AutoReply (Exchange
  sets it on its own out-of-office and rule replies; DR/RN/NRN alone only refuse receipts),
  ``Precedence: auto_reply``, a read receipt (``report-type=disposition-notification``), or a
  null ``Return-Path: <>`` (RFC 5321 reserves it for automated mail);
- bulk: ``Precedence: bulk``, ``junk`` or ``list``, or a ``List-Id`` header.

When several apply, bounce beats auto reply, which beats bulk.
"""

from __future__ import annotations

from collections.abc import Mapping

from .headers import one_line
from .model import Address, MailKind

_SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_SUPPRESS_AUTOREPLY = ("all", "oof", "autoreply")


def classify(
    headers: Mapping[str, str],
    sender: Address,
    *,
    delivery_status: bool,
    read_receipt: bool,
) -> tuple[MailKind, tuple[str, ...]]:
    """The kind of sender and the reasons for it.

    ``headers`` maps lower-cased names of the top-level header to their first raw value.
    """
    bounce: list[str] = []
    auto: list[str] = []
    bulk: list[str] = []
    if delivery_status:
        bounce.append("delivery status notification")
    local_part = sender.address.partition("@")[0]
    if local_part in _SYSTEM_SENDERS:
        bounce.append(f"sender is {local_part}")

    auto_submitted = _first_word(headers.get("auto-submitted"))
    if auto_submitted and auto_submitted != "no":
        auto.append(f"Auto-Submitted: {auto_submitted}")
    for name, label in (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond")):
        if name in headers:
            auto.append(label)
    suppress = (headers.get("x-auto-response-suppress") or "").lower()
    if any(token in suppress for token in _SUPPRESS_AUTOREPLY):
        auto.append("X-Auto-Response-Suppress")
    precedence = _first_word(headers.get("precedence"))
    if precedence == "auto_reply":
        auto.append("Precedence: auto_reply")
    if read_receipt:
        auto.append("read receipt")
    return_path = headers.get("return-path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        auto.append("null Return-Path")

    if precedence in ("bulk", "junk", "list"):
        bulk.append(f"Precedence: {precedence}")
    if "list-id" in headers:
        bulk.append("List-Id")

    reasons = tuple(bounce + auto + bulk)
    if bounce:
        return MailKind.BOUNCE, reasons
    if auto:
        return MailKind.AUTO_REPLY, reasons
    if bulk:
        return MailKind.BULK, reasons
    return MailKind.HUMAN, reasons


def _first_word(value: str | None) -> str:
    if not value:
        return ""
    word = one_line(value.split(";", 1)[0], 40).lower()
    return word.encode("ascii", "replace").decode("ascii")

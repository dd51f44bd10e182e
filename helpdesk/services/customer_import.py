"""CSV import of customers and of their business events, all or nothing.

Every row is checked first; with any problem the report lists them all (row, field, reason)
and nothing is written. A clean file is then written in one transaction, so a failure half
way leaves nothing behind either. Files from Korean Excel (cp949) are read as well as UTF-8.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..models import Customer, Organization
from .customer_events import clean_event, store_event
from .customers import create_customer, find_customer, resolve_customer
from .errors import Invalid
from .identities import normalize_identity
from .permissions import Actor, Permission, require
from .transaction import current_session, transaction

MAX_ROWS = 50_000
_TIER = re.compile(r"^[\w.-]{1,32}$")
Progress = Callable[[int], None]


@dataclass
class Problem:
    row: int  # 1-based data row (the header is row 0)
    field: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0  # already there (a customer's identity, an event's external id)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_rows(raw: bytes) -> list[dict[str, str]]:
    """The data rows with lower-cased header names; UTF-8 (with or without BOM) or cp949."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp949")
        except UnicodeDecodeError as exc:
            raise Invalid(_l("The file is neither UTF-8 nor Korean (cp949) text.")) from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise Invalid(_l("The file has no header row."))
    rows = []
    for row in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in row.items()})
        if len(rows) > MAX_ROWS:
            raise Invalid(_l("At most %(max)s rows per file.", max=MAX_ROWS))
    return rows


def _identities(number: int, row: dict[str, str], problems: list[Problem]) -> list[tuple[str, str]]:
    found = []
    for kind in ("email", "phone"):
        if row.get(kind):
            try:
                normalize_identity(kind, row[kind])
                found.append((kind, row[kind]))
            except Invalid as exc:
                problems.append(Problem(number, kind, str(exc.message)))
    return found


def import_customers(actor: Actor, raw: bytes, progress: Progress | None = None) -> ImportReport:
    """Columns: name, email, phone (at least one of them), organization, tier, locale."""
    require(actor, Permission.CUSTOMER_WRITE)
    rows = read_rows(raw)
    report = ImportReport(rows=len(rows))
    checked: list[tuple[dict[str, str], list[tuple[str, str]], str | None, str | None]] = []
    for number, row in enumerate(rows, 1):
        identities = _identities(number, row, report.problems)
        if not identities and not any(p.row == number for p in report.problems):
            report.problems.append(
                Problem(number, "email", str(_l("An email or a phone is required.")))
            )
        tier = row.get("tier", "").lower()
        if tier and not _TIER.match(tier):
            report.problems.append(
                Problem(number, "tier", str(_l("A tier is one short word, like gold or vip.")))
            )
        locale = row.get("locale", "").lower()
        if locale and locale not in ("ko", "en"):
            report.problems.append(Problem(number, "locale", str(_l("Locale must be en or ko."))))
        checked.append((row, identities, tier or None, locale or None))
    if report.problems:
        return report
    with transaction() as session:
        organizations = {o.name: o.id for o in session.scalars(select(Organization))}
        for number, (row, identities, row_tier, row_locale) in enumerate(checked, 1):
            org_name = row.get("organization") or ""
            if org_name and org_name not in organizations:
                org = Organization(name=org_name[:200])
                session.add(org)
                session.flush()
                organizations[org_name] = org.id
            existing = next(
                (
                    found
                    for kind, value in identities
                    if (found := find_customer(actor, kind, value))
                ),
                None,
            )
            if existing is None:
                create_customer(
                    actor,
                    name=row.get("name") or identities[0][1],
                    identities=identities,
                    organization_id=organizations.get(org_name),
                    locale=row_locale,
                    tier=row_tier,
                )
                report.created += 1
            else:
                report.unchanged += 1
            if progress:
                progress(number)
    return report


def import_events(actor: Actor, raw: bytes, progress: Progress | None = None) -> ImportReport:
    """Columns: email or phone or customer_id; kind, title, occurred_at (ISO 8601 with a zone),
    and optionally external_id, amount, currency, url (kept as the event's data)."""
    require(actor, Permission.CUSTOMER_WRITE)
    rows = read_rows(raw)
    report = ImportReport(rows=len(rows))
    checked: list[tuple[dict[str, Any], list[tuple[str, str]], int | None]] = []
    for number, row in enumerate(rows, 1):
        identities = _identities(number, row, report.problems)
        customer_id = None
        if row.get("customer_id"):
            if not row["customer_id"].isdigit():
                report.problems.append(
                    Problem(number, "customer_id", str(_l("Give a customer id.")))
                )
            else:
                customer_id = int(row["customer_id"])
        if (
            not identities
            and customer_id is None
            and not any(p.row == number for p in report.problems)
        ):
            report.problems.append(
                Problem(number, "email", str(_l("Name the customer: email, phone or customer_id.")))
            )
        data = {k: row[k] for k in ("amount", "currency", "url") if row.get(k)}
        try:
            values = clean_event({**row, "data": data, "source": "csv"})
        except Invalid as exc:
            for name in exc.fields or {"row": []}:
                report.problems.append(Problem(number, name, str(exc.message)))
            continue
        checked.append((values, identities, customer_id))
    wanted = {customer_id for _, _, customer_id in checked if customer_id is not None}
    known = set(
        current_session().scalars(select(Customer.id).where(Customer.id.in_(wanted)))
        if wanted
        else ()
    )
    for number, (_, _, customer_id) in enumerate(checked, 1):
        if customer_id is not None and customer_id not in known:
            report.problems.append(
                Problem(number, "customer_id", str(_l("No customer has this id.")))
            )
    if report.problems:
        return report
    with transaction() as session:
        for number, (values, identities, customer_id) in enumerate(checked, 1):
            if customer_id is not None:
                customer = session.get(Customer, customer_id)
                assert customer is not None
            else:
                customer, _ = resolve_customer(actor, *identities[0])
            _, created = store_event(session, actor, customer, values)
            report.created += created
            report.unchanged += not created
            if progress:
                progress(number)
    return report

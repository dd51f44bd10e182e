"""What a Whoosh index stores: its schema, its codec, and the fields of one document.

Terms come from ``analysis.py`` already analyzed, with their impacts (``impacts.py``); they go
to the engine directly, not through Whoosh's analysis pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from whoosh import fields
from whoosh.analysis import IDTokenizer
from whoosh.codec.whoosh3 import W3Codec
from whoosh.formats import Existence, Frequency
from whoosh.system import pack_uint

from .analysis import index_terms
from .impacts import (
    TYPICAL_BODY_TERMS,
    TYPICAL_TITLE_TERMS,
    recency_factor,
    term_impacts,
    to_timestamp,
)
from .values import ArticleDocument, Document


class TermsField(fields.FieldType):
    """A field indexed from terms analyzed already: ``{term: (frequency, impact)}``."""

    def __init__(self, weighted: bool) -> None:
        super().__init__(Frequency() if weighted else Existence(), IDTokenizer())

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        for term, (freq, weight) in value.items():
            packed = _PACKED[freq] if freq < len(_PACKED) else pack_uint(freq)
            yield term.encode("utf-8"), freq, weight, packed


_PACKED = [pack_uint(n) for n in range(64)]  # shared posting values of small frequencies


class Codec(W3Codec):
    # Scores come from the impacts; Whoosh's per-block field length statistics would cost a
    # length lookup per posting (and a file lookup per posting for fields without lengths).
    length_stats = False


def index_schema() -> fields.Schema:
    return fields.Schema(
        key=fields.ID(unique=True, stored=True),
        text=TermsField(weighted=True),  # title (weighted), body and internal notes
        public=TermsField(weighted=True),  # title and body, only where there are notes
        title=TermsField(weighted=True),  # for suggestions as you type
        acl=TermsField(weighted=False),  # permission and filter terms
        updated=fields.NUMERIC(numtype=int, bits=32, signed=False, stored=True),
        title_text=fields.STORED(),
        body_text=fields.STORED(),
        notes_text=fields.STORED(),
    )


def document_fields(doc: Document) -> dict[str, Any]:
    if isinstance(doc, ArticleDocument):
        title, body, notes = doc.title, doc.body, ""
        acl = {f"loc:{doc.locale}"}
        if doc.visibility == "public" and doc.published:
            acl |= {"pub", f"pub:{doc.locale}"}
        if doc.category_id is not None:
            acl.add(f"cat:{doc.category_id}")
    else:
        title, body, notes = f"#{doc.number} {doc.subject}", doc.text, doc.internal_notes
        group = "-" if doc.group_id is None else doc.group_id
        # A customer's own tickets carry "c:", or "cn:" when ``text`` holds internal notes
        # (customers then search the ``public`` field); likewise "o:" and "on:".
        customer, organization = ("cn", "on") if notes else ("c", "o")
        acl = {f"loc:{doc.locale}", f"st:{doc.status}", f"g:{group}"}
        acl.add(f"{customer}:{doc.customer_id}")
        if doc.organization_id is not None:
            acl.add(f"{organization}:{doc.organization_id}")
    updated = to_timestamp(doc.updated_at)
    recency = recency_factor(updated)
    title_terms, body_terms = index_terms(title), index_terms(body)
    values: dict[str, Any] = {
        "key": doc.key,
        "title": term_impacts(recency, [], (title_terms, TYPICAL_TITLE_TERMS)),
        "acl": {term: (1, 1.0) for term in acl},
        "updated": updated,
        "title_text": title,
        "body_text": body,
    }
    if notes:
        notes_part = (index_terms(notes), TYPICAL_BODY_TERMS)
        body_part = (body_terms, TYPICAL_BODY_TERMS)
        values["text"] = term_impacts(recency, title_terms, body_part, notes_part)
        values["public"] = term_impacts(recency, title_terms, body_part)
        values["notes_text"] = notes
    else:
        values["text"] = term_impacts(recency, title_terms, (body_terms, TYPICAL_BODY_TERMS))
    return values


# Whoosh pickles the schema and the codec into every index's table of contents, by import
# path. Indexes written before search.py was split into modules name these classes
# ``knowledge_base.search._TermsField`` and ``knowledge_base.search._Codec``: keep those names
# (``search.py`` re-exports them) so that existing indexes open without a rebuild and the
# files written stay the same.
TermsField.__module__ = Codec.__module__ = "knowledge_base.search"
TermsField.__qualname__ = TermsField.__name__ = "_TermsField"
Codec.__qualname__ = Codec.__name__ = "_Codec"

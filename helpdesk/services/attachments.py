"""Attachment storage: bytes in the instance folder, addressed by their SHA-256.

Identical files are stored once. A file is written before the transaction that references it
commits; if that transaction rolls back, the file stays as an unreferenced blob, which is
harmless and can be collected later, whereas the opposite order could lose data.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..models import Attachment, Message
from .errors import Invalid, NotFound
from .permissions import Actor
from .transaction import current_session

_SAFE_NAME = 255
# In a ``written_together`` block: the writes handed to the writer threads so far.
_WRITING: contextvars.ContextVar[list[Future[None]] | None] = contextvars.ContextVar(
    "dangol_blob_writes", default=None
)
_WRITERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="blob-writer")


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None


def storage_root() -> Path:
    return Path(current_app.config["HELPDESK"].instance_path) / "attachments"


def blob_path(sha256: str) -> Path:
    return storage_root() / sha256[:2] / sha256[2:4] / sha256


@contextmanager
def written_together() -> Iterator[None]:
    """Write the blobs of the block on writer threads, and wait for them when it ends.

    For a batch (a fetched batch of emails), whose database work goes on meanwhile: creating,
    writing and syncing files is mostly waiting for the disk, which releases the GIL. Each
    file is still synced before the block ends, so before the transaction that references it
    commits (the block must end before the commit). A failed write raises at the end.
    """
    writes: list[Future[None]] = []
    token = _WRITING.set(writes)
    try:
        yield
    finally:
        _WRITING.reset(token)
        for write in writes:
            write.result()


def store_blob(data: bytes, *, max_bytes: int | None = None) -> str:
    """Write ``data`` (once) and return its SHA-256 hex digest.

    ``max_bytes`` (default: the attachment limit) lets raw email sources, which may be larger
    than any one attachment, be kept too.
    """
    limit = (
        max_bytes if max_bytes is not None else current_app.config["HELPDESK"].attachment_max_bytes
    )
    if len(data) > limit:
        raise Invalid(
            _l(
                "The attachment is %(size)s bytes; the limit is %(limit)s bytes.",
                size=len(data),
                limit=limit,
            ),
            fields={"attachments": ["too large"]},
        )
    digest = hashlib.sha256(data).hexdigest()
    target = blob_path(digest)
    if target.exists():
        return digest
    writes = _WRITING.get()
    if writes is None:
        _write(target, data)
    else:
        writes.append(_WRITERS.submit(_write, target, data))
    return digest


def _write(target: Path, data: bytes) -> None:
    """Write the file under a temporary name, sync it, then give it its name: a blob file is
    complete or absent, never partial."""
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    except FileNotFoundError:  # the first blob of its directory
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clean_filename(name: str) -> str:
    """Keep the customer's file name readable (Hangul included) but path-free."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    return (base or "attachment")[:_SAFE_NAME]


def get_attachment(actor: Actor, attachment_id: int) -> Attachment:
    """An attachment the actor may download: staff who read tickets, or the ticket's customer
    for attachments of public messages. Anything else is reported as not found."""
    from .tickets import get_ticket

    session = current_session()
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(_l("Attachment %(id)s not found.", id=attachment_id))
    message = session.get(Message, attachment.message_id)
    assert message is not None
    if actor.kind == "customer" and not message.is_public:
        raise NotFound(_l("Attachment %(id)s not found.", id=attachment_id))
    get_ticket(actor, message.ticket_id)  # raises NotFound / Forbidden
    return attachment

"""Files sent with a page's form (the staff composer, the portal's reply and contact forms)."""

from __future__ import annotations

from flask import request

from .services.attachments import UploadedFile


def uploaded_files(field: str = "attachments") -> list[UploadedFile]:
    """The files of a ``multipart/form-data`` field, in the order chosen; an empty file input
    (the browser sends one part with no filename) gives none. Size limits are the service's:
    a file over the attachment limit is refused there with a message the page can show, and a
    request over the whole limit never gets here (HTTP 413)."""
    return [
        UploadedFile(
            filename=upload.filename,
            content_type=upload.mimetype or "application/octet-stream",
            data=upload.read(),
        )
        for upload in request.files.getlist(field)
        if upload.filename
    ]

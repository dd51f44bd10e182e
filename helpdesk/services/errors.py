"""Domain errors. Views and the API map them to pages and JSON errors in one place."""

from __future__ import annotations

from flask_babel import LazyString


class ServiceError(Exception):
    """Base of every error a service raises on purpose; ``message`` is safe to show users.

    Services pass a lazy string (``lazy_gettext``), so ``message`` is rendered when it is read,
    in the language of the request that reads it (the instance default outside requests).
    """

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str | LazyString, *, fields: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self._message = message
        self.fields = fields

    @property
    def message(self) -> str:
        return str(self._message)

    def __str__(self) -> str:
        return self.message


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class RepliedMeanwhile(Conflict):
    """Someone wrote to the customer (or the customer wrote) after the author last looked."""

    code = "replied_meanwhile"

    def __init__(self, message: str | LazyString, *, message_ids: list[int]) -> None:
        super().__init__(message, fields={"seen_message_id": ["newer messages exist"]})
        self.message_ids = message_ids


class Invalid(ServiceError):
    status = 422
    code = "invalid"

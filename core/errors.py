"""Domain errors. They say what went wrong in the domain's words; `api/middleware/errors.py`
is the only place that turns them into HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service may raise on purpose.

    `code` is stable and machine-readable; `title` is the short `error` field of the envelope.
    """

    code = "domain_error"
    title = "Error"

    def __init__(
        self,
        message: str,
        *,
        title: str | None = None,
        details: Any = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title
        self.details = details
        # The refusal is the answer, but what was written before it stands (a reused refresh
        # token revokes every copy; an expired job stays paused): the request commits.
        self.keep_changes = keep_changes


class InvalidInput(DomainError):
    """A rule that needs stored state rejected the input (unknown team, expired job, ...)."""

    code = "invalid_input"
    title = "Bad request"


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule needing the clock, settings or the network
    (an end date already past in the job's time zone, a target resolving to a private address).

    Answered like request validation (422): `details` lists `{"field", "message", "type"}`,
    `field` in the same dotted form (`body.end_date`).
    """

    code = "validation_failed"
    title = "Validation error"

    def __init__(
        self, message: str, *, field: str, type_: str = "value_error", title: str | None = None
    ) -> None:
        super().__init__(
            message, title=title, details=[{"field": field, "message": message, "type": type_}]
        )
        self.field = field


class Unauthorized(DomainError):
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Forbidden"


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    title = "Payload too large"


class TooManyRequests(DomainError):
    code = "too_many_requests"
    title = "Too many requests"

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: int,
        title: str | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(message, title=title, keep_changes=keep_changes)
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailable(DomainError):
    """Something the service needs is away or too slow; the same request may work shortly."""

    code = "service_unavailable"
    title = "Service unavailable"

    def __init__(
        self, message: str, *, retry_after_seconds: int = 5, title: str | None = None
    ) -> None:
        super().__init__(message, title=title)
        self.retry_after_seconds = retry_after_seconds


class DatabaseUnavailable(ServiceUnavailable):
    """The database refused or dropped the connection, or did not answer in time."""

    code = "database_unavailable"

"""Application errors with stable codes. The API exception handler turns them into the error shape."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Base class: ``code`` is stable and documented, ``status`` is the HTTP status the API answers."""

    code = "application_error"
    status = 400
    default_message = "The request could not be processed."
    headers: dict[str, str] = {}  # sent with the error answer (e.g. Retry-After)

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class InvalidInput(ApplicationError):
    code = "invalid_input"
    status = 400
    default_message = "The request is not valid."


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    default_message = "The resource changed; the request conflicts with its current state."


class PermissionDeniedError(ApplicationError):
    code = "permission_denied"
    status = 403
    default_message = "You do not have permission to perform this action."


class ServiceUnavailable(ApplicationError):
    code = "service_unavailable"
    status = 503
    default_message = "A required service is unavailable; nothing was changed."


class LedgerUnavailable(ServiceUnavailable):
    """``POST /decide`` while the database holding the ledger cannot be reached (RELIABILITY T14)."""

    code = "ledger_unavailable"
    default_message = (
        "The ledger database is unavailable, so no decision was made. Retry later; a retry with the "
        "same Idempotency-Key returns the decision if it was recorded after all."
    )
    headers = {"Retry-After": "5"}


class RateLimited(ApplicationError):
    """A rate limit refused the request (ADR 0025); nothing was done. ``Retry-After`` says when
    the budget's window ends."""

    code = "rate_limited"
    status = 429
    default_message = "Too many requests; retry later."

    def __init__(self, *, budget: str, limit: int, retry_after: int) -> None:
        super().__init__(
            f"Too many requests: the {budget} budget is used up (at most {limit} per window); "
            f"retry after {retry_after} s. Nothing was done.",
            details={"budget": budget, "limit": limit, "retry_after": retry_after},
        )
        self.headers = {"Retry-After": str(retry_after)}


class RateLimitUnavailable(ServiceUnavailable):
    """The rate-limit store is unreachable and this route's budget fails closed (ADR 0025)."""

    code = "rate_limit_unavailable"
    default_message = (
        "Requests to this route cannot be counted right now, so none is accepted; nothing was "
        "done. Retry later."
    )
    headers = {"Retry-After": "5"}

"""Domain exceptions that services raise and views/API translate.

Views turn them into form messages or pages, the API into problem+json.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `message` is safe to show to the user."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str = "", *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.field_errors = field_errors or {}


class ValidationFailed(DomainError):
    status = 422
    title = "Some fields need attention"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class PermissionDenied(DomainError):
    status = 403
    title = "You do not have permission to do that"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class LimitReached(DomainError):
    """A plan limit (seats, quotas) stops the action; the message says how to upgrade."""

    status = 402
    title = "Plan limit reached"


class InvalidToken(DomainError):
    status = 400
    title = "This link is invalid or has expired"


class AuthenticationFailed(DomainError):
    status = 401
    title = "Authentication failed"

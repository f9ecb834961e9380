"""Typed domain errors: a stable code and a message a user can read.

Interfaces turn a DomainError into a 4xx response (or a form error) carrying its message,
never a 500.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule of the domain refused the operation. `code` is stable; `message` is for people."""

    code = "domain_error"
    status = 400
    default_message = _("The operation is not allowed.")

    def __init__(self, message=None, *, code: str | None = None, field: str | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        self.field = field
        super().__init__(str(self.message))


class NotAllowed(DomainError):
    code = "not_allowed"
    status = 403
    default_message = _("You are not allowed to do this.")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class InvalidState(DomainError):
    """An illegal state change: the object is not in a state that allows the operation."""

    code = "invalid_state"
    status = 409
    default_message = _("This operation is not possible in the current state.")


class InvalidToken(DomainError):
    code = "invalid_token"
    default_message = _("This link is invalid or has expired.")

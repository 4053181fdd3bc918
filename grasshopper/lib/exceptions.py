"""Errors raised by services. Each carries a stable snake_case ``code``; one API handler renders them,
HTML views show their message."""


class ApplicationError(Exception):
    """A business rule said no. Subclasses set ``code``, ``status`` (the HTTP status the API answers) and
    a human ``default_message``."""

    code = "application_error"
    status = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, extra: dict[str, object] | None = None) -> None:
        self.message = message or self.default_message
        self.extra = extra or {}
        super().__init__(self.message)


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403
    default_message = "You do not have permission to do this."


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."

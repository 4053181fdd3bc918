"""One error shape for every API 4xx/5xx: RFC 9457 problem details, ``application/problem+json``.

::

    {
      "type": "about:blank",             # or the problem_type URI an ApplicationError subclass declares
      "title": "Conflict",               # the HTTP status phrase
      "status": 409,
      "detail": "Sold out.",             # human, safe to show
      "code": "sold_out",                # stable snake_case, what clients switch on
      "errors": [{"code": "sold_out", "detail": "Sold out.", "attr": null}],
      "instance": "/api/v1/orders/"      # the request path (never the query string)
    }

Built on drf-standardized-errors, wired in the settings (``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` is its
``exception_handler``, which instantiates the classes named in ``DRF_STANDARDIZED_ERRORS``):

- ``ProblemExceptionHandler`` turns our ``ApplicationError`` subclasses (their ``code``/``status``/
  ``message``), Django's ``Http404``/``PermissionDenied`` and Django's ``ValidationError`` into DRF
  exceptions; logs throttled requests on the ``security`` logger; answers in JSON whatever renderer the
  view had. Unhandled exceptions become a 500 ``server_error`` with a generic detail: the library still
  sends ``got_request_exception`` (Sentry's Django integration listens to it) and logs the traceback on
  ``django.request``, so nothing is swallowed.
- ``ProblemFormatter`` builds the body. Validation errors have code ``validation_error`` and one
  ``errors`` item per message, ``attr`` being the field path (``lines.0.quantity``); every other error
  has one item mirroring ``code``/``detail``, so clients can always read ``errors``.

``ApplicationError.extra`` is public: its keys become extension members of the problem (RFC 9457 §3.2),
except the standard ones above, which it cannot override.
"""

from __future__ import annotations

from dataclasses import asdict
from http import HTTPStatus
from typing import Any

import structlog
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.types import Error
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.status import is_server_error

from grasshopper.lib.exceptions import ApplicationError

PROBLEM_CONTENT_TYPE = "application/problem+json"
ABOUT_BLANK = "about:blank"
VALIDATION_ERROR = "validation_error"
SERVER_ERROR = "server_error"
# What a 500 says: nothing about the cause (the traceback goes to the logs and Sentry only).
SERVER_ERROR_DETAIL = "A server error occurred."
_STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "code", "errors", "instance"})

security_log = structlog.get_logger("security")


class ApplicationProblem(exceptions.APIException):
    """The DRF face of an ``ApplicationError``: its status, its code, its message."""

    def __init__(self, error: ApplicationError) -> None:
        super().__init__(detail=error.message, code=error.code)
        self.status_code = error.status


class ProblemFormatter(ExceptionFormatter):
    """Formats an ``APIException`` as an RFC 9457 problem (see the module docstring)."""

    def run(self) -> dict[str, Any]:
        errors = self.get_errors()
        status = self.exc.status_code
        code = self.get_code(errors)
        if is_server_error(status) and not isinstance(self.original_exc, ApplicationError):
            # Whatever the exception said stays in the logs.
            errors = [Error(code=code, detail=SERVER_ERROR_DETAIL, attr=None)]
        elif code != VALIDATION_ERROR:
            errors = [
                Error(code=code, detail=errors[0].detail if errors else self._phrase(status), attr=None)
            ]
        problem: dict[str, Any] = {
            "type": getattr(self.original_exc, "problem_type", None) or ABOUT_BLANK,
            "title": self._phrase(status),
            "status": status,
            "detail": self.get_detail(code, errors),
            "code": code,
            "errors": [asdict(error) for error in errors],
        }
        request = self.context.get("request") if self.context else None
        if request is not None:
            problem["instance"] = request.path
        if isinstance(self.original_exc, ApplicationError):
            for key, value in self.original_exc.extra.items():
                if key not in _STANDARD_MEMBERS:
                    problem[key] = value
        return problem

    def get_code(self, errors: list[Error]) -> str:
        if isinstance(self.original_exc, ApplicationError):
            return self.original_exc.code
        if isinstance(self.exc, exceptions.ValidationError):
            return VALIDATION_ERROR
        if is_server_error(self.exc.status_code):
            return SERVER_ERROR
        # DRF's own codes: not_authenticated, permission_denied, not_found, throttled, parse_error...
        codes = {error.code for error in errors}
        if len(codes) == 1 and (only := codes.pop()) and only != exceptions.APIException.default_code:
            return str(only)
        return "client_error"

    def get_detail(self, code: str, errors: list[Error]) -> str:
        if code == VALIDATION_ERROR and not (len(errors) == 1 and errors[0].attr is None):
            return "The request contains invalid data; see errors."
        return errors[0].detail if errors else self._phrase(self.exc.status_code)

    @staticmethod
    def _phrase(status: int) -> str:
        try:
            return HTTPStatus(status).phrase
        except ValueError:
            return "Error"


class ProblemExceptionHandler(ExceptionHandler):
    """Maps our and Django's exceptions onto DRF's, then lets drf-standardized-errors do the rest."""

    def run(self) -> Response | None:
        if isinstance(self.exc, exceptions.Throttled):
            self.log_throttled(self.exc)
        return super().run()

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, ApplicationError):
            return ApplicationProblem(exc)
        if isinstance(exc, DjangoValidationError):
            return exceptions.ValidationError(detail=as_serializer_error(exc))
        # Http404 and django.core.exceptions.PermissionDenied: the library converts them.
        return super().convert_known_exceptions(exc)

    def get_response(self, exc: exceptions.APIException, data: dict) -> Response:
        # Errors are JSON even on views that render HTML or YAML (the docs, the schema): force the JSON
        # renderer, which DRF's finalize_response takes from the request.
        request = self.context.get("request")
        if request is not None:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = PROBLEM_CONTENT_TYPE
        # get_headers (the library's) keeps WWW-Authenticate and Retry-After.
        return Response(
            data, status=exc.status_code, headers=self.get_headers(exc), content_type=PROBLEM_CONTENT_TYPE
        )

    def log_throttled(self, exc: exceptions.Throttled) -> None:
        request = self.context.get("request")
        view = self.context.get("view")
        security_log.warning(
            "api_throttled",
            path=getattr(request, "path", None),
            method=getattr(request, "method", None),
            view=type(view).__name__ if view is not None else None,
            retry_after=getattr(exc, "wait", None),
        )

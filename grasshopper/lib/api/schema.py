"""OpenAPI: document the error responses in the shape ``grasshopper.lib.api.errors`` really sends.

drf-standardized-errors' AutoSchema decides which error statuses each operation can answer (400 only
with a body or filters, 401 only with authenticators, 429 only with throttles...); its default bodies are
its own ``{"type": "validation_error", "errors": [...]}`` shape, so this subclass swaps in one ``Problem``
component served as ``application/problem+json``, with examples produced by our formatter.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from drf_spectacular.utils import OpenApiExample
from drf_standardized_errors.openapi import AutoSchema
from rest_framework import exceptions, serializers
from rest_framework.exceptions import ErrorDetail

from grasshopper.lib.api.errors import PROBLEM_CONTENT_TYPE, ProblemFormatter


class ProblemErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable snake_case code of this error.")
    detail = serializers.CharField(help_text="Human-readable message.")
    attr = serializers.CharField(
        allow_null=True, help_text="Field path for validation errors (`lines.0.quantity`), else null."
    )

    class Meta:
        ref_name = "ProblemError"


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; `code` is what clients switch on."""

    type = serializers.CharField(help_text="`about:blank` or a URI identifying the problem type.")
    title = serializers.CharField(help_text="The HTTP status phrase.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="Human-readable explanation of this occurrence.")
    code = serializers.CharField(
        help_text="Stable snake_case code: `validation_error`, `not_authenticated`, `permission_denied`, "
        "`not_found`, `method_not_allowed`, `throttled`, `server_error`, or a business code."
    )
    # A declared field named like Serializer.errors: DRF's metaclass moves it into _declared_fields.
    errors = ProblemErrorSerializer(  # type: ignore[assignment]
        many=True, help_text="One item per validation message, else one item."
    )
    instance = serializers.CharField(help_text="The request path.")

    class Meta:
        ref_name = "Problem"


EXAMPLE_INSTANCE = "/api/v1/..."


def _examples() -> list[OpenApiExample]:
    samples: list[exceptions.APIException] = [
        exceptions.ValidationError(
            {
                "lines": [
                    {
                        "quantity": [
                            ErrorDetail("Ensure this value is less than or equal to 10.", code="max_value")
                        ]
                    }
                ]
            }
        ),
        exceptions.ParseError(),
        exceptions.NotAuthenticated(),
        exceptions.PermissionDenied(),
        exceptions.NotFound(),
        exceptions.MethodNotAllowed("DELETE"),
        exceptions.NotAcceptable(),
        exceptions.UnsupportedMediaType("text/plain"),
        exceptions.Throttled(wait=30),
        exceptions.APIException(),
    ]
    examples = []
    for exc in samples:
        value = ProblemFormatter(exc, {"view": None, "args": (), "kwargs": {}, "request": None}, exc).run()  # type: ignore[typeddict-item]
        value["instance"] = EXAMPLE_INSTANCE
        examples.append(
            OpenApiExample(
                f"{exc.status_code} {value['code']}",
                value=value,
                response_only=True,
                status_codes=[str(exc.status_code)],
                media_type=PROBLEM_CONTENT_TYPE,
            )
        )
    return examples


class ProblemAutoSchema(AutoSchema):
    def _get_error_response_serializer(self, status_code: str) -> Any:
        return ProblemSerializer

    def _get_response_for_code(
        self, serializer: Any, status_code: Any, media_types: Any = None, direction: str = "response"
    ) -> Any:
        if media_types is None and str(status_code).isdigit() and int(status_code) >= 400:
            media_types = [PROBLEM_CONTENT_TYPE]
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        if media_types == [PROBLEM_CONTENT_TYPE] and not response.get("description"):
            response["description"] = HTTPStatus(int(status_code)).phrase
        return response

    def _get_error_response_examples(self) -> list[OpenApiExample]:
        allowed = set(self._get_allowed_error_status_codes())
        return [example for example in _examples() if allowed.intersection(example.status_codes or [])]

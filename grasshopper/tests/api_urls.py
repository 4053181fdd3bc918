"""Test-only URLconf for the API error shape: API views failing in each way the handler must answer,
mounted under /api/v1/__test__/ before the real site (whose /api/ catch-all would shadow them).

Used with ``@pytest.mark.urls("grasshopper.tests.api_urls")``.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from grasshopper import urls as site_urls
from grasshopper.lib.exceptions import ApplicationError, Conflict


class SoldOut(Conflict):
    code = "sold_out"
    default_message = "These tickets are sold out."


class HoldTooLong(ApplicationError):
    code = "hold_too_long"
    status = 422
    default_message = "A hold cannot be extended past 30 minutes."


class LineSerializer(serializers.Serializer):
    ticket_type = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1, max_value=10)


class OrderSerializer(serializers.Serializer):
    email = serializers.EmailField()
    lines = LineSerializer(many=True)


class _Open(APIView):
    permission_classes = [AllowAny]


class ValidateApi(_Open):
    def post(self, request: Request) -> Response:
        serializer = OrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


class DjangoValidationApi(_Open):
    def post(self, request: Request) -> Response:
        raise DjangoValidationError({"quantity": ["Too many."]})


class ConflictApi(_Open):
    def post(self, request: Request) -> Response:
        raise SoldOut(extra={"available": 0, "code": "must_not_override"})


class UnprocessableApi(_Open):
    def post(self, request: Request) -> Response:
        raise HoldTooLong()


class NotAuthenticatedApi(APIView):
    """An authenticator without a challenge (session cookies): DRF answers 403 to anonymous requests."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({})


class ChallengeApi(APIView):
    """An authenticator with a challenge (WWW-Authenticate): DRF answers 401."""

    authentication_classes = [BasicAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        raise NotAuthenticated


class DjangoPermissionDeniedApi(_Open):
    def get(self, request: Request) -> Response:
        raise DjangoPermissionDenied


class DjangoHttp404Api(_Open):
    def get(self, request: Request) -> Response:
        raise Http404("No Event matches the given query (internal detail).")


class GetOnlyApi(_Open):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class OncePerMinute(AnonRateThrottle):
    rate = "1/min"


class ThrottledApi(_Open):
    throttle_classes = [OncePerMinute]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class BrokenApi(_Open):
    def get(self, request: Request) -> Response:
        raise RuntimeError("secret: db password is hunter2")


def _api(route: str, view: Any) -> Any:
    return path(f"api/v1/__test__/{route}/", view.as_view())


urlpatterns = [
    _api("validate", ValidateApi),
    _api("django-validation", DjangoValidationApi),
    _api("conflict", ConflictApi),
    _api("unprocessable", UnprocessableApi),
    _api("not-authenticated", NotAuthenticatedApi),
    _api("challenge", ChallengeApi),
    _api("django-permission-denied", DjangoPermissionDeniedApi),
    _api("django-404", DjangoHttp404Api),
    _api("get-only", GetOnlyApi),
    _api("throttled", ThrottledApi),
    _api("broken", BrokenApi),
    *site_urls.urlpatterns,
]

handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500

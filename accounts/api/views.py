"""The accounts API for mobile clients.

Authentication: allauth headless session tokens, not DRF tokens. The app signs up, verifies its address,
signs in and resets its password through allauth's headless API (``/_allauth/app/v1/...``), which answers
with a session token; it then sends ``X-Session-Token: <token>`` on every ``/api/v1/`` call. We chose that
over DRF's ``TokenAuthentication`` because the token is a Django session: the same flows, rate limits,
mandatory email verification and logging as the web pages, no second credential store, one token per
device, revoked by signing out (``DELETE /_allauth/app/v1/auth/session``) or by a password change, and
no never-expiring static key sitting in a table.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.authentication import SessionTokenAuthentication
from accounts.api.serializers import UserMeOutputSerializer


class UserMeApi(APIView):
    """The signed-in user (401 without a valid session token)."""

    # The browser's session cookie works too (the site's own pages calling the API).
    authentication_classes = [SessionTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_retrieve",
        summary="The signed-in user",
        description="Who the session token belongs to: id, email address, full name, when they joined.",
        tags=["accounts"],
        responses={200: UserMeOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        # request.user is the row the authentication just loaded: nothing left to read.
        return Response(UserMeOutputSerializer(request.user).data)

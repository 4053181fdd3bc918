"""API authentication: allauth headless session tokens, strictly."""

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """``X-Session-Token`` from allauth headless; an unknown or expired token is a 401, not "anonymous".

    allauth's class treats a bad token as no token (DRF then answers 403 to anonymous requests), so an app
    cannot tell "signed out" from "forbidden". Here a bad token answers 401 and every 401 names the scheme
    (``WWW-Authenticate: X-Session-Token``): the app's cue to sign in again.
    """

    allow_invalid_session_tokens = False


class SessionTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of :class:`SessionTokenAuthentication` (drf-spectacular)."""

    target_class = "accounts.api.authentication.SessionTokenAuthentication"
    name = "SessionToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": "Session token from allauth headless: POST /_allauth/app/v1/auth/login.",
        }

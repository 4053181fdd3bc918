"""The referral link's memory: a signed cookie holding the referrer's code from the visit to ``/r/<code>/``
until the visitor signs up (at most ``REFERRAL_LINK_DAYS``), in the same browser. Signed (Django's
``set_signed_cookie``), so a visitor cannot forge or alter it; a forged one is ignored and logged on the
``security`` logger. Once the sign-up has used it, ``referral_cookie_middleware`` deletes it.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

COOKIE = "gh_referral"
SALT = "loyalty.referral"
# Set on the request by the sign-up receiver once the cookie was used: the response deletes it.
SPENT_ATTR = "referral_cookie_spent"

log = structlog.get_logger(__name__)
security_log = structlog.get_logger("security")


def _max_age() -> int:
    return settings.REFERRAL_LINK_DAYS * 24 * 3600


def referral_cookie_set(response: HttpResponse, *, code: str) -> None:
    response.set_signed_cookie(
        COOKIE,
        code,
        salt=SALT,
        max_age=_max_age(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def referral_cookie_read(request: HttpRequest) -> str | None:
    """The code this browser was referred with, if its cookie is present, genuine and not expired."""
    if COOKIE not in request.COOKIES:
        return None
    try:
        return request.get_signed_cookie(COOKIE, salt=SALT, max_age=_max_age())
    except signing.SignatureExpired:
        log.info("referral_cookie_expired")
    except signing.BadSignature:
        security_log.warning("referral_cookie_invalid", path=request.path)
    return None


def referral_cookie_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[..., HttpResponse]:
    """Deletes the referral cookie from the response of the request whose sign-up used it."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if getattr(request, SPENT_ATTR, False):
            response.delete_cookie(COOKIE, samesite="Lax")
        return response

    return middleware

"""HTTP 429 for the sign-in and sign-up flows, and the one notion of "the client's IP" they count by.

django-allauth counts every limit of ``settings.ACCOUNT_RATE_LIMITS`` in the shared cache. Most of them
already answer 429 (allauth renders ``templates/429.html``, or JSON for headless clients), but two do
not on their own:

- ``login_failed`` (failed sign-ins per IP and per address): allauth only adds a form error and answers
  200, so a password guesser keeps getting form pages; ``AccountAdapter.pre_authenticate`` calls
  :func:`refuse` instead.
- ``signup_email`` (sign-ups per address) is ours: allauth limits sign-ups per IP only.

:func:`refuse` logs the hit on the ``security`` logger and answers 429: pages through django-ratelimit's
``Ratelimited`` (``RatelimitMiddleware`` renders ``settings.RATELIMIT_VIEW``, our 429 page with
``Retry-After``), headless clients through allauth's JSON 429.
"""

from typing import NoReturn

import structlog
from allauth.core import ratelimit
from allauth.core.exceptions import ImmediateHttpResponse
from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django_ratelimit.exceptions import Ratelimited

security_log = structlog.get_logger("security")


def client_ip(request: HttpRequest) -> str:
    """The client's IP as django-ratelimit sees it (``settings.RATELIMIT_IP_META_KEY``).

    Behind a proxy ``REMOTE_ADDR`` is the proxy: allauth, left to itself, would count every visitor as one
    client and lock everyone out after five wrong passwords. One setting decides for both limiters.
    """
    meta_key = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    if callable(meta_key):
        return str(meta_key(request))
    if "." in meta_key:
        return str(import_string(meta_key)(request))
    return str(request.META.get(meta_key, "")).strip()


def is_headless(request: HttpRequest) -> bool:
    """True inside allauth's headless API (``/_allauth/...``), which answers JSON, not pages."""
    return hasattr(getattr(request, "allauth", None), "headless")


def refuse(request: HttpRequest, *, limit: str, email: str | None = None) -> NoReturn:
    """Log a rate-limit hit on the ``security`` logger and answer 429 (never the password)."""
    security_log.warning(
        "rate_limit_hit",
        limit=limit,
        email=email,
        ip=client_ip(request),
        path=request.path,
        method=request.method,
    )
    if is_headless(request):
        raise ImmediateHttpResponse(ratelimit.respond_429(request))
    raise Ratelimited(limit)


def enforce_signup_email_limit(request: HttpRequest, *, email: str) -> None:
    """Count one sign-up attempt for ``email`` (``signup_email``); refuse with 429 over the limit."""
    if not ratelimit.consume(request, action="signup_email", key=email.lower()):
        refuse(request, limit="signup_email", email=email)

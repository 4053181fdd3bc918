"""The Content-Security-Policy of the admin: the site's strict policy, plus what django-unfold needs.

unfold 0.91 drives its pages with the standard Alpine.js build, which compiles every ``x-data``/``x-bind``
expression with ``new Function`` (CSP ``'unsafe-eval'``), and it writes a ``<style>`` element (theme
colours) and ``style`` attributes (``x-bind:style``) that a nonce cannot cover. So admin pages, and only
admin pages, get ``settings.ADMIN_CONTENT_SECURITY_POLICY_UPDATE`` merged into the policy (django-csp 4's
per-response ``_csp_update``). Every other page keeps ``CONTENT_SECURITY_POLICY`` as it is.

"Admin page" means a response to a URL that resolved inside an admin site's URLconf (``app_name`` "admin"),
so the rule follows the admin wherever it is mounted. Place the middleware right after
``grasshopper.lib.api_csp.CSPMiddleware`` (django-csp's): it must see the response before the header is
written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

GetResponse = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


def is_admin_request(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and "admin" in match.app_names


def _relax_for_admin(request: HttpRequest, response: HttpResponseBase) -> None:
    if not is_admin_request(request):
        return
    update: dict[str, list[str]] = {
        directive: list(sources)
        for directive, sources in getattr(settings, "ADMIN_CONTENT_SECURITY_POLICY_UPDATE", {}).items()
    }
    # A view's own @csp_update keeps its sources too.
    for directive, sources in (getattr(response, "_csp_update", None) or {}).items():
        update.setdefault(directive, []).extend(s for s in sources if s not in update[directive])
    response._csp_update = update  # type: ignore[attr-defined]


@sync_and_async_middleware
def admin_csp_middleware(get_response: GetResponse) -> GetResponse:
    """Merge ``ADMIN_CONTENT_SECURITY_POLICY_UPDATE`` into the CSP of admin responses only."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            response = await get_response(request)  # type: ignore[misc]
            _relax_for_admin(request, response)
            return response

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        _relax_for_admin(request, response)  # type: ignore[arg-type]
        return response  # type: ignore[return-value]

    return middleware

"""django-csp's middleware, with one fixed policy for the JSON API.

A response of ``/api/v1/`` is data, never a page a browser renders: it gets ``default-src 'none';
frame-ancestors 'none'`` (OWASP's REST Security advice: nothing may load, nothing may frame it) instead of
the site's page policy. django-csp builds the policy twice for every response (the policy and the
report-only one), ~350,000 CPU instructions, 3.8 % of a whole order in an on-sale rush
(``bench/flashsale.py --instructions``); the API's header is a constant. Pages, the API's documentation
(``/api/docs/``, ``/api/redoc/``) and its schema keep django-csp as configured.
"""

from __future__ import annotations

from csp.constants import HEADER
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(tuple(settings.API_CONTENT_SECURITY_POLICY_PREFIXES))


class CSPMiddleware(DjangoCSPMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if not _is_api(request):
            super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not _is_api(request):
            return super().process_response(request, response)
        if HEADER not in response:
            response[HEADER] = API_CONTENT_SECURITY_POLICY
        return response

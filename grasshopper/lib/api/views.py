"""API plumbing views: the JSON 404 for unknown API URLs and the offline, CSP-compatible API docs."""

from __future__ import annotations

from typing import Any

from csp.constants import NONCE, SELF
from csp.decorators import csp_update
from django.urls import Resolver404, resolve
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView


@extend_schema(exclude=True)
class ApiNotFoundView(APIView):
    """Mounted last under ``/api/``: any URL no API route matched is a JSON problem 404, any method.

    A catch-all route rather than a ``handler404``: handler404 belongs to the HTML site (one per URLconf),
    and a DRF view gets the same exception handler, renderer and throttles as every other endpoint.
    Its price: CommonMiddleware never redirects ``/api/...`` to the slashed URL (the path resolves), so
    the detail names the slashed URL when that one exists; redirects are wrong for API clients anyway
    (a POST would lose its body).
    """

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @property
    def default_response_headers(self) -> dict[str, str]:
        # No "Allow: OPTIONS": nothing is allowed here.
        headers = super().default_response_headers
        headers.pop("Allow", None)
        return headers

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise NotFound(self._detail(request.path_info))

    @staticmethod
    def _detail(path: str) -> str:
        if not path.endswith("/"):
            try:
                match = resolve(f"{path}/")
            except Resolver404:
                pass
            else:
                if getattr(match.func, "cls", None) is not ApiNotFoundView:
                    return f"Not found. Did you mean {path}/ (with a trailing slash)?"
        return "No API endpoint at this URL."


# The docs pages run on the site's strict CSP (script-src 'self' + nonce, style-src 'self'); only what the
# two UIs need is added, on these two views only:
# - Swagger UI: its own template (grasshopper_lib/api/swagger_ui.html) drops drf-spectacular's inline
#   <style> for a static file, and the split view serves the init script from a URL (no inline script).
#   React sets styles through the CSSOM, which CSP allows, so the page needs no relaxation at all.
# - Redoc: styled-components injects <style> elements at run time. Redoc stamps them with the nonce it is
#   given, so style-src gets this request's nonce (not 'unsafe-inline'), and Redoc is started by a script
#   carrying the same nonce (grasshopper_lib/api/redoc.html); its Google Fonts link is dropped. Two
#   <style> elements are injected while the bundle loads, before Redoc knows the nonce: they are allowed
#   by hash (exact content only). Search runs in a Web Worker built from a blob: URL, hence worker-src.
#   Redoc's sidebar shows Redocly's logo from cdn.redoc.ly: left blocked (img-src), the link text stays.
#   test_docs_render_in_a_browser_without_csp_violations fails if a sidecar upgrade changes any of this.
REDOC_BOOT_STYLE_HASHES = [
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar's CSS (redoc 2.x sidecar)
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # an empty <style> (styled-components)
]


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI at ``/api/docs/``, assets from drf-spectacular-sidecar (``/static/``), no CDN."""

    template_name = "grasshopper_lib/api/swagger_ui.html"


@method_decorator(
    csp_update({"style-src": [NONCE, *REDOC_BOOT_STYLE_HASHES], "worker-src": [SELF, "blob:"]}),
    name="dispatch",
)
class ApiRedocView(SpectacularRedocView):
    """Redoc at ``/api/redoc/``, assets from drf-spectacular-sidecar (``/static/``), no CDN."""

    template_name = "grasshopper_lib/api/redoc.html"

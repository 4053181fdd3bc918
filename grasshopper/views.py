"""Site-wide views of the composition root: error pages and the rate-limit answer."""

import structlog
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

security_log = structlog.get_logger("security")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without a RequestContext-dependent template tag that could fail again.
    return render(request, "errors/500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    security_log.warning("csrf_failure", reason=reason, path=request.path)
    return render(request, "errors/403.html", {"csrf_failure": True}, status=403)


def ratelimited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    security_log.warning("rate_limited", path=request.path, method=request.method)
    response = render(request, "errors/429.html", status=429)
    response["Retry-After"] = "60"
    return response

"""Site-wide views of the composition root: error pages and the rate-limit answer."""

import structlog
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, HttpResponseServerError
from django.shortcuts import render
from django.templatetags.static import static

log = structlog.get_logger(__name__)
security_log = structlog.get_logger("security")

# What a visitor gets if even templates/errors/500.html cannot be rendered (a template or static-files
# mistake in a deployment): no template engine, no static files, no database.
_BARE_SERVER_ERROR_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Server error · Grasshopper</title></head><body><main>"
    "<h1>Something went wrong on our side</h1>"
    "<p>Sorry, an unexpected error stopped this page from loading. Please try again in a few minutes.</p>"
    '<p><a href="/">Go to the home page</a></p></main></body></html>'
)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # 500.html leaves out everything that needs the database, session or cache (see the template).
    try:
        return render(request, "errors/500.html", status=500)
    except Exception:
        # The original error is already logged by Django; this one is logged too, never hidden.
        log.exception("server_error_page_failed", path=request.path)
        return HttpResponseServerError(_BARE_SERVER_ERROR_PAGE)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    security_log.warning("csrf_failure", reason=reason, path=request.path)
    return render(request, "errors/403.html", {"csrf_failure": True}, status=403)


def ratelimited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    security_log.warning("rate_limited", path=request.path, method=request.method)
    response = render(request, "errors/429.html", status=429)
    response["Retry-After"] = "60"
    return response


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (the admin): send them to ours.

    Resolved per request, not at import: the hashed name exists only after ``collectstatic``.
    """
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))

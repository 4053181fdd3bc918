"""Test-only URLconf: the real site plus views that fail in each way the error handlers must answer.

Used with ``@pytest.mark.urls("grasshopper.tests.urls")``. The handlers are the real ones from
grasshopper.urls, so what is tested is what production serves.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django_ratelimit.exceptions import Ratelimited

from grasshopper import urls as site_urls


def _permission_denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def _suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("test: a malformed request")


def _broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("test: an unexpected error")


def _ratelimited(request: HttpRequest) -> HttpResponse:
    raise Ratelimited


def _form_target(request: HttpRequest) -> HttpResponse:
    return HttpResponse("accepted")


def _touch_session(request: HttpRequest) -> HttpResponse:
    request.session["seen"] = True
    return HttpResponse("ok")


def _with_messages(request: HttpRequest) -> HttpResponse:
    messages.success(request, "Your tickets are on their way.")
    messages.error(request, "That card was declined.")
    return render(request, "events/home.html")


urlpatterns = [
    *site_urls.urlpatterns,
    path("__test__/permission-denied/", _permission_denied),
    path("__test__/suspicious/", _suspicious),
    path("__test__/broken/", _broken),
    path("__test__/ratelimited/", _ratelimited),
    path("__test__/form/", _form_target),
    path("__test__/session/", _touch_session),
    path("__test__/messages/", _with_messages),
]

handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500

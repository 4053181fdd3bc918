"""Request and security logs, read as the JSON lines production writes.

The ``log`` fixture points the very handler ``LOGGING`` installs on the root logger (``stdout``,
with its structlog ``ProcessorFormatter``) at a buffer for the test, so what is asserted is the rendered
line, not an intermediate event dict. This module is its own URLconf: a few views for the purpose.
"""

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.urls import path
from django_structlog import signals as django_structlog_signals

from accounts.tests.factories import VerifiedUserFactory
from accounts.tests.helpers import api_client


def ok_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def security_view(request: HttpRequest) -> HttpResponse:
    log = structlog.get_logger("security")
    log.warning("rate_limited", scope="test")
    log.info("below_the_security_level")
    return HttpResponse("slow down", status=429)


def boom_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def confirm_view(request: HttpRequest, key: str) -> HttpResponse:
    return HttpResponse("confirmed")


def server_error(request: HttpRequest) -> HttpResponse:
    return HttpResponseServerError("error")


urlpatterns = [
    path("ok/", ok_view),
    path("security/", security_view),
    path("boom/", boom_view),
    path("confirm/<str:key>/", confirm_view),
]
handler500 = server_error

pytestmark = pytest.mark.urls(__name__)


class CapturedLog:
    """What the root logger's ``stdout`` handler wrote during the test."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def raw(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        # json.loads fails the test on any line that is not one JSON object.
        return [json.loads(line) for line in self.raw().splitlines()]

    def for_request(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("request_id") == request_id]


@pytest.fixture
def log() -> Iterator[CapturedLog]:
    assert settings.LOG_FORMAT == "json", "the test settings log JSON (DEBUG off)"
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "stdout")
    assert isinstance(handler, logging.StreamHandler)
    captured = CapturedLog()
    previous = handler.setStream(captured.buffer)
    try:
        yield captured
    finally:
        if previous is not None:
            handler.setStream(previous)


@pytest.mark.django_db
def test_request_is_one_json_line_with_id_user_method_path_code_and_duration(
    client: Any, django_user_model: Any, log: CapturedLog
) -> None:
    user = django_user_model.objects.create_user(email="logged@example.com")
    client.force_login(user)

    response = client.get("/ok/?q=needle", headers={"X-Request-ID": "req-abc.123"})

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-abc.123"
    [line] = log.for_request("req-abc.123")
    assert line["event"] == "request_finished"
    assert line["logger"] == "django_structlog.middlewares.request"
    assert line["level"] == "info"
    assert line["user_id"] == user.pk
    assert line["method"] == "GET"
    assert line["path"] == "/ok/"  # never the query string
    assert line["code"] == 200
    assert isinstance(line["duration_ms"], float)
    assert 0 <= line["duration_ms"] < 10_000
    assert line["ip"] == "127.0.0.1"
    assert "timestamp" in line
    assert "request" not in line  # django-structlog's "GET /ok/?q=needle" is replaced
    assert "needle" not in log.raw()


def test_anonymous_request_gets_a_fresh_request_id_returned_in_the_header(
    client: Any, log: CapturedLog
) -> None:
    response = client.get("/ok/")

    request_id = response.headers["X-Request-ID"]
    assert uuid.UUID(request_id).version == 4
    [line] = log.for_request(request_id)
    assert line["user_id"] is None
    assert line["code"] == 200


@pytest.mark.django_db
@pytest.mark.urls("grasshopper.urls")
def test_an_api_call_with_a_session_token_is_logged_with_its_user(log: CapturedLog) -> None:
    """No session cookie: the user is anonymous when the request starts (not worked out the long way,
    grasshopper.lib.middleware.RequestMiddleware) and the one DRF authenticated when the answer leaves."""
    user = VerifiedUserFactory()
    client = api_client(user)

    signed_in = client.get("/api/v1/orders/", HTTP_X_REQUEST_ID="api-signed-in")
    anonymous = api_client().get("/api/v1/events/", HTTP_X_REQUEST_ID="api-anonymous")

    assert (signed_in.status_code, anonymous.status_code) == (200, 200)
    [line] = log.for_request("api-signed-in")
    assert (line["user_id"], line["path"], line["code"]) == (user.pk, "/api/v1/orders/", 200)
    [line] = log.for_request("api-anonymous")
    assert (line["user_id"], line["path"]) == (None, "/api/v1/events/")


def test_unsafe_incoming_request_id_is_replaced(client: Any, log: CapturedLog) -> None:
    response = client.get("/ok/", headers={"X-Request-ID": 'x" <script>alert(1)</script>'})

    request_id = response.headers["X-Request-ID"]
    assert uuid.UUID(request_id).version == 4
    assert len(log.for_request(request_id)) == 1
    assert "<script>" not in log.raw()


def test_no_credentials_cookies_or_bodies_are_logged(client: Any, log: CapturedLog) -> None:
    secrets = {
        "Authorization": "Bearer authorization-secret",
        "Cookie": "other=cookie-secret",
        "X-Session-Token": "session-token-secret",
    }

    response = client.post("/ok/?next=query-secret", data={"password": "body-secret"}, headers=secrets)

    assert response.status_code == 200
    raw = log.raw()
    assert log.for_request(response.headers["X-Request-ID"])[0]["method"] == "POST"
    for secret in ("authorization-secret", "cookie-secret", "session-token-secret", "query-secret"):
        assert secret not in raw
    assert "body-secret" not in raw


def test_secret_url_arguments_are_redacted(client: Any, log: CapturedLog) -> None:
    response = client.get("/confirm/MTIz-confirmation-key-secret/")

    assert response.status_code == 200
    [line] = log.for_request(response.headers["X-Request-ID"])
    assert line["path"] == "/confirm/[redacted]/"
    assert "confirmation-key-secret" not in log.raw()


def test_request_started_is_debug_and_when_written_is_redacted_too(client: Any, log: CapturedLog) -> None:
    request_logger = logging.getLogger("django_structlog.middlewares.request")
    level = request_logger.level
    request_logger.setLevel(logging.DEBUG)
    try:
        response = client.get("/confirm/started-key-secret/?q=needle")
    finally:
        request_logger.setLevel(level)

    started, finished = log.for_request(response.headers["X-Request-ID"])
    assert started["event"] == "request_started"
    assert started["level"] == "debug"
    assert started["method"] == "GET"
    assert started["path"] == "/confirm/[redacted]/"
    assert "request" not in started
    assert finished["event"] == "request_finished"
    assert "started-key-secret" not in log.raw()
    assert "needle" not in log.raw()


def test_a_request_line_its_level_drops_is_not_built_and_leaves_no_context_behind(
    client: Any, log: CapturedLog
) -> None:
    """At WARNING (a deployment that keeps its proxy's access log) a 2xx answer's INFO line is not built at
    all (grasshopper.lib.middleware.RequestMiddleware); a 4xx line is still written whole."""
    built: list[int] = []

    def finished_metadata(*, response: HttpResponse, **kwargs: Any) -> None:
        built.append(response.status_code)

    django_structlog_signals.bind_extra_request_finished_metadata.connect(finished_metadata)
    request_logger = logging.getLogger("django_structlog.middlewares.request")
    level = request_logger.level
    request_logger.setLevel(logging.WARNING)
    try:
        ok = client.get("/ok/", headers={"X-Request-ID": "quiet-200"})
        structlog.get_logger("security").warning("between_requests")
        limited = client.get("/security/", headers={"X-Request-ID": "loud-429"})
    finally:
        request_logger.setLevel(level)
        django_structlog_signals.bind_extra_request_finished_metadata.disconnect(finished_metadata)

    assert (ok.status_code, ok.headers["X-Request-ID"], limited.status_code) == (200, "quiet-200", 429)
    assert built == [429]
    assert log.for_request("quiet-200") == []
    [between] = [line for line in log.lines() if line["event"] == "between_requests"]
    assert "request_id" not in between  # the 200's context was cleared
    [finished] = [line for line in log.for_request("loud-429") if line["event"] == "request_finished"]
    assert (finished["code"], finished["level"], finished["method"], finished["path"]) == (
        429,
        "warning",
        "GET",
        "/security/",
    )
    assert finished["duration_ms"] >= 0


def test_unhandled_exception_is_one_request_failed_line_with_the_same_fields(
    client: Any, log: CapturedLog
) -> None:
    client.raise_request_exception = False

    response = client.get("/boom/?a=1")

    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    lines = log.for_request(request_id)
    [failed] = [line for line in lines if line["logger"] == "django_structlog.middlewares.request"]
    assert failed["event"] == "request_failed"
    assert failed["level"] == "error"
    assert failed["code"] == 500
    assert failed["method"] == "GET"
    assert failed["path"] == "/boom/"
    assert failed["duration_ms"] >= 0
    assert "RuntimeError: boom" in failed["exception"]
    # Django's own error record (it feeds ADMINS mail) is the only other line, and carries the id.
    assert {line["logger"] for line in lines} == {"django_structlog.middlewares.request", "django.request"}


def test_security_event_during_a_request_is_a_json_line_with_its_logger_and_request_id(
    client: Any, log: CapturedLog
) -> None:
    response = client.get("/security/", headers={"X-Request-ID": "sec-1"})

    assert response.status_code == 429
    lines = log.for_request("sec-1")
    [event] = [line for line in lines if line["logger"] == "security"]
    assert event["event"] == "rate_limited"
    assert event["level"] == "warning"
    assert event["scope"] == "test"
    assert event["ip"] == "127.0.0.1"
    # Below WARNING the security logger writes nothing.
    assert "below_the_security_level" not in log.raw()
    [finished] = [line for line in lines if line["event"] == "request_finished"]
    assert finished["code"] == 429
    assert finished["level"] == "warning"


def test_security_logger_writes_warnings_even_when_the_log_level_is_error(log: CapturedLog) -> None:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        structlog.get_logger("security").warning("login_failed", reason="test")
    finally:
        root.setLevel(level)

    [line] = log.lines()
    assert line["logger"] == "security"
    assert line["event"] == "login_failed"

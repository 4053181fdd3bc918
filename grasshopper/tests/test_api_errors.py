"""Every API error answers one RFC 9457 shape (grasshopper.lib.api.errors), with DEBUG off as in production.

The failing views live in grasshopper/tests/api_urls.py, mounted before the real URLconf.
"""

import json
import logging
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "errors", "instance"}

pytestmark = [pytest.mark.django_db, pytest.mark.urls("grasshopper.tests.api_urls")]


@pytest.fixture
def client() -> APIClient:
    # Unhandled exceptions are answered by the handler; the test client must not re-raise them.
    return APIClient(raise_request_exception=False)


def assert_problem(response: Any, *, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["instance"] == response.wsgi_request.path
    assert body["type"] == "about:blank"
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["errors"], list)
    assert body["errors"]
    for error in body["errors"]:
        assert error.keys() == {"code", "detail", "attr"}
    return body


def test_debug_is_off() -> None:
    assert settings.DEBUG is False


def test_validation_error_lists_each_field_by_path(client: APIClient) -> None:
    response = client.post(
        "/api/v1/__test__/validate/",
        {
            "email": "not-an-email",
            "lines": [{"ticket_type": 1, "quantity": 1}, {"ticket_type": 2, "quantity": 50}],
        },
        format="json",
    )

    body = assert_problem(response, status=400, code="validation_error")
    assert body["title"] == "Bad Request"
    assert body["detail"] == "The request contains invalid data; see errors."
    errors = {error["attr"]: error for error in body["errors"]}
    assert errors.keys() == {"email", "lines.1.quantity"}
    assert errors["email"]["code"] == "invalid"
    assert errors["lines.1.quantity"]["code"] == "max_value"
    assert "10" in errors["lines.1.quantity"]["detail"]


def test_missing_fields_are_validation_errors(client: APIClient) -> None:
    body = assert_problem(
        client.post("/api/v1/__test__/validate/", {}, format="json"), status=400, code="validation_error"
    )
    assert {(e["attr"], e["code"]) for e in body["errors"]} == {("email", "required"), ("lines", "required")}


def test_django_validation_error_becomes_a_field_error(client: APIClient) -> None:
    body = assert_problem(
        client.post("/api/v1/__test__/django-validation/", {}, format="json"),
        status=400,
        code="validation_error",
    )
    assert [(e["attr"], e["detail"]) for e in body["errors"]] == [("quantity", "Too many.")]


def test_malformed_json_is_a_parse_error(client: APIClient) -> None:
    response = client.post("/api/v1/__test__/validate/", "{not json", content_type="application/json")

    body = assert_problem(response, status=400, code="parse_error")
    assert body["errors"][0]["attr"] is None


def test_missing_credentials_with_a_challenge_is_401(client: APIClient) -> None:
    response = client.get("/api/v1/__test__/challenge/")

    assert_problem(response, status=401, code="not_authenticated")
    assert response["WWW-Authenticate"].startswith("Basic")


def test_missing_credentials_without_a_challenge_is_403_not_authenticated(client: APIClient) -> None:
    # Session authentication sends no challenge, so DRF answers 403; the code tells the client to sign in.
    assert_problem(client.get("/api/v1/__test__/not-authenticated/"), status=403, code="not_authenticated")


def test_django_permission_denied_is_403(client: APIClient) -> None:
    assert_problem(
        client.get("/api/v1/__test__/django-permission-denied/"), status=403, code="permission_denied"
    )


def test_django_http404_is_404_without_its_internal_message(client: APIClient) -> None:
    body = assert_problem(client.get("/api/v1/__test__/django-404/"), status=404, code="not_found")
    assert "internal detail" not in json.dumps(body)


@pytest.mark.parametrize("method", ["get", "post", "delete", "options"])
@pytest.mark.urls("grasshopper.urls")
def test_unknown_api_url_is_a_json_404_not_the_html_page(client: APIClient, method: str) -> None:
    response = getattr(client, method)("/api/v1/does-not-exist/")

    body = assert_problem(response, status=404, code="not_found")
    assert body["instance"] == "/api/v1/does-not-exist/"
    assert b"<html" not in response.content.lower()


@pytest.mark.urls("grasshopper.urls")
@pytest.mark.parametrize("path", ["/api/", "/api/v2/events/", "/api/v1/events"])
def test_any_unknown_api_path_is_a_json_404(client: APIClient, path: str) -> None:
    assert_problem(client.get(path), status=404, code="not_found")


def test_unknown_api_url_missing_its_slash_names_the_right_one(client: APIClient) -> None:
    # No redirect (a POST would lose its body): a 404 that says where to go.
    response = client.post("/api/v1/__test__/validate", {}, format="json")

    body = assert_problem(response, status=404, code="not_found")
    assert "/api/v1/__test__/validate/" in body["detail"]


@pytest.mark.urls("grasshopper.urls")
def test_unknown_api_url_missing_its_slash_gets_no_false_hint(client: APIClient) -> None:
    body = assert_problem(client.get("/api/v1/does-not-exist"), status=404, code="not_found")
    assert body["detail"] == "No API endpoint at this URL."


def test_wrong_method_is_405_with_allow(client: APIClient) -> None:
    response = client.post("/api/v1/__test__/get-only/", {}, format="json")

    body = assert_problem(response, status=405, code="method_not_allowed")
    assert "POST" in body["detail"]
    assert "GET" in response["Allow"]


@pytest.mark.urls("grasshopper.urls")
def test_errors_are_json_on_views_that_render_html(client: APIClient) -> None:
    response = client.post("/api/docs/", {}, format="json")

    assert_problem(response, status=405, code="method_not_allowed")


def test_application_error_keeps_its_status_code_and_extra(client: APIClient) -> None:
    body = assert_problem(
        client.post("/api/v1/__test__/conflict/", {}, format="json"), status=409, code="sold_out"
    )

    assert body["title"] == "Conflict"
    assert body["detail"] == "These tickets are sold out."
    assert body["errors"] == [{"code": "sold_out", "detail": "These tickets are sold out.", "attr": None}]
    assert body["available"] == 0  # ApplicationError.extra becomes extension members...


def test_application_error_422(client: APIClient) -> None:
    body = assert_problem(
        client.post("/api/v1/__test__/unprocessable/", {}, format="json"), status=422, code="hold_too_long"
    )
    assert body["title"] == "Unprocessable Entity"


def test_throttled_is_429_with_retry_after_and_a_security_log(
    client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert client.get("/api/v1/__test__/throttled/").status_code == 200

    with caplog.at_level(logging.WARNING, logger="security"):
        response = client.get("/api/v1/__test__/throttled/")

    body = assert_problem(response, status=429, code="throttled")
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    assert str(retry_after) in body["detail"]
    security = [r for r in caplog.records if r.name == "security"]
    assert any("api_throttled" in str(record.msg) for record in security), caplog.records


@pytest.mark.urls("grasshopper.urls")
def test_project_throttles_apply_to_every_api_url(client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF copies DEFAULT_THROTTLE_RATES onto the class at import, so a settings override would not reach it.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": "2/min"})

    statuses = [client.get("/api/v1/does-not-exist/").status_code for _ in range(3)]

    assert statuses == [404, 404, 429]


def test_unhandled_exception_is_a_500_without_traceback_and_is_reported(
    client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/api/v1/__test__/broken/")

    body = assert_problem(response, status=500, code="server_error")
    assert body["title"] == "Internal Server Error"
    assert body["errors"] == [{"code": "server_error", "detail": "A server error occurred.", "attr": None}]
    for leak in (b"hunter2", b"RuntimeError", b"Traceback", b"secret"):
        assert leak not in response.content
    # got_request_exception was sent (Sentry listens to it; the test client records it)...
    assert response.exc_info is not None
    assert isinstance(response.exc_info[1], RuntimeError)
    # ...and the traceback is logged on django.request.
    logged = [r for r in caplog.records if r.name == "django.request" and r.levelno == logging.ERROR]
    assert logged
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], RuntimeError)

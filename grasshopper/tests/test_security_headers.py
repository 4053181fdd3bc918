"""Security headers and cookies as production serves them (the test settings are production's).

DESIGN.md section 10: strict CSP with nonces, HSTS, secure cookies, X-Frame-Options, referrer policy.
"""

import json

import pytest
from django.conf import settings
from django.test import Client

from grasshopper.tests.pagecheck import csp_directives, inline_code_problems, parse, script_nonce

pytestmark = [pytest.mark.django_db, pytest.mark.urls("grasshopper.tests.urls")]


def test_settings_are_production_like() -> None:
    # Every assertion below is about production behaviour only because DEBUG is off here.
    assert settings.DEBUG is False


def test_page_has_a_strict_csp_with_a_script_nonce(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    directives = csp_directives(response)
    nonce = script_nonce(response)
    assert directives["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]


def test_csp_allows_no_unsafe_sources(client: Client) -> None:
    header = client.get("/").headers["Content-Security-Policy"]

    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    assert "unsafe-hashes" not in header
    assert "*" not in header


def test_every_request_gets_a_fresh_nonce(client: Client) -> None:
    assert script_nonce(client.get("/")) != script_nonce(client.get("/"))


def test_htmx_is_served_by_us_with_the_nonce(client: Client) -> None:
    response = client.get("/")
    nonce = script_nonce(response)

    scripts = parse(response.content).find_all("script")
    assert [s.attrs["src"] for s in scripts] == [f"{settings.STATIC_URL}django_htmx/htmx-2.min.js"]
    assert scripts[0].attrs["nonce"] == nonce


def test_htmx_is_configured_for_the_csp(client: Client) -> None:
    meta = parse(client.get("/").content).find("meta", {"name": "htmx-config"})

    # htmx's indicator <style> would be blocked by style-src 'self'; site.css carries it instead.
    assert json.loads(meta.attrs["content"]) == {"includeIndicatorStyles": False, "allowEval": False}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/this-does-not-exist/",
        "/__test__/permission-denied/",
        "/__test__/suspicious/",
        "/__test__/ratelimited/",
        "/__test__/messages/",
    ],
)
def test_pages_have_no_inline_code_the_csp_would_block(client: Client, path: str) -> None:
    response = client.get(path)

    assert inline_code_problems(parse(response.content), script_nonce(response)) == []


def test_signed_in_pages_have_no_inline_code(client: Client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_user(email="staff@example.com", is_staff=True))
    response = client.get("/")

    assert inline_code_problems(parse(response.content), script_nonce(response)) == []


def test_server_error_page_has_no_inline_code() -> None:
    response = Client(raise_request_exception=False).get("/__test__/broken/")

    assert response.status_code == 500
    assert inline_code_problems(parse(response.content), script_nonce(response)) == []


def test_framing_sniffing_referrer_and_opener_headers(client: Client) -> None:
    response = client.get("/")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_on_a_secure_request(client: Client) -> None:
    response = client.get("/", secure=True)

    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_no_hsts_over_plain_http(client: Client) -> None:
    # Browsers ignore HSTS over HTTP; Django only sends it on secure requests.
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_csrf_cookie_is_httponly_and_secure(client: Client) -> None:
    response = client.get("/")  # the layout puts the token in hx-headers, which sets the cookie

    cookie = response.cookies[settings.CSRF_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"


def test_session_cookie_is_httponly_and_secure(client: Client) -> None:
    response = client.get("/__test__/session/")

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"


def test_htmx_requests_pass_csrf_with_the_token_from_the_page() -> None:
    # The CSRF cookie is HttpOnly, so htmx sends the token it reads from <body hx-headers>.
    client = Client(enforce_csrf_checks=True)
    body = parse(client.get("/").content).find("body")
    token = json.loads(body.attrs["hx-headers"])["X-CSRFToken"]

    assert token
    assert client.post("/__test__/form/", headers={"X-CSRFToken": token}).status_code == 200
    assert client.post("/__test__/form/").status_code == 403

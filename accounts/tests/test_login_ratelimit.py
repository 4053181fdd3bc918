"""Failed sign-ins: counted per address and per IP in the shared cache, answered 429, logged."""

import json
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import PASSWORD, VerifiedUserFactory
from accounts.tests.helpers import SecurityEvents

pytestmark = pytest.mark.django_db

WRONG = "Not-The-Password-1"
HEADLESS_LOGIN = "/_allauth/app/v1/auth/login"


def log_in(client: Client, email: str, password: str = WRONG) -> object:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_sixth_bad_login_for_one_address_is_429_from_any_ip(security_events: SecurityEvents) -> None:
    user = VerifiedUserFactory(email="victim@example.com")
    for n in range(5):
        response = log_in(Client(REMOTE_ADDR=f"10.1.0.{n}"), "victim@example.com")
        assert response.status_code == 200  # the form again, with its error

    response = log_in(Client(REMOTE_ADDR="10.1.0.200"), "Victim@example.com", password=PASSWORD)

    assert response.status_code == 429  # even the right password: the address is locked for the minute
    assert "Too many attempts" in response.content.decode()
    assert response["Retry-After"]
    events = security_events()
    failed = [e for e in events if e["event"] == "login_failed"]
    assert len(failed) == 5
    assert {e["email"] for e in failed} == {user.email}
    hits = [e for e in events if e["event"] == "rate_limit_hit"]
    assert len(hits) == 1
    assert hits[0]["limit"] == "login_failed"
    assert hits[0]["email"] == "victim@example.com"
    assert hits[0]["ip"] == "10.1.0.200"
    logged = repr(events)
    assert WRONG not in logged
    assert PASSWORD not in logged


def test_sixth_bad_login_from_one_ip_is_429_whatever_the_address(security_events: SecurityEvents) -> None:
    client = Client(REMOTE_ADDR="192.0.2.7")
    for n in range(5):
        assert log_in(client, f"guess{n}@example.com").status_code == 200

    response = log_in(client, "guess5@example.com")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    hits = [e for e in security_events() if e["event"] == "rate_limit_hit"]
    assert [(e["limit"], e["ip"]) for e in hits] == [("login_failed", "192.0.2.7")]


def test_a_successful_login_does_not_count_as_a_failure() -> None:
    VerifiedUserFactory(email="typo@example.com")
    client = Client()
    for _ in range(4):
        assert log_in(client, "typo@example.com").status_code == 200
    assert log_in(client, "typo@example.com", password=PASSWORD).status_code == 302
    client.logout()

    assert log_in(client, "typo@example.com").status_code == 200  # the fifth failure, not the sixth
    assert log_in(client, "typo@example.com").status_code == 429


def test_failed_login_is_logged_without_the_password(security_events: SecurityEvents) -> None:
    VerifiedUserFactory(email="someone@example.com")

    response = log_in(Client(REMOTE_ADDR="198.51.100.4"), "someone@example.com")

    assert response.status_code == 200
    assert SESSION_KEY not in response.wsgi_request.session
    [event] = [e for e in security_events() if e["event"] == "login_failed"]
    assert event["email"] == "someone@example.com"
    assert event["ip"] == "198.51.100.4"
    assert event["path"] == reverse("account_login")
    assert WRONG not in repr(event)


def test_headless_app_login_is_limited_too_and_answers_json() -> None:
    VerifiedUserFactory(email="mobile@example.com")
    client = Client()
    body = json.dumps({"email": "mobile@example.com", "password": WRONG})
    for _ in range(5):
        assert client.post(HEADLESS_LOGIN, body, content_type="application/json").status_code == 400

    response = client.post(HEADLESS_LOGIN, body, content_type="application/json")

    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["status"] == 429


def test_clients_behind_a_proxy_are_told_apart_by_the_configured_header(settings: Any) -> None:
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"
    proxy = Client(REMOTE_ADDR="10.9.9.9")
    for n in range(6):
        response = proxy.post(
            reverse("account_login"),
            {"login": f"visitor{n}@example.com", "password": WRONG},
            HTTP_X_REAL_IP=f"203.0.113.{n}",
        )
        assert response.status_code == 200, "visitors behind one proxy were counted as one client"

    for n in range(6):
        response = proxy.post(
            reverse("account_login"),
            {"login": f"other{n}@example.com", "password": WRONG},
            HTTP_X_REAL_IP="203.0.113.50",
        )
    assert response.status_code == 429

"""Sign-up with mandatory email verification, and its rate limits."""

import json

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import SecurityEvents, link_in_last_mail

pytestmark = pytest.mark.django_db


def sign_up(client: Client, email: str, **extra: str) -> object:
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD, **extra},
    )


def log_in(client: Client, email: str, password: str = PASSWORD) -> object:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_signup_verification_then_login() -> None:
    browser = Client()
    response = sign_up(browser, "New.Fan@Example.com", full_name="  Nina Fan ")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get()
    assert user.email == "new.fan@example.com"
    assert user.full_name == "Nina Fan"
    assert SESSION_KEY not in browser.session, "signed in before verifying the address"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.fan@example.com"]
    assert mail.outbox[0].subject.startswith("[Grasshopper] ")

    # Not verified yet: the password is right, but the answer is "check your email", not a session.
    response = log_in(Client(), "new.fan@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not EmailAddress.objects.filter(user=user, verified=True).exists()

    # The link from the email, opened elsewhere (the mail app): GET shows a button, POST confirms.
    confirm_path = link_in_last_mail("/accounts/confirm-email/")
    mail_app = Client()
    page = mail_app.get(confirm_path)
    assert page.status_code == 200
    assert not EmailAddress.objects.filter(user=user, verified=True).exists(), "confirmed on GET"
    assert mail_app.post(confirm_path).status_code == 302
    assert EmailAddress.objects.get(user=user).verified

    response = log_in(mail_app, "New.Fan@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert mail_app.session[SESSION_KEY] == str(user.pk)


def test_signup_with_a_taken_address_in_another_case_creates_nobody() -> None:
    UserFactory(email="taken@example.com")

    response = sign_up(Client(), "TAKEN@example.com")

    # No enumeration: the same answer as a fresh sign-up, and the owner gets an email instead.
    assert response.status_code == 302
    assert User.objects.count() == 1
    assert mail.outbox[-1].to == ["taken@example.com"]


def test_sixth_signup_for_one_address_within_a_minute_is_429(security_events: SecurityEvents) -> None:
    for n in range(5):
        assert sign_up(Client(REMOTE_ADDR=f"10.0.0.{n}"), "target@example.com").status_code == 302

    response = sign_up(Client(REMOTE_ADDR="10.0.0.99"), "Target@example.com")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    hits = [(e["limit"], e["email"]) for e in security_events() if e["event"] == "rate_limit_hit"]
    assert hits == [("signup_email", "target@example.com")]


def test_eleventh_signup_from_one_ip_within_a_minute_is_429() -> None:
    client = Client()
    for n in range(10):
        assert sign_up(client, f"fan{n}@example.com").status_code == 302
        client.logout()

    response = sign_up(client, "fan10@example.com")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert User.objects.count() == 10


def test_headless_signup_is_limited_per_address_too() -> None:
    body = json.dumps({"email": "app.target@example.com", "password": PASSWORD})
    for n in range(5):
        response = Client(REMOTE_ADDR=f"10.3.0.{n}").post(
            "/_allauth/app/v1/auth/signup", body, content_type="application/json"
        )
        assert response.status_code == 401  # signed up, "verify your email" pending

    response = Client(REMOTE_ADDR="10.3.0.99").post(
        "/_allauth/app/v1/auth/signup", body, content_type="application/json"
    )

    assert response.status_code == 429
    assert response.json()["status"] == 429
    assert User.objects.filter(email="app.target@example.com").count() == 1

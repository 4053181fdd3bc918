"""Password reset by emailed link, and its rate limits."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import PASSWORD, VerifiedUserFactory
from accounts.tests.helpers import link_in_last_mail

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-New-Secret-2291"


def request_reset(client: Client, email: str) -> object:
    return client.post(reverse("account_reset_password"), {"email": email})


def test_reset_email_link_sets_a_new_password() -> None:
    user = VerifiedUserFactory(email="forgetful@example.com")
    client = Client()

    response = request_reset(client, "Forgetful@example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["forgetful@example.com"]
    # The link carries the key once; allauth moves it into the session and redirects to a clean URL.
    reset_path = link_in_last_mail("/accounts/password/reset/key/")
    response = client.get(reset_path)
    assert response.status_code == 302
    form_path = response["Location"]
    assert client.get(form_path).status_code == 200

    response = client.post(form_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    browser = Client()
    login = reverse("account_login")
    assert browser.post(login, {"login": user.email, "password": PASSWORD}).status_code == 200
    assert browser.post(login, {"login": user.email, "password": NEW_PASSWORD}).status_code == 302
    assert browser.session[SESSION_KEY] == str(user.pk)


def test_a_used_reset_link_does_not_work_twice() -> None:
    VerifiedUserFactory(email="once@example.com")
    client = Client()
    request_reset(client, "once@example.com")
    reset_path = link_in_last_mail("/accounts/password/reset/key/")
    form_path = client.get(reset_path)["Location"]
    client.post(form_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = Client().get(reset_path, follow=True)

    assert again.status_code == 200
    assert b'name="password1"' not in again.content  # "bad token" page, no form


def test_fourth_reset_for_one_address_within_a_minute_is_429() -> None:
    VerifiedUserFactory(email="flooded@example.com")
    for n in range(3):
        assert request_reset(Client(REMOTE_ADDR=f"10.2.0.{n}"), "flooded@example.com").status_code == 302

    response = request_reset(Client(REMOTE_ADDR="10.2.0.99"), "FLOODED@example.com")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert len(mail.outbox) == 3


def test_sixth_reset_from_one_ip_within_a_minute_is_429() -> None:
    client = Client(REMOTE_ADDR="192.0.2.55")
    for n in range(5):
        assert request_reset(client, f"someone{n}@example.com").status_code == 302

    response = request_reset(client, "someone5@example.com")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()

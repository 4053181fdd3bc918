"""The unsubscribe link in marketing emails: one click from the email switches marketing email off, a
link scanner's GET changes nothing, a mail provider's RFC 8058 one-click POST works without cookies or a
CSRF token, and a forged or tampered token changes nothing."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory
from notifications import kinds
from notifications.models import OutboxEmail, Preference
from notifications.services import notify
from notifications.services_inbox import (
    UNSUBSCRIBE_SALT,
    UnsubscribeTokenInvalid,
    unsubscribe,
    unsubscribe_token,
    unsubscribe_url,
)
from orders.signing import guest_token_make
from orders.tests.htmlquery import soup

pytestmark = pytest.mark.django_db

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


@pytest.fixture
def alice() -> User:
    return UserFactory(email="alice@example.com")


@pytest.fixture
def bob() -> User:
    return UserFactory(email="bob@example.com")


def marketing_on(user: User) -> bool:
    """What the outbox will check: no row, or a row saying yes, means marketing email is sent."""
    pref = Preference.objects.filter(user=user).first()
    return pref is None or pref.marketing_email


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_url_is_absolute_on_the_site_and_the_same_in_every_email(alice: User, bob: User) -> None:
    url = unsubscribe_url(user=alice)
    assert unsubscribe_url(user=alice) == url  # the footer and the List-Unsubscribe header agree
    assert unsubscribe_url(user=bob) != url
    assert url.startswith(f"{settings.SITE_URL}/email/unsubscribe/")
    assert url.endswith("/")
    assert str(alice.pk) not in path_of(url).split("/")  # not a bare id


def test_get_shows_a_confirmation_page_and_changes_nothing(alice: User) -> None:
    """Link scanners and previewers fetch every link in an email: a GET must not unsubscribe."""
    path = path_of(unsubscribe_url(user=alice))

    response = Client().get(path)
    Client().head(path)

    assert response.status_code == 200
    assert marketing_on(alice)
    assert not Preference.objects.exists()
    page = soup(response.content)
    assert "alice@example.com" in page.get_text()
    form = page.select_one("main form")
    assert form["method"] == "post"
    assert form["action"] == path
    assert [b.get_text(strip=True) for b in form.select("button")] == ["Unsubscribe"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-cache" in response["Cache-Control"]


def test_the_button_unsubscribes(alice: User, bob: User) -> None:
    client = Client(enforce_csrf_checks=True)  # the page has no CSRF token: the signed link is the credential
    path = path_of(unsubscribe_url(user=alice))
    client.get(path)

    response = client.post(path)

    assert response.status_code == 200
    assert not marketing_on(alice)
    assert marketing_on(bob)
    text = soup(response.content).get_text()
    assert "You are unsubscribed" in text
    assert "still get the emails about your orders" in text


def test_one_click_post_from_a_mail_provider_unsubscribes(alice: User) -> None:
    """RFC 8058: the provider POSTs ``List-Unsubscribe=One-Click`` to the URL, with no cookies."""
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        path_of(unsubscribe_url(user=alice)),
        data=ONE_CLICK_BODY,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert not marketing_on(alice)


def test_unsubscribing_twice_is_harmless(alice: User) -> None:
    path = path_of(unsubscribe_url(user=alice))
    assert Client().post(path).status_code == 200
    assert Client().post(path).status_code == 200
    assert Preference.objects.filter(user=alice).count() == 1
    assert not marketing_on(alice)


def test_an_old_link_still_works(alice: User, time_machine) -> None:
    time_machine.move_to("2020-01-01T00:00:00Z")
    path = path_of(unsubscribe_url(user=alice))
    time_machine.move_to("2026-01-01T00:00:00Z")
    assert Client().post(path).status_code == 200
    assert not marketing_on(alice)


def test_the_link_works_after_opting_back_in(alice: User) -> None:
    """Marketing switched back on in the preferences, then an old email's link clicked: off again."""
    path = path_of(unsubscribe_url(user=alice))
    Client().post(path)
    Preference.objects.filter(user=alice).update(marketing_email=True)
    Client().post(path)
    assert not marketing_on(alice)


def _forgeries(alice: User, bob: User) -> dict[str, str]:
    good = unsubscribe_token(user=alice)
    payload, signature = good.split(":")
    bobs_payload = base64.urlsafe_b64encode(json.dumps({"u": bob.pk, "v": 1}).encode()).decode().rstrip("=")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    ours = signing.Signer(salt=UNSUBSCRIBE_SALT)
    bobs = {"u": bob.pk, "v": 1}
    return {
        "tampered signature": f"{payload}:{flipped}",
        "another user's id with alice's signature": f"{bobs_payload}:{signature}",
        "signed with another key": signing.Signer(key="not-ours", salt=UNSUBSCRIBE_SALT).sign_object(bobs),
        "signed for another purpose": signing.Signer(salt="orders.guest-link").sign_object(bobs),
        "timestamped with our salt (dumps)": signing.dumps(bobs, salt=UNSUBSCRIBE_SALT),
        "a guest order link's token": guest_token_make(code="ABCD234567"),
        "unsigned payload": bobs_payload,
        "a bare id": str(bob.pk),
        "garbage": "not-a-token",
        "an unknown token version": ours.sign_object({"u": bob.pk, "v": 99}),
        "a payload that is not ours": ours.sign_object(bob.pk),
        "a signed string that is not JSON": ours.sign("not json"),
    }


def test_forged_or_tampered_tokens_are_refused_and_change_nothing(alice: User, bob: User) -> None:
    for name, token in _forgeries(alice, bob).items():
        path = f"/email/unsubscribe/{token}/"
        for method in ("get", "post"):
            response = getattr(Client(), method)(path)
            assert response.status_code == 400, (name, method, response.status_code)
            assert "This link does not work" in response.content.decode(), name
            assert soup(response.content).select("main form") == [], name
        one_click = Client().post(path, data=ONE_CLICK_BODY, content_type="application/x-www-form-urlencoded")
        assert one_click.status_code == 400, name
        with pytest.raises(UnsubscribeTokenInvalid):
            unsubscribe(token=token)
    assert not Preference.objects.exists()
    assert marketing_on(alice)
    assert marketing_on(bob)


def test_a_deleted_or_deactivated_user_link_is_refused(alice: User, bob: User) -> None:
    gone = path_of(unsubscribe_url(user=bob))
    bob.delete()
    assert Client().post(gone).status_code == 400
    inactive = path_of(unsubscribe_url(user=alice))
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert Client().post(inactive).status_code == 400
    assert not Preference.objects.exists()


def test_other_methods_are_not_allowed(alice: User) -> None:
    path = path_of(unsubscribe_url(user=alice))
    assert Client().put(path).status_code == 405
    assert Client().delete(path).status_code == 405
    assert marketing_on(alice)


@pytest.fixture
def newsletter() -> Iterator[str]:
    """A marketing kind, for this test only."""
    kinds.register(dataclasses.replace(kinds.get("order_confirmed"), key="test_newsletter", marketing=True))
    yield "test_newsletter"
    kinds.unregister("test_newsletter")


def test_after_unsubscribing_only_marketing_email_stops(alice: User, newsletter: str) -> None:
    Client().post(path_of(unsubscribe_url(user=alice)))

    marketing = notify(kind=newsletter, reference="news:1", user=alice, title="News", body="b", link="/")
    transactional = notify(
        kind="order_confirmed", reference="orders.Order:X", user=alice, title="Tickets", body="b", link="/"
    )

    assert marketing is None
    assert transactional is not None
    assert list(OutboxEmail.objects.values_list("kind", "to")) == [("order_confirmed", "alice@example.com")]

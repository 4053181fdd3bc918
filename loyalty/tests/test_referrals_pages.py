"""The referral link ``/r/<code>/`` for visitors and signed-in users, linking through allauth's real sign-up
(signed cookie: kept until sign-up, expired after REFERRAL_LINK_DAYS, forged ones ignored and logged), the
referral section of ``/account/loyalty/``, and the checkout's welcome-discount form."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import PASSWORD, VerifiedUserFactory
from loyalty.models import Referral
from loyalty.referral_cookie import COOKIE
from loyalty.tests.factories import paid_order, priced_ticket_type
from loyalty.tests.referral_helpers import code_of, referred, security_log
from orders.models import Order
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REFERRAL_LINK_DAYS = 30
    settings.REFERRAL_REFEREE_REWARD = "points"
    settings.REFERRAL_REFEREE_POINTS = 250
    settings.REFERRAL_REFERRER_POINTS = 500


def sign_up(client: Client, email: str) -> object:
    return client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_a_visitor_follows_the_link_signs_up_and_is_linked_and_the_cookie_is_dropped():
    ana = VerifiedUserFactory(full_name="Ana Silva")
    visitor = Client()

    response = visitor.get(f"/r/{code_of(ana).lower()}/")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_signup")
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 30 * 24 * 3600
    page = visitor.get(reverse("account_signup"))
    assert "Ana invited you to Grasshopper" in page.content.decode()

    response = sign_up(visitor, "bea@example.com")

    assert response.status_code == 302
    bea = User.objects.get(email="bea@example.com")
    referral = Referral.objects.get(referee=bea)
    assert (referral.referrer, referral.status) == (ana, Referral.Status.SIGNED_UP)
    assert response.cookies[COOKIE].value == ""  # deleted: one link, one sign-up
    assert int(response.cookies[COOKIE]["max-age"]) == 0


def test_a_sign_up_without_the_link_is_not_linked():
    VerifiedUserFactory()
    sign_up(Client(), "bea@example.com")
    assert not Referral.objects.exists()


def test_the_link_is_forgotten_after_the_configured_days():
    ana = VerifiedUserFactory()
    visitor = Client()
    visitor.get(f"/r/{code_of(ana)}/")

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        sign_up(visitor, "bea@example.com")

    assert User.objects.filter(email="bea@example.com").exists()
    assert not Referral.objects.exists()


def test_a_forged_cookie_is_ignored_and_logged(caplog):
    events = security_log(caplog)
    ana, mallory = VerifiedUserFactory(), VerifiedUserFactory()
    visitor = Client()
    visitor.get(f"/r/{code_of(ana)}/")
    genuine = visitor.cookies[COOKIE].value
    # Another code with the genuine signature: the signature no longer matches.
    visitor.cookies[COOKIE] = genuine.replace(code_of(ana), code_of(mallory), 1)
    assert code_of(ana) in genuine

    sign_up(visitor, "bea@example.com")

    assert not Referral.objects.exists()
    assert [e["event"] for e in events()] == ["referral_cookie_invalid"]


def test_a_signed_in_user_is_shown_their_own_link_and_nothing_is_remembered():
    ana, bea = VerifiedUserFactory(), VerifiedUserFactory()
    client = Client()
    client.force_login(bea)

    response = client.get(f"/r/{code_of(ana)}/")

    assert response.status_code == 302
    assert response["Location"] == "/account/loyalty/#referrals"
    assert COOKIE not in response.cookies


def test_an_unknown_code_still_leads_to_sign_up_without_a_cookie():
    response = Client().get("/r/NOPE2345/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_signup")
    assert COOKIE not in response.cookies


# --- The section of /account/loyalty/ ----------------------------------------------------------------------


def test_the_loyalty_page_shows_the_code_the_link_and_each_referrals_status(settings):
    settings.SITE_URL = "https://tickets.example"
    ana = VerifiedUserFactory()
    bea, _ = referred(ana, full_name="Bea Costa")
    referred(ana, full_name="", email="carla@example.org")
    paid_order(bea, priced_ticket_type())
    client = Client()
    client.force_login(ana)

    html = client.get("/account/loyalty/").content.decode()

    code = code_of(ana)
    assert 'id="referrals"' in html
    assert f'value="https://tickets.example/r/{code}/"' in html
    assert f"<code>{code}</code>" in html
    assert "Bea" in html
    assert "Rewarded" in html
    assert "ca…@example.org" in html
    assert "Signed up: rewarded when their first order is paid" in html
    assert "carla@example.org" not in html  # a referee's address is never shown in full
    assert "500 points" in html
    assert "250 points" in html


def test_the_section_costs_the_same_queries_whatever_the_number_of_referrals():
    ana = VerifiedUserFactory()
    client = Client()
    client.force_login(ana)
    referred(ana)
    client.get("/account/loyalty/")  # the account exists from now on

    with CaptureQueriesContext(connection) as one:
        assert client.get("/account/loyalty/").status_code == 200
    for _ in range(4):
        referred(ana)
    with CaptureQueriesContext(connection) as five:
        assert client.get("/account/loyalty/").status_code == 200

    assert len(five) == len(one)


# --- The welcome discount at checkout (reward "discount") ---------------------------------------------------


def test_the_checkout_offers_the_welcome_discount_and_the_button_applies_it(settings):
    settings.REFERRAL_REFEREE_REWARD = "discount"
    settings.REFERRAL_REFEREE_DISCOUNT = "5.00"
    ana = VerifiedUserFactory()
    bea, _ = referred(ana)
    order = place_order(priced_ticket_type("40.00"), 1, buyer=bea)
    client = Client()
    client.force_login(bea)
    checkout = reverse("orders:checkout", kwargs={"code": order.code})

    assert "Use my welcome discount" in client.get(checkout).content.decode()
    response = client.post(reverse("referrals:discount", kwargs={"code": order.code}))

    assert response.status_code == 302
    order.refresh_from_db()
    assert str(order.total) == "35.00"
    html = client.get(checkout).content.decode()
    assert "Use my welcome discount" not in html
    assert "off</strong> this order, from your friend" in html

    # Not offered to someone who was not referred, nor usable on another buyer's order.
    stranger = Client()
    stranger.force_login(ana)
    assert stranger.post(reverse("referrals:discount", kwargs={"code": order.code})).status_code == 404
    assert Order.objects.get(pk=order.pk).total == order.total

"""The membership section of /account/loyalty/ and its buttons: join (a page, then Stripe's Checkout), back
from Stripe, cancel at period end, keep; the offline test payment page in subscription mode; and the
points multiplier a member earns with."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from accounts.selectors import membership_active
from accounts.tests.factories import VerifiedUserFactory
from orders.stripe_fake import FakeStripe
from orders.tests.htmlquery import Node, soup
from orders.tests.payments_helpers import Deliver, deliver_all

pytestmark = pytest.mark.django_db
MS = Membership.Status
ACCOUNT = "/account/loyalty/"


def _text(node: Node) -> str:
    return " ".join(node.get_text().split())


def _section(client: Client) -> Node:
    response = client.get(ACCOUNT)
    assert response.status_code == 200
    section = soup(response.content).select_one("section#membership")
    assert section is not None
    return section


def _messages(response: Any) -> list[str]:
    return [_text(li) for li in soup(response.content).select("#messages li")]


@pytest.fixture
def member_client() -> tuple[Client, Any]:
    user = VerifiedUserFactory()
    client = Client()
    client.force_login(user)
    return client, user


def test_join_pay_then_cancel_at_period_end_then_keep(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, member_client: tuple[Client, Any]
) -> None:
    client, user = member_client
    section = _section(client)
    assert "€4.99 a month" in _text(section)
    join = section.select_one("a[role=button]")
    assert (join.get_text(strip=True), join["href"]) == ("Join Grasshopper Plus", reverse("membership:join"))

    page = client.get(join["href"])
    assert page.status_code == 200
    html = soup(page.content)
    assert html.select_one("h1").get_text(strip=True) == "Join Grasshopper Plus"
    # The POST answers 303 to Stripe's page: the CSP lets the form lead there.
    assert "https://checkout.stripe.com" in page["Content-Security-Policy"]

    response = client.post(reverse("membership:join"))
    assert response.status_code == 303
    session_id = urlsplit(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]
    session = fake_stripe.get(session_id)
    assert session["success_url"] == "http://testserver" + reverse("membership:welcome")
    assert session["cancel_url"] == "http://testserver" + ACCOUNT + "#membership"

    # Back from Stripe before the webhook: the page does not claim what it does not know yet.
    early = client.get(reverse("membership:welcome"), follow=True)
    assert any("Stripe is confirming your payment" in m for m in _messages(early))
    deliver_all(stripe_deliver, fake_stripe.subscribe(checkout_session_id=session_id))
    back = client.get(reverse("membership:welcome"), follow=True)
    assert "Welcome to Grasshopper Plus! Your membership is active." in _messages(back)

    section = _section(client)
    end = Membership.objects.get(user=user).current_period_end
    assert "You are a member." in _text(section)
    assert f"renews on {end:%-d %B %Y}" in _text(section)
    assert section.select_one("form button").get_text(strip=True) == "Cancel at period end"

    response = client.post(reverse("membership:cancel"), follow=True)
    assert f"Your membership will not renew. Your benefits last until {end:%-d %B %Y}." in _messages(response)
    section = _section(client)
    assert f"Your membership ends on {end:%-d %B %Y}." in _text(section)
    assert section.select_one("form button").get_text(strip=True) == "Keep my membership"
    assert membership_active(user=user)

    response = client.post(reverse("membership:keep"), follow=True)
    assert "Your membership will renew as usual." in _messages(response)
    assert _section(client).select_one("form button").get_text(strip=True) == "Cancel at period end"
    # Joining again while a member: nothing at Stripe, a message.
    sessions = len([o for o in fake_stripe.objects.values() if o.get("object") == "checkout.session"])
    response = client.post(reverse("membership:join"), follow=True)
    assert "You are already a Grasshopper Plus member." in _messages(response)
    assert sessions == len([o for o in fake_stripe.objects.values() if o.get("object") == "checkout.session"])


def test_past_due_and_ended_memberships_say_so(member_client: tuple[Client, Any]) -> None:
    client, user = member_client
    end = timezone.now() + timedelta(days=3)
    membership = Membership.objects.create(
        user=user, status=MS.PAST_DUE, stripe_subscription_id="sub_x", current_period_end=end
    )
    assert "Your last payment did not go through." in _text(_section(client))
    membership.status = MS.CANCELED
    membership.current_period_end = timezone.now() - timedelta(days=1)
    membership.save()
    section = _section(client)
    assert "Your membership ended on" in _text(section)
    assert section.select_one("a[role=button]").get_text(strip=True) == "Join Grasshopper Plus again"


def test_the_buttons_need_a_signed_in_user_and_post(member_client: tuple[Client, Any]) -> None:
    for name in ("join", "welcome", "cancel", "keep"):
        response = Client().post(reverse(f"membership:{name}"))
        assert response.status_code in (302, 405), name
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("account_login"))
    client, _ = member_client
    assert client.get(reverse("membership:cancel")).status_code == 405
    response = client.post(reverse("membership:cancel"), follow=True)
    assert "You have no running Grasshopper Plus membership." in _messages(response)


@pytest.fixture
def offline(fake_stripe: FakeStripe, settings: Any) -> FakeStripe:
    """Offline mode as ``make run`` has it: DEBUG, STRIPE_OFFLINE, the fake answering every Stripe call."""
    settings.DEBUG = True
    settings.STRIPE_OFFLINE = True
    return fake_stripe


def test_offline_the_test_payment_page_subscribes(
    offline: FakeStripe, member_client: tuple[Client, Any]
) -> None:
    client, user = member_client
    response = client.post(reverse("membership:join"))
    location = response["Location"]
    assert location.startswith("http://127.0.0.1:8000/_fakestripe/checkout/cs_test_")  # SITE_URL
    page_path = urlsplit(location).path
    html = soup(client.get(page_path).content)
    assert html.select_one("h1").get_text(strip=True) == "Pay €4.99 a month"

    declined = client.post(page_path, {"action": "decline"}, follow=True)
    assert any("Card declined: no subscription was created" in m for m in _messages(declined))
    assert not membership_active(user=user)

    response = client.post(page_path, {"action": "pay"})
    assert response.status_code == 303
    assert response["Location"] == "http://testserver" + reverse("membership:welcome")
    assert membership_active(user=user)
    assert Membership.objects.get(user=user).status == MS.ACTIVE


def test_a_member_earns_points_with_the_member_multiplier(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, settings: Any
) -> None:
    from loyalty.models import LedgerEntry
    from orders.tests.factories import ticket_type_on_sale
    from orders.tests.payments_helpers import buy_and_pay

    settings.LOYALTY_POINTS_PER_UNIT = 10
    settings.LOYALTY_MEMBER_MULTIPLIER = 1.5
    tt = ticket_type_on_sale(price="20.00", fee="0.00")
    plain, member = VerifiedUserFactory(), VerifiedUserFactory()
    Membership.objects.create(
        user=member,
        status=MS.ACTIVE,
        stripe_subscription_id="sub_m",
        current_period_end=timezone.now() + timedelta(days=9),
    )
    for user in (plain, member):
        buy_and_pay(fake_stripe, stripe_deliver, tt, 1, buyer=user)
    earned = dict(LedgerEntry.objects.filter(kind="earn").values_list("user_id", "points"))
    assert earned == {plain.pk: 200, member.pk: 300}

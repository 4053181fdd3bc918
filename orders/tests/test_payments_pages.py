"""The pay step on the web: the checkout page's Pay button, Stripe's hosted page (the fake Stripe's
session), the buyer's return ("Payment received, confirming…" until the webhook), errors that keep the
order pending, and the offline test payment page (DEBUG + STRIPE_OFFLINE only) with its three buttons."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import VerifiedUserFactory
from events.models import TicketType
from orders.models import Order, Payment, Ticket
from orders.signing import guest_token_check, guest_token_make
from orders.stripe_fake import FakeStripe
from orders.tests.factories import place_order, ticket_type_on_sale
from orders.tests.htmlquery import Node, soup
from orders.tests.payments_helpers import Deliver, counters, deliver_all, stripe_calls

pytestmark = pytest.mark.django_db
S = Order.Status


def _soup(response: Any) -> Node:
    return soup(response.content)


def _messages(response: Any) -> list[str]:
    return [li.get_text(" ", strip=True) for li in _soup(response).select("#messages li")]


def _pay_url(order: Order) -> str:
    return reverse("orders:pay", kwargs={"code": order.code})


def _checkout_url(order: Order) -> str:
    return reverse("orders:checkout", kwargs={"code": order.code})


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def tt() -> TicketType:
    return ticket_type_on_sale(capacity=10)


@pytest.fixture
def buyer_client() -> tuple[Client, Any]:
    user = VerifiedUserFactory()
    client = Client()
    client.force_login(user)
    return client, user


def _session(fake: FakeStripe, order: Order) -> dict[str, Any]:
    payment = Payment.objects.get(order=order, kind=Payment.Kind.CHECKOUT, status=Payment.Status.OPEN)
    return fake.get(str(payment.stripe_checkout_session_id))


# --- the pay step, end to end -----------------------------------------------------------------------------


def test_pay_goes_to_stripe_and_the_webhook_makes_the_order_paid_with_tickets(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 2, buyer=user)

    checkout = _soup(client.get(_checkout_url(order)))
    button = checkout.select_one(".pay form button")
    assert button.get_text(strip=True) == "Pay €55.00 with card"
    assert "Stripe's secure page" in checkout.select_one("#pay-note").get_text()

    response = client.post(_pay_url(order))

    assert response.status_code == 303
    session = _session(fake_stripe, order)
    assert response["Location"] == session["url"]
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    # Stripe sends the buyer back to the order: paid -> the confirmation, cancelled -> the checkout.
    assert session["success_url"] == f"http://testserver/orders/{order.code}/?paying=1"
    assert session["cancel_url"] == f"http://testserver/orders/{order.code}/checkout/"
    assert session["amount_total"] == 5500

    deliver_all(stripe_deliver, fake_stripe.pay(checkout_session_id=session["id"]))

    order.refresh_from_db()
    assert order.status == S.PAID
    assert counters(tt) == (2, 0)
    page = client.get(_path(session["success_url"]))
    assert page.status_code == 200
    assert _soup(page).select_one("h1").get_text(strip=True).startswith("You're going to")
    assert len(_soup(page).select(".ticket-card svg")) == 2


def test_the_buyer_back_before_the_webhook_sees_confirming_until_the_order_is_paid(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    client.post(_pay_url(order))
    session = _session(fake_stripe, order)
    events = fake_stripe.pay(checkout_session_id=session["id"])  # paid at Stripe, webhook not here yet

    back = client.get(_path(session["success_url"]))
    assert back.status_code == 302
    assert back["Location"] == f"/orders/{order.code}/checkout/?paying=1"
    page = _soup(client.get(back["Location"]))
    status = page.select_one("#payment-confirming")
    assert status is not None
    assert status["role"] == "status"
    assert status.select_one("h2").get_text(strip=True) == "Payment received, confirming…"
    poll = reverse("orders:payment_status", kwargs={"code": order.code})
    assert (status["hx-get"], status["hx-trigger"]) == (poll, "every 2s")
    # Without JavaScript: a link that checks again; nothing to pay or cancel meanwhile.
    assert status.select_one("a")["href"] == f"/orders/{order.code}/checkout/?paying=1"
    assert page.select_one(".pay") is None
    assert page.select_one("#hold-timer") is None

    htmx = {"HX-Request": "true"}
    assert client.get(poll, headers=htmx).status_code == 204  # nothing yet: htmx keeps polling

    deliver_all(stripe_deliver, events)

    answer = client.get(poll, headers=htmx)
    assert answer.status_code == 200
    assert answer["HX-Redirect"] == f"/orders/{order.code}/"
    assert client.get(poll)["Location"] == f"/orders/{order.code}/"  # without htmx: a plain redirect
    assert client.get(back["Location"])["Location"] == f"/orders/{order.code}/"


def test_coming_back_by_the_cancel_link_offers_to_pay_again_with_the_same_session(
    fake_stripe: FakeStripe, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    first = client.post(_pay_url(order))["Location"]
    session = _session(fake_stripe, order)

    page = _soup(client.get(_path(session["cancel_url"])))

    assert page.select_one("#payment-confirming") is None
    assert page.select_one(".pay form button") is not None
    assert client.post(_pay_url(order))["Location"] == first
    assert len(stripe_calls(fake_stripe, "POST", "/v1/checkout/sessions")) == 1


def test_a_declined_card_is_explained_and_the_buyer_may_pay_again(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    client.post(_pay_url(order))
    session = _session(fake_stripe, order)
    deliver_all(stripe_deliver, fake_stripe.decline(checkout_session_id=session["id"]))

    page = _soup(client.get(_checkout_url(order)))

    declined = page.select_one(".pay-declined")
    assert declined is not None
    assert declined["role"] == "alert"
    assert "Your card was declined." in declined.get_text()
    assert page.select_one(".pay form button") is not None
    order.refresh_from_db()
    assert order.status == S.PENDING
    assert counters(tt) == (0, 1)
    assert client.post(_pay_url(order))["Location"] == session["url"]  # the session is still open


def test_the_checkout_page_lets_the_pay_form_lead_to_stripe(tt: TicketType, buyer_client) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    policy = client.get(_checkout_url(order))["Content-Security-Policy"]
    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert form_action.split()[1:] == ["'self'", "https://checkout.stripe.com"]
    event_page = client.get(reverse("events:detail", kwargs={"slug": order.event.slug}))
    assert "checkout.stripe.com" not in event_page["Content-Security-Policy"]


# --- who may pay ------------------------------------------------------------------------------------------


def test_a_guest_pays_through_the_signed_link_and_nobody_else_can(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, tt: TicketType
) -> None:
    order = place_order(tt, 1)  # a guest order
    token = guest_token_make(code=order.code)
    stranger = Client()
    assert stranger.post(_pay_url(order)).status_code == 404
    other = place_order(tt, 1)
    wrong_link = Client()
    assert wrong_link.get(f"{_checkout_url(order)}?t={guest_token_make(code=other.code)}").status_code == 404
    assert wrong_link.post(_pay_url(order)).status_code == 404
    signed_in = Client()
    signed_in.force_login(VerifiedUserFactory())
    assert signed_in.post(_pay_url(order)).status_code == 404
    assert not Payment.objects.filter(order=order).exists()

    guest = Client()
    assert guest.get(f"{_checkout_url(order)}?t={token}").status_code == 200
    response = guest.post(_pay_url(order))

    assert response.status_code == 303
    session = _session(fake_stripe, order)
    # The way back keeps the guest's signed link (another browser, an expired session cookie...).
    success = urlsplit(session["success_url"])
    assert success.path == f"/orders/{order.code}/"
    query = parse_qs(success.query)
    assert guest_token_check(token=query["t"][0], code=order.code)
    assert query["paying"] == ["1"]
    assert guest_token_check(token=parse_qs(urlsplit(session["cancel_url"]).query)["t"][0], code=order.code)
    deliver_all(stripe_deliver, fake_stripe.pay(checkout_session_id=session["id"]))
    page = Client().get(_path(session["success_url"]))  # a fresh browser, with the link only
    assert page.status_code == 200
    assert len(_soup(page).select(".ticket-card")) == 1


# --- errors keep the order ----------------------------------------------------------------------------------


def test_stripe_unreachable_shows_a_message_and_keeps_the_order_and_its_seats(
    tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 2, buyer=user)  # no fake_stripe: every Stripe call fails like a network error

    response = client.post(_pay_url(order), follow=True)

    assert response.redirect_chain == [(_checkout_url(order), 302)]
    assert any(
        "could not reach our payment provider" in m and "nothing was charged" in m
        for m in _messages(response)
    )
    order.refresh_from_db()
    assert order.status == S.PENDING
    assert counters(tt) == (0, 2)
    assert _soup(response).select_one(".pay form button") is not None  # try again


def test_stripe_refusing_shows_a_message_and_a_retry_works(
    fake_stripe: FakeStripe, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    fake_stripe.fail_next("POST", "/v1/checkout/sessions", status=500)

    failed = client.post(_pay_url(order), follow=True)
    retried = client.post(_pay_url(order))

    assert any("could not reach our payment provider" in m for m in _messages(failed))
    assert retried.status_code == 303
    assert retried["Location"] == _session(fake_stripe, order)["url"]


def test_paying_after_the_hold_ended_says_so_and_charges_nothing(
    fake_stripe: FakeStripe, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=5))

    response = client.post(_pay_url(order), follow=True)

    assert any("hold has ended" in m for m in _messages(response))
    assert fake_stripe.requests == []
    assert _soup(response).select_one(".pay") is None


def test_paying_a_paid_order_goes_to_its_tickets(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    client.post(_pay_url(order))
    deliver_all(stripe_deliver, fake_stripe.pay(checkout_session_id=_session(fake_stripe, order)["id"]))
    calls = len(fake_stripe.requests)

    response = client.post(_pay_url(order))

    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.code}/"
    assert len(fake_stripe.requests) == calls


def test_paying_a_cancelled_order_is_refused(
    fake_stripe: FakeStripe, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    client.post(reverse("orders:cancel", kwargs={"code": order.code}))

    response = client.post(_pay_url(order), follow=True)

    assert any("cancelled, so it can no longer be paid" in m for m in _messages(response))
    assert not Payment.objects.filter(order=order).exists()


# --- the offline test payment page (make run) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("debug", "offline", "with_fake"),
    [(False, True, True), (True, False, True), (False, False, True), (True, True, False)],
)
def test_the_offline_page_is_a_404_unless_offline_mode_with_debug_and_the_fake(
    request: pytest.FixtureRequest, tt: TicketType, debug: bool, offline: bool, with_fake: bool
) -> None:
    order = place_order(tt, 1)
    session_id = "cs_test_unknown"
    if with_fake:
        request.getfixturevalue("fake_stripe")
        session_id = _create_session(order)  # a real (fake) session: only the settings stand in the way
    with override_settings(DEBUG=debug, STRIPE_OFFLINE=offline):
        url = reverse("fakestripe:checkout", kwargs={"session_id": session_id})
        assert Client().get(url).status_code == 404
        assert Client().post(url, {"action": "pay"}).status_code == 404
    order.refresh_from_db()
    assert order.status == S.PENDING


def _create_session(order: Order) -> str:
    from orders.services_payments import payment_checkout_start

    payment_checkout_start(
        order=order, success_url="http://testserver/ok/", cancel_url="http://testserver/no/"
    )
    return str(Payment.objects.get(order=order).stripe_checkout_session_id)


@pytest.fixture
def offline(fake_stripe: FakeStripe, settings: Any) -> FakeStripe:
    """Offline mode as ``make run`` has it: DEBUG, STRIPE_OFFLINE, the fake answering every Stripe call."""
    settings.DEBUG = True
    settings.STRIPE_OFFLINE = True
    return fake_stripe


def _to_offline_page(client: Client, order: Order) -> str:
    """Press Pay on the checkout page; returns the offline page's path."""
    response = client.post(_pay_url(order))
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith("http://127.0.0.1:8000/_fakestripe/checkout/cs_test_")  # SITE_URL
    return urlsplit(location).path


def test_offline_pay_confirms_the_order_through_the_webhook(
    offline: FakeStripe, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 2, buyer=user)
    page_path = _to_offline_page(client, order)

    page = client.get(page_path)

    assert page.status_code == 200
    html = _soup(page)
    assert (
        "Test payment page — no real money (offline mode)" in html.select_one(".fakestripe-banner").get_text()
    )
    assert html.select_one("h1").get_text(strip=True) == "Pay €55.00"
    assert order.code in html.get_text()
    buttons = {b["value"]: b.get_text(strip=True) for b in html.select("form button[name=action]")}
    assert buttons == {"pay": "Pay €55.00", "decline": "Decline card", "expire": "Let it expire"}

    response = client.post(page_path, {"action": "pay"})

    assert response.status_code == 303
    assert response["Location"] == f"http://testserver/orders/{order.code}/?paying=1"
    order.refresh_from_db()
    assert order.status == S.PAID
    assert Ticket.objects.filter(order=order, status=Ticket.Status.VALID).count() == 2
    assert counters(tt) == (2, 0)
    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.stripe_payment_intent_id
    confirmation = client.get(_path(response["Location"]))
    assert len(_soup(confirmation).select(".ticket-card")) == 2
    # The session is over: its page says so and offers no button.
    done = _soup(client.get(page_path))
    assert done.select("form button[name=action]") == []
    assert "This session is complete" in done.get_text()


def test_offline_decline_leaves_the_order_pending_and_says_why(
    offline: FakeStripe, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    page_path = _to_offline_page(client, order)

    response = client.post(page_path, {"action": "decline"})

    assert response.status_code == 303
    assert response["Location"] == f"http://testserver/orders/{order.code}/checkout/"
    order.refresh_from_db()
    assert order.status == S.PENDING
    assert Payment.objects.get(order=order).status == Payment.Status.FAILED
    assert counters(tt) == (0, 1)
    checkout = _soup(client.get(_path(response["Location"])))
    assert "Your card was declined." in checkout.select_one(".pay-declined").get_text()
    # The same session can still be paid (Stripe keeps it open after a decline).
    assert client.post(page_path, {"action": "pay"}).status_code == 303
    order.refresh_from_db()
    assert order.status == S.PAID


def test_offline_expiry_cancels_the_payment_and_the_hold_keeps_running(
    offline: FakeStripe, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    page_path = _to_offline_page(client, order)

    response = client.post(page_path, {"action": "expire"})

    assert response["Location"] == f"http://testserver/orders/{order.code}/checkout/"
    order.refresh_from_db()
    assert order.status == S.PENDING
    assert Payment.objects.get(order=order).status == Payment.Status.CANCELLED
    assert counters(tt) == (0, 1)
    # Paying again opens a new session.
    again = client.post(_pay_url(order))
    assert urlsplit(again["Location"]).path != page_path


def test_offline_expiry_after_the_hold_ended_expires_the_order_and_frees_the_seats(
    offline: FakeStripe, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    page_path = _to_offline_page(client, order)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    client.post(page_path, {"action": "expire"})

    order.refresh_from_db()
    assert order.status == S.EXPIRED
    assert counters(tt) == (0, 0)


def test_offline_page_refuses_an_unknown_action_and_an_unknown_session(
    offline: FakeStripe, tt: TicketType, buyer_client: tuple[Client, Any]
) -> None:
    client, user = buyer_client
    order = place_order(tt, 1, buyer=user)
    page_path = _to_offline_page(client, order)

    response = client.post(page_path, {"action": "refund"}, follow=True)

    assert any("Choose Pay, Decline card or Let it expire" in m for m in _messages(response))
    order.refresh_from_db()
    assert order.status == S.PENDING
    missing = reverse("fakestripe:checkout", kwargs={"session_id": "cs_test_nope"})
    assert client.get(missing).status_code == 404

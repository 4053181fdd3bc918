"""The checkout's HTML pages: the quantity form on the event page, creating orders (signed in and
guest), the refusals that write nothing, access by buyer or signed guest link, extending and cancelling."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import VerifiedUserFactory
from events.models import TicketType
from events.tests.factories import EventFactory, TicketTypeFactory
from orders.models import Order
from orders.signing import guest_token_make
from orders.tests.htmlquery import Node, soup

pytestmark = pytest.mark.django_db

START = reverse("orders:checkout_start")


def _soup(response) -> Node:
    return soup(response.content)


def _messages(response) -> list[str]:
    return [li.get_text(" ", strip=True) for li in _soup(response).select("#messages li")]


@pytest.fixture
def event():
    event = EventFactory()
    return event


@pytest.fixture
def paid_type(event) -> TicketType:
    return TicketTypeFactory(event=event, name="Standing", capacity=50, max_per_order=4)


@pytest.fixture
def free_type(event) -> TicketType:
    return TicketTypeFactory(
        event=event, name="Guest list", price=Decimal("0"), fee=Decimal("0"), capacity=10
    )


def _post(client, event, quantities: dict[TicketType, int], **extra):
    data = {"event": event.slug, **{f"qty_{tt.pk}": n for tt, n in quantities.items()}, **extra}
    return client.post(START, data)


def test_event_page_shows_quantity_select_for_buyable_types_only(client, event, paid_type):
    few = TicketTypeFactory(event=event, name="Balcony", capacity=5, max_per_order=10)
    TicketType.objects.filter(pk=few.pk).update(sold=2)
    sold_out = TicketTypeFactory(event=event, name="VIP", capacity=5)
    TicketType.objects.filter(pk=sold_out.pk).update(sold=5)
    later = TicketTypeFactory(event=event, name="Late bird", sales_start=timezone.now() + timedelta(days=2))

    soup = _soup(client.get(reverse("events:detail", kwargs={"slug": event.slug})))
    form = soup.select_one("form.buy-form")
    assert form is not None
    assert form["action"] == START
    selects = {select["name"]: select for select in form.select("select")}
    assert set(selects) == {f"qty_{paid_type.pk}", f"qty_{few.pk}"}
    assert f"qty_{sold_out.pk}" not in selects
    assert f"qty_{later.pk}" not in selects
    # 0..min(max per order, seats left)
    assert [o["value"] for o in selects[f"qty_{paid_type.pk}"].select("option")] == ["0", "1", "2", "3", "4"]
    assert [o["value"] for o in selects[f"qty_{few.pk}"].select("option")] == ["0", "1", "2", "3"]
    for select in selects.values():  # every control labelled
        assert form.select_one(f'label[for="{select["id"]}"]') is not None
    assert form.select_one('input[type="email"][name="email"][required]') is not None  # guest


def test_event_page_without_buyable_types_has_no_form(client, event, paid_type):
    TicketType.objects.filter(pk=paid_type.pk).update(sold=paid_type.capacity)
    soup = _soup(client.get(reverse("events:detail", kwargs={"slug": event.slug})))
    assert soup.select_one("form.buy-form") is None


def test_signed_in_post_creates_order_and_holds_seats(client, event, paid_type):
    user = VerifiedUserFactory()
    client.force_login(user)
    soup = _soup(client.get(reverse("events:detail", kwargs={"slug": event.slug})))
    assert soup.select_one('form.buy-form input[name="email"]') is None  # the account's email is used

    response = _post(client, event, {paid_type: 2})

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:checkout", kwargs={"code": order.code})
    assert order.buyer == user
    assert order.email == user.email
    assert order.status == Order.Status.PENDING
    paid_type.refresh_from_db()
    assert paid_type.held == 2
    assert paid_type.sold == 0

    page = client.get(response["Location"])
    assert page.status_code == 200
    soup = _soup(page)
    assert soup.select_one("#hold-timer") is not None
    assert soup.select_one("#hold")["data-remaining"].isdigit()
    assert "Pay €55.00 with card" in soup.select_one(".pay button").get_text()
    assert not soup.select_one(".pay button").has_attr("disabled")


def test_guest_checkout_with_email(client, event, paid_type):
    response = _post(client, event, {paid_type: 1}, email="guest@example.com")

    order = Order.objects.get()
    assert order.buyer is None
    assert order.email == "guest@example.com"
    assert response["Location"].startswith(reverse("orders:checkout", kwargs={"code": order.code}) + "?t=")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "guest@example.com" in page.content.decode()


def test_guest_without_email_gets_message_and_nothing_written(client, event, paid_type):
    response = _post(client, event, {paid_type: 1}, email="")
    assert response.status_code == 302
    assert response["Location"] == reverse("events:detail", kwargs={"slug": event.slug})
    assert Order.objects.count() == 0
    assert any("email" in m.lower() for m in _messages(client.get(response["Location"])))


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(0, "Choose how many tickets"), (5, "Select a valid choice"), ("abc", "Select a valid choice")],
)
def test_invalid_quantities_show_message_and_create_nothing(client, event, paid_type, quantity, expected):
    client.force_login(VerifiedUserFactory())
    response = _post(client, event, {paid_type: quantity})
    assert response["Location"] == reverse("events:detail", kwargs={"slug": event.slug})
    assert Order.objects.count() == 0
    paid_type.refresh_from_db()
    assert paid_type.held == 0
    assert any(expected in m for m in _messages(client.get(response["Location"])))


def test_sold_out_shows_how_many_are_left_and_creates_nothing(client, event, paid_type):
    client.force_login(VerifiedUserFactory())
    TicketType.objects.filter(pk=paid_type.pk).update(sold=paid_type.capacity - 1)
    response = _post(client, event, {paid_type: 3})
    assert Order.objects.count() == 0
    paid_type.refresh_from_db()
    assert paid_type.held == 0
    messages = _messages(client.get(response["Location"]))
    assert any("left" in m.lower() and "1" in m for m in messages), messages


def test_sales_closed_shows_message(client, event, paid_type):
    client.force_login(VerifiedUserFactory())
    TicketType.objects.filter(pk=paid_type.pk).update(sales_end=timezone.now() - timedelta(minutes=1))
    response = _post(client, event, {paid_type: 1})
    assert Order.objects.count() == 0
    assert _messages(client.get(response["Location"]))


def test_free_order_goes_straight_to_confirmation(client, event, free_type):
    response = _post(client, event, {free_type: 2}, email="fan@example.com")
    order = Order.objects.get()
    assert order.status == Order.Status.PAID
    assert order.tickets.count() == 2
    assert response["Location"].startswith(reverse("orders:confirmation", kwargs={"code": order.code}))
    # The checkout page of a paid order forwards to the confirmation.
    checkout = client.get(reverse("orders:checkout", kwargs={"code": order.code}))
    assert checkout.status_code == 302


def _guest_order(client, event, ticket_type, quantity=1) -> Order:
    _post(client, event, {ticket_type: quantity}, email="guest@example.com")
    return Order.objects.get()


def test_signed_guest_link_works_in_a_fresh_browser_and_is_remembered(client, event, free_type):
    from django.test import Client

    order = _guest_order(client, event, free_type)
    url = reverse("orders:confirmation", kwargs={"code": order.code})
    fresh = Client()
    assert fresh.get(url).status_code == 404  # no token
    assert fresh.get(url, {"t": "nonsense"}).status_code == 404
    assert fresh.get(url, {"t": guest_token_make(code="OTHERCODE1")}).status_code == 404
    assert fresh.get(url, {"t": guest_token_make(code=order.code)}).status_code == 200
    # Remembered in the session: the site's own links work without the token.
    assert fresh.get(url).status_code == 200
    assert fresh.get(reverse("orders:calendar", kwargs={"code": order.code})).status_code == 200


def test_other_signed_in_user_gets_404(client, event, paid_type):
    client.force_login(VerifiedUserFactory())
    _post(client, event, {paid_type: 1})
    order = Order.objects.get()
    client.force_login(VerifiedUserFactory())
    for name in ("orders:checkout", "orders:confirmation", "orders:calendar"):
        assert client.get(reverse(name, kwargs={"code": order.code})).status_code == 404
    assert client.post(reverse("orders:cancel", kwargs={"code": order.code})).status_code == 404
    assert client.get(reverse("orders:checkout", kwargs={"code": "NOSUCHCODE"})).status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_extend_hold_once_then_refused(client, event, paid_type):
    client.force_login(VerifiedUserFactory())
    _post(client, event, {paid_type: 1})
    order = Order.objects.get()
    before = order.expires_at
    url = reverse("orders:extend", kwargs={"code": order.code})

    first = client.post(url, follow=True)
    order.refresh_from_db()
    assert order.hold_extended
    assert order.expires_at > before
    soup = _soup(first)
    assert soup.select_one("form.hold-extend") is None  # the button is gone once used
    assert any("held until" in m for m in _messages(first))

    second = client.post(url, follow=True)
    after = order.expires_at
    order.refresh_from_db()
    assert order.expires_at == after
    assert any("already extended" in m for m in _messages(second))


def test_warning_is_visible_without_js_when_less_than_two_minutes_left(client, event, paid_type):
    client.force_login(VerifiedUserFactory())
    _post(client, event, {paid_type: 1})
    order = Order.objects.get()
    url = reverse("orders:checkout", kwargs={"code": order.code})
    assert _soup(client.get(url)).select_one("#hold-warning").has_attr("hidden")
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() + timedelta(seconds=90))
    soup = _soup(client.get(url))
    assert not soup.select_one("#hold-warning").has_attr("hidden")
    assert soup.select_one("form.hold-extend button") is not None
    assert soup.select_one("#hold-timer").get_text() in {"1:30", "1:29", "1:28"}


def test_cancel_releases_seats(client, event, paid_type):
    client.force_login(VerifiedUserFactory())
    _post(client, event, {paid_type: 3})
    order = Order.objects.get()
    paid_type.refresh_from_db()
    assert paid_type.held == 3

    response = client.post(reverse("orders:cancel", kwargs={"code": order.code}))
    assert response["Location"] == reverse("events:detail", kwargs={"slug": event.slug})
    order.refresh_from_db()
    paid_type.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert paid_type.held == 0
    # The checkout page of a cancelled order says so and offers nothing to pay.
    soup = _soup(client.get(reverse("orders:checkout", kwargs={"code": order.code})))
    assert "cancelled" in soup.select_one("#hold-title").get_text().lower()
    assert soup.select_one(".pay") is None


def test_pay_without_stripe_reachable_leaves_the_order_pending(client, event, paid_type):
    # Tests reach no Stripe unless they ask for the fake (orders/tests/test_payments_pages.py pays).
    client.force_login(VerifiedUserFactory())
    _post(client, event, {paid_type: 1})
    order = Order.objects.get()
    response = client.post(reverse("orders:pay", kwargs={"code": order.code}), follow=True)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert any("could not reach our payment provider" in m for m in _messages(response))

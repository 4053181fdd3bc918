"""Helpers of the payment tests (orders/tests/test_payments_*.py): a buyer paying through the fake Stripe,
with the events delivered signed to the real dj-stripe webhook URL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from io import StringIO
from typing import Any

from django.core.management import call_command

from events.models import TicketType
from orders.models import Order, Payment
from orders.services_payments import payment_checkout_start
from orders.stripe_fake import FakeStripe
from orders.tests.factories import place_order

Deliver = Callable[..., Any]
SUCCESS_URL = "https://testserver/orders/done/"
CANCEL_URL = "https://testserver/orders/cancelled/"


def deliver_all(deliver: Deliver, events: list[dict[str, Any]]) -> None:
    """Post each event to the webhook; every one must be accepted (200)."""
    for event in events:
        response = deliver(event)
        assert response.status_code == 200, (event["type"], response.status_code, response.content[:300])


def start_checkout(order: Order, *, now: datetime | None = None) -> Payment:
    """The buyer clicks "Pay": a Checkout Session exists; returns its Payment row."""
    url = payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL, now=now)
    payment = Payment.objects.get(order=order, status=Payment.Status.OPEN, kind=Payment.Kind.CHECKOUT)
    assert payment.stripe_checkout_session_id
    assert payment.stripe_checkout_session_id in url
    return payment


def buy_and_pay(
    fake: FakeStripe, deliver: Deliver, ticket_type: TicketType, quantity: int = 1, **kwargs: Any
) -> Order:
    """An order for ``quantity`` tickets, paid by card, confirmed by the webhooks."""
    order = place_order(ticket_type, quantity, **kwargs)
    payment = start_checkout(order)
    deliver_all(deliver, fake.pay(checkout_session_id=payment.stripe_checkout_session_id))
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def counters(ticket_type: TicketType) -> tuple[int, int]:
    ticket_type.refresh_from_db()
    return ticket_type.sold, ticket_type.held


def audit_clean() -> bool:
    out = StringIO()
    call_command("inventory_audit", stdout=out)  # raises CommandError on drift
    return "No drift in" in out.getvalue()


def stripe_calls(fake: FakeStripe, method: str, prefix: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The requests our code (and dj-stripe) sent to the fake, filtered."""
    return [r for r in fake.requests if r[0] == method and r[1].startswith(prefix)]

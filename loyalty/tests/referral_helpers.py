"""Helpers of the referral tests: referred users, first orders paid (by a test provider, or by card through
the fake Stripe with a chosen card fingerprint and billing address), the ``security`` log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from accounts.tests.factories import VerifiedUserFactory
from events.models import TicketType
from loyalty.models import LedgerEntry, Referral
from loyalty.services import account_ensure
from loyalty.services_referrals import referral_link
from orders.models import Order, Payment
from orders.services import order_mark_paid
from orders.stripe_fake import FakeStripe
from orders.tests.factories import place_order
from orders.tests.payments_helpers import deliver_all, start_checkout

SecurityLog = Callable[[], list[dict[str, Any]]]
Deliver = Callable[..., Any]


def security_log(caplog: pytest.LogCaptureFixture) -> SecurityLog:
    """The structlog event dicts logged on the ``security`` logger so far."""
    caplog.set_level(logging.INFO, logger="security")

    def events() -> list[dict[str, Any]]:
        return [r.msg for r in caplog.records if r.name == "security" and isinstance(r.msg, dict)]

    return events


def code_of(user: User) -> str:
    return account_ensure(user=user).referral_code


def referred(referrer: User, **kwargs: Any) -> tuple[User, Referral]:
    """A new account that signed up through ``referrer``'s link."""
    referee = VerifiedUserFactory(**kwargs)
    referral = referral_link(referee=referee, code=code_of(referrer))
    assert referral is not None
    return referee, referral


def paid_with_card_row(buyer: User, ticket_type: TicketType, quantity: int = 1) -> Order:
    """A paid order (test provider: no Stripe charge to wait for) with a succeeded card Payment row, so that
    ``order_refund`` can refund it."""
    order = place_order(ticket_type, quantity, buyer=buyer)
    Payment.objects.create(
        order=order,
        kind=Payment.Kind.CHECKOUT,
        status=Payment.Status.SUCCEEDED,
        amount=order.total,
        currency=order.currency,
        idempotency_key=f"test:{order.code}",
    )
    return order_mark_paid(order=order, provider="test", reference=f"test:{order.code}")


def pay_by_card(
    fake: FakeStripe,
    deliver: Deliver,
    order: Order,
    *,
    fingerprint: str,
    address: dict[str, str] | None = None,
    with_charge: bool = True,
) -> list[dict[str, Any]]:
    """The buyer pays ``order`` through Stripe Checkout with a card of ``fingerprint`` (and billing
    ``address``); the webhooks are delivered signed (``charge.succeeded`` only ``with_charge``). Returns the
    events not delivered."""
    payment = start_checkout(order)
    events = fake.pay(checkout_session_id=payment.stripe_checkout_session_id)
    (charge_event,) = [e for e in events if e["type"] == "charge.succeeded"]
    charge = fake.objects[charge_event["data"]["object"]["id"]]  # the stored objects, not copies
    method = fake.objects[charge["payment_method"]]
    # What Stripe reports for a real card (the fake gives every card one fingerprint and no address).
    method["card"]["fingerprint"] = fingerprint
    charge["payment_method_details"]["card"]["fingerprint"] = fingerprint
    if address is not None:
        billing = {
            **method["billing_details"],
            "address": {**method["billing_details"]["address"], **address},
        }
        method["billing_details"] = billing
        charge["billing_details"] = billing
    held = [] if with_charge else [charge_event]
    deliver_all(deliver, [e for e in events if e not in held])
    return held


def referral_points(user: User) -> list[int]:
    return list(
        LedgerEntry.objects.filter(
            user=user, kind__in=["referral", "reverse"], source__startswith="referral:"
        )
        .order_by("id")
        .values_list("points", flat=True)
    )

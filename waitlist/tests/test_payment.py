"""An offer is paid through the normal checkout: our pay page, Stripe's Checkout Session (the in-process
fake) and its signed webhook to the real dj-stripe URL. Paying accepts the offer; a refund later frees the
seats for the next person in line."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import VerifiedUserFactory
from orders.models import Order, Payment
from orders.services import order_cancel
from orders.services_payments import order_refund
from orders.signing import guest_token_make
from orders.stripe_fake import FakeStripe
from orders.tests.payments_helpers import Deliver, deliver_all
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.services import entry_join, entry_verify
from waitlist.signing import VERIFY, entry_token_make
from waitlist.tests.factories import audit_clean, counters, join, live_offer, sold_out, state

pytestmark = pytest.mark.django_db
E = WaitlistEntry.Status
O = WaitlistOffer.Status  # noqa: E741


def pay_through_checkout(
    client: Client, order: Order, fake: FakeStripe, deliver: Deliver, *, query: str = ""
) -> None:
    """The entrant opens the order's checkout page (the offer's link), clicks Pay, pays on Stripe."""
    checkout = client.get(reverse("orders:checkout", kwargs={"code": order.code}) + query)
    assert checkout.status_code == 200
    response = client.post(reverse("orders:pay", kwargs={"code": order.code}))
    assert response.status_code == 303
    payment = Payment.objects.get(order=order, kind=Payment.Kind.CHECKOUT, status=Payment.Status.OPEN)
    assert response["Location"] == fake.get(str(payment.stripe_checkout_session_id))["url"]
    deliver_all(deliver, fake.pay(checkout_session_id=payment.stripe_checkout_session_id))


def test_a_signed_in_entrant_pays_the_offer_through_stripe_and_it_is_accepted(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    tt, (order,) = sold_out(2)
    user = VerifiedUserFactory()
    entry = join(tt, 2, user=user)
    behind = join(tt, 1)
    order_cancel(order=order, actor=None)
    offer = live_offer(entry)
    client = Client()
    client.force_login(user)

    pay_through_checkout(client, offer.order, fake_stripe, stripe_deliver)

    offer.refresh_from_db()
    assert (offer.status, offer.order.status) == (O.ACCEPTED, Order.Status.PAID)
    assert state(entry) == (E.ACCEPTED, None)
    assert offer.order.tickets.count() == 2
    assert counters(tt) == (2, 0, 0)
    assert state(behind) == (E.WAITING, 1)
    assert audit_clean()

    # A refund of one of those tickets frees a seat: it goes to the next in line, not to the public.
    ticket = offer.order.tickets.first()
    order_refund(order=offer.order, actor=None, tickets=[ticket])
    assert live_offer(behind) is not None
    assert counters(tt) == (1, 1, 0)
    assert audit_clean()


def test_a_guest_pays_the_offer_by_the_signed_link(fake_stripe: FakeStripe, stripe_deliver: Deliver) -> None:
    tt, (order,) = sold_out(1)
    guest = entry_join(ticket_type=tt, quantity=1, user=None, email="fan@example.com")
    entry_verify(token=entry_token_make(entry=guest, purpose=VERIFY))
    order_cancel(order=order, actor=None)
    offer = live_offer(guest)
    assert (offer.order.buyer_id, offer.order.email) == (None, "fan@example.com")

    link = f"?t={guest_token_make(code=offer.order.code)}"
    pay_through_checkout(Client(), offer.order, fake_stripe, stripe_deliver, query=link)

    offer.refresh_from_db()
    assert offer.status == O.ACCEPTED
    assert state(guest)[0] == E.ACCEPTED
    assert audit_clean()


def test_cancelling_the_offer_on_the_checkout_page_declines_it(client: Any) -> None:
    tt, (order,) = sold_out(1)
    user = VerifiedUserFactory()
    entry = join(tt, user=user)
    behind = join(tt)
    order_cancel(order=order, actor=None)
    offer = live_offer(entry)
    client.force_login(user)
    response = client.post(reverse("orders:cancel", kwargs={"code": offer.order.code}))
    assert response.status_code == 302
    offer.refresh_from_db()
    assert (offer.status, state(entry)[0]) == (O.DECLINED, E.DECLINED)
    assert live_offer(behind) is not None

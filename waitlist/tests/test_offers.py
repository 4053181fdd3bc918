"""Freed seats go to the people in line, in order, before the public sees them (DESIGN.md 2.5 and 7)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from events.models import TicketType
from orders.exceptions import SoldOut
from orders.models import Order, Payment
from orders.services import order_cancel, order_expire, order_mark_paid, orders_expire_due
from orders.services_payments import order_refund
from orders.tests.factories import place_order, ticket_type_on_sale
from waitlist.exceptions import WaitlistOfferNotLive
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.services import entry_leave, offer_decline, waitlist_sweep
from waitlist.signals import offer_created, offer_lapsed
from waitlist.tests.factories import audit_clean, counters, join, live_offer, paid_order, sold_out, state

pytestmark = pytest.mark.django_db
E = WaitlistEntry.Status
O = WaitlistOffer.Status  # noqa: E741
S = Order.Status


@pytest.fixture
def announced() -> Any:
    sent: list[tuple[str, WaitlistOffer]] = []

    def created(sender: object, offer: WaitlistOffer, **kwargs: Any) -> None:
        sent.append(("created", offer))

    def lapsed(sender: object, offer: WaitlistOffer, **kwargs: Any) -> None:
        sent.append(("lapsed", offer))

    offer_created.connect(created, dispatch_uid="test.created")
    offer_lapsed.connect(lapsed, dispatch_uid="test.lapsed")
    yield sent
    offer_created.disconnect(dispatch_uid="test.created")
    offer_lapsed.disconnect(dispatch_uid="test.lapsed")


def test_a_refund_of_three_seats_offers_them_to_the_first_entries_that_fit_in_order(
    announced: list[Any],
) -> None:
    tt = ticket_type_on_sale(capacity=4, max_per_order=4)
    paid = paid_order(tt, 3)
    paid_order(tt, 1)
    a, b, c, d = join(tt, 2), join(tt, 2), join(tt, 1), join(tt, 1)
    Payment.objects.create(
        order=paid,
        kind=Payment.Kind.INTENT,
        status=Payment.Status.SUCCEEDED,
        amount=paid.total,
        currency="EUR",
        idempotency_key=f"test:{paid.pk}",
        stripe_payment_intent_id=paid.payment_reference,
    )
    order_refund(order=paid, actor=None)

    # A (2) fits, 1 left; B (2) does not and keeps its place; C (1) gets the last seat; D waits.
    assert [state(e) for e in (a, b, c, d)] == [
        (E.OFFERED, None),
        (E.WAITING, 1),
        (E.OFFERED, None),
        (E.WAITING, 2),
    ]
    offers = [live_offer(a), live_offer(c)]
    assert [o.quantity for o in offers] == [2, 1]
    assert [kind for kind, _ in announced] == ["created", "created"]
    assert [o.entry_id for _, o in announced] == [a.pk, c.pk]
    for offer, entry in zip(offers, (a, c), strict=True):
        order = offer.order
        assert (order.status, order.buyer_id, order.email) == (S.PENDING, entry.user_id, entry.email)
        assert order.lines.get().quantity == entry.quantity
        assert order.expires_at == offer.expires_at
        assert timedelta(minutes=29) < order.expires_at - timezone.now() <= timedelta(minutes=30)
    # The public finds nothing: every freed seat is held by an offer.
    assert counters(tt) == (1, 3, 0)
    with pytest.raises(SoldOut):
        place_order(tt, 1)
    assert audit_clean()


def test_an_offer_that_lapses_goes_to_the_next_entry_and_so_on(announced: list[Any]) -> None:
    tt, (_order,) = sold_out(2)
    a, b, c = join(tt, 2), join(tt, 2), join(tt, 1)
    clock = timezone.now() + timedelta(minutes=16)
    orders_expire_due(now=clock)  # the public hold lapses: A is offered the 2 seats
    offer_a = live_offer(a)
    assert offer_a is not None
    assert state(b) == (E.WAITING, 1)

    clock += timedelta(minutes=31)
    orders_expire_due(now=clock)  # A did not pay: B gets them
    offer_a.refresh_from_db()
    assert (offer_a.status, offer_a.order.status, state(a)) == (O.LAPSED, S.EXPIRED, (E.LAPSED, None))
    assert live_offer(b) is not None
    assert state(c) == (E.WAITING, 1)

    clock += timedelta(minutes=31)
    waitlist_sweep(now=clock)  # the waitlist's own sweep lapses offers too: C wants 1, so 1 is offered ...
    assert live_offer(c) is not None
    assert live_offer(c).quantity == 1
    # ... and the other seat fits nobody waiting any more: back on public sale.
    assert counters(tt) == (0, 1, 0)
    assert [kind for kind, _ in announced] == ["created", "created", "lapsed", "created", "lapsed"]
    assert live_offer(a) is None  # a lapsed entry is never offered again
    assert place_order(tt, 1).status == S.PENDING
    assert audit_clean()


def test_seats_that_fit_nobody_yet_are_withheld_from_the_public_until_they_do() -> None:
    tt, (first, second, third) = sold_out(1, 1, 1)
    a = join(tt, 2)
    order_cancel(order=first, actor=None)
    # Wants 2, 1 freed: the seat is withheld (held by no order), the public cannot buy it.
    assert state(a) == (E.WAITING, 1)
    assert counters(tt) == (0, 3, 1)
    with pytest.raises(SoldOut):
        place_order(tt, 1)
    assert audit_clean()
    b = join(tt, 1)  # a newcomer who fits gets the withheld seat at once
    assert live_offer(b).quantity == 1
    assert counters(tt) == (0, 3, 0)
    order_expire(order=second, now=timezone.now() + timedelta(minutes=16))
    order_cancel(order=third, actor=None)
    # Together the two freed seats fit A.
    assert live_offer(a).quantity == 2
    assert counters(tt) == (0, 3, 0)
    assert audit_clean()


def test_withheld_seats_go_back_on_sale_when_nobody_waits_any_more() -> None:
    tt, (first, _) = sold_out(1, 1)
    a = join(tt, 2)
    order_cancel(order=first, actor=None)
    assert counters(tt)[2] == 1
    entry_leave(entry=a, actor=a.user)
    assert counters(tt) == (0, 1, 0)
    assert place_order(tt, 1).status == S.PENDING
    assert audit_clean()


def test_declining_passes_the_seats_on_and_cannot_be_done_twice() -> None:
    tt, (order,) = sold_out(1)
    a, b = join(tt), join(tt)
    order_cancel(order=order, actor=None)
    offer = live_offer(a)
    declined = offer_decline(offer=offer, actor=a.user)
    assert (declined.status, state(a)) == (O.DECLINED, (E.DECLINED, None))
    assert declined.order.status == S.CANCELLED
    assert live_offer(b) is not None
    with pytest.raises(WaitlistOfferNotLive):
        offer_decline(offer=declined, actor=a.user)
    # Leaving with a live offer declines it too: the seat goes back on sale (nobody else waits).
    entry_leave(entry=b, actor=b.user)
    assert state(b) == (E.DECLINED, None)
    assert counters(tt) == (0, 0, 0)
    assert audit_clean()


def test_paying_the_offers_order_accepts_it() -> None:
    tt, (order,) = sold_out(2)
    a = join(tt, 2)
    order_cancel(order=order, actor=None)
    offer = live_offer(a)
    order_mark_paid(order=offer.order, provider="card", reference="pi_test_offer")
    offer.refresh_from_db()
    assert (offer.status, offer.decided_at is not None, state(a)) == (O.ACCEPTED, True, (E.ACCEPTED, None))
    assert offer.order.tickets.count() == 2
    assert counters(tt) == (2, 0, 0)
    assert audit_clean()


def test_a_late_payment_on_a_lapsed_offer_still_counts_as_accepted() -> None:
    tt, (order,) = sold_out(1, max_per_order=2)
    tt.capacity = 2
    tt.save(update_fields=["capacity"])
    paid_order(tt, 1)
    a = join(tt)
    order_cancel(order=order, actor=None)
    offer = live_offer(a)
    order_expire(order=offer.order, now=offer.expires_at + timedelta(seconds=1))  # nobody waits: public
    order_mark_paid(order=offer.order, provider="card", reference="pi_late")  # the seat is still free
    offer.refresh_from_db()
    assert (offer.status, offer.order.status, state(a)[0]) == (O.ACCEPTED, S.PAID, E.ACCEPTED)
    assert audit_clean()


def test_the_sweep_offers_seats_added_later_and_is_idempotent() -> None:
    tt, _ = sold_out(1)
    a, b = join(tt, 1), join(tt, 3)
    TicketType.objects.filter(pk=tt.pk).update(capacity=3)  # staff add two seats
    assert waitlist_sweep() == 1
    assert live_offer(a) is not None
    assert counters(tt) == (0, 3, 1)  # B (3) waits: the extra seat is withheld
    assert waitlist_sweep() == 0
    assert WaitlistOffer.objects.count() == 1
    assert state(b) == (E.WAITING, 1)
    assert audit_clean()


@override_settings(WAITLIST_OFFER_MINUTES=5)
def test_the_offer_hold_length_is_a_setting() -> None:
    tt, (order,) = sold_out(1)
    a = join(tt)
    now = timezone.now()
    with time_machine.travel(now, tick=False):  # the release's receiver reads the clock
        order_cancel(order=order, actor=None)
    assert live_offer(a).expires_at == now + timedelta(minutes=5)


def test_the_audit_counts_withheld_seats_and_catches_a_wrong_count() -> None:
    tt, (first, _) = sold_out(1, 1)
    join(tt, 2)
    order_cancel(order=first, actor=None)
    assert audit_clean()
    TicketType.objects.filter(pk=tt.pk).update(withheld=0)  # withheld seats nobody accounts for
    with pytest.raises(CommandError):
        call_command("inventory_audit", stdout=StringIO())


def test_no_offers_once_the_event_has_started_and_withheld_seats_are_let_go() -> None:
    tt, (first, second) = sold_out(1, 1)
    a = join(tt, 2)
    order_cancel(order=first, actor=None)
    assert counters(tt)[2] == 1
    later = tt.event.starts_at + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        order_expire(order=second)
    assert state(a) == (E.WAITING, 1)
    assert live_offer(a) is None
    assert counters(tt) == (0, 0, 0)
    assert audit_clean()

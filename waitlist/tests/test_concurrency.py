"""Real threads, real PostgreSQL transactions: releases, beat sweeps, public buyers and joins racing.

Each freed seat must be offered exactly once, to one entry, with no entry holding two offers, and never
sold to the public while someone who fits waits; the counters must equal the rows afterwards.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db.models import Sum
from django.utils import timezone

from accounts.tests.factories import UserFactory
from events.models import TicketType
from grasshopper.testing import run_threads
from orders.exceptions import SoldOut
from orders.models import Order
from orders.services import order_cancel, orders_expire_due
from orders.tests.factories import place_order
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.selectors import entry_rank
from waitlist.services import entry_join, waitlist_sweep
from waitlist.tests.factories import audit_clean, counters, join, sold_out

pytestmark = pytest.mark.django_db(transaction=True)
E = WaitlistEntry.Status
O = WaitlistOffer.Status  # noqa: E741


def sweep_repeatedly(times: int = 5) -> int:
    return sum(waitlist_sweep() for _ in range(times))


def offers_per_entry() -> Counter[int]:
    return Counter(WaitlistOffer.objects.values_list("entry_id", flat=True))


def live_seats(tt: TicketType) -> int:
    return WaitlistOffer.objects.filter(ticket_type=tt, status=O.LIVE).aggregate(n=Sum("quantity"))["n"] or 0


def test_concurrent_releases_and_sweeps_offer_every_seat_exactly_once() -> None:
    tt, orders = sold_out(*[1] * 12)
    entries = [join(tt, 1) for _ in range(20)]
    TicketType.objects.filter(pk=tt.pk).update(capacity=18)  # staff add 6 seats: the sweeps race for them

    def work(i: int) -> Any:
        if i < len(orders):
            return order_cancel(order=orders[i], actor=None)
        return sweep_repeatedly()

    results = run_threads(len(orders) + 6, work)
    assert not [r for r in results if isinstance(r, Exception)], results

    per_entry = offers_per_entry()
    assert max(per_entry.values()) == 1  # nobody got two offers
    assert sum(per_entry.values()) == 18  # each of the 18 free seats offered once
    assert live_seats(tt) == 18
    # The first 18 in line were offered, in order; the last 2 wait, first and second.
    assert [e.pk for e in entries[:18]] == sorted(per_entry)
    assert [entry_rank(entry=e) for e in entries[18:]] == [1, 2]
    assert counters(tt) == (0, 18, 0)
    assert audit_clean()


def test_public_buyers_never_get_seats_freed_while_people_wait() -> None:
    tt, orders = sold_out(*[1] * 10)
    entries = [join(tt, 1) for _ in range(10)]

    def work(i: int) -> Any:
        if i < 10:
            return order_cancel(order=orders[i], actor=None)
        return place_order(tt, 1)

    results = run_threads(30, work)
    buyers = results[10:]
    assert all(isinstance(r, SoldOut) for r in buyers), [r for r in buyers if not isinstance(r, SoldOut)]
    assert not [r for r in results[:10] if isinstance(r, Exception)], results[:10]
    assert sorted(offers_per_entry()) == [e.pk for e in entries]
    assert Order.objects.filter(status=Order.Status.PENDING).count() == 10  # exactly the offers
    assert counters(tt) == (0, 10, 0)
    assert audit_clean()


def test_offers_lapsing_under_concurrent_sweeps_pass_on_exactly_once() -> None:
    tt, orders = sold_out(*[1] * 5)
    entries = [join(tt, 1) for _ in range(15)]
    for order in orders:
        order_cancel(order=order, actor=None)
    assert len(offers_per_entry()) == 5
    later = timezone.now() + timedelta(minutes=31)

    def work(i: int) -> Any:
        return orders_expire_due(now=later) if i % 2 else waitlist_sweep(now=later)

    with time_machine.travel(later, tick=False):
        results = run_threads(8, work)
    assert not [r for r in results if isinstance(r, Exception)], results

    per_entry = offers_per_entry()
    assert max(per_entry.values()) == 1
    assert sorted(per_entry) == [e.pk for e in entries[:10]]
    statuses = Counter(WaitlistOffer.objects.values_list("status", flat=True))
    assert statuses == {O.LAPSED: 5, O.LIVE: 5}
    assert [entry_rank(entry=e) for e in entries[10:]] == [1, 2, 3, 4, 5]
    assert counters(tt) == (0, 5, 0)
    assert audit_clean()


def test_concurrent_joins_get_distinct_places_in_line() -> None:
    tt, _ = sold_out(1)
    users = [UserFactory() for _ in range(16)]
    results = run_threads(16, lambda i: entry_join(ticket_type=tt, quantity=1, user=users[i]))
    assert all(isinstance(r, WaitlistEntry) for r in results), results
    assert sorted(entry_rank(entry=r) for r in results) == list(range(1, 17))
    positions = [r.position for r in results]
    assert len(set(positions)) == 16


def test_the_same_person_joining_twice_at_once_gets_one_entry() -> None:
    tt, _ = sold_out(1)
    user = UserFactory()
    results = run_threads(6, lambda i: entry_join(ticket_type=tt, quantity=1, user=user))
    joined = [r for r in results if isinstance(r, WaitlistEntry)]
    assert len(joined) == 1
    assert all(getattr(r, "code", "") == "waitlist_already_joined" for r in results if r not in joined)
    assert WaitlistEntry.objects.filter(user=user).count() == 1

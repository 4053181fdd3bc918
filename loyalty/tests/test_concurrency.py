"""Racing point movements on real PostgreSQL (threads, one connection each): the same points are never
spent twice, and a give-back racing a redemption leaves the ledger consistent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from grasshopper.testing import run_threads
from loyalty import services
from loyalty.exceptions import PointsOverLimit
from loyalty.models import LedgerEntry
from loyalty.selectors import ledger_audit
from loyalty.tests.factories import balance, buyer_with_points, priced_ticket_type
from orders.models import Order
from orders.services import order_expire
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_redemptions_of_the_same_points_only_one_succeeds():
    buyer = buyer_with_points(1000)
    tt = priced_ticket_type("40.00", capacity=20)
    orders = [place_order(tt, 1, buyer=buyer) for _ in range(4)]

    results = run_threads(
        len(orders), lambda i: services.points_redeem(user=buyer, order=orders[i], points=1000)
    )

    won = [r for r in results if isinstance(r, Order)]
    lost = [r for r in results if isinstance(r, PointsOverLimit)]
    assert (len(won), len(lost)) == (1, 3), results
    assert balance(buyer) == 0
    totals = sorted(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("total", flat=True))
    assert totals == [Decimal("30.00"), Decimal("40.00"), Decimal("40.00"), Decimal("40.00")]
    assert LedgerEntry.objects.filter(user=buyer, kind=LedgerEntry.Kind.REDEEM).count() == 1
    assert ledger_audit() == []


def test_expiry_racing_a_new_redemption_keeps_the_ledger_whole():
    buyer = buyer_with_points(1000)
    tt = priced_ticket_type("40.00", capacity=20)
    now = timezone.now()
    first = place_order(tt, 1, buyer=buyer, now=now - timedelta(hours=1))
    services.points_redeem(user=buyer, order=first, points=1000, now=now - timedelta(hours=1))
    second = place_order(tt, 1, buyer=buyer)

    works = [
        lambda: order_expire(order=first, now=now),  # gives the 1000 back
        lambda: services.points_redeem(user=buyer, order=second, points=1000),
    ]
    results = run_threads(len(works), lambda i: works[i]())

    # Either the give-back committed first and the redemption used the points, or the redemption found
    # none; never both the points and the discount, never a drift.
    assert Order.objects.get(pk=first.pk).status == Order.Status.EXPIRED
    second_total = Order.objects.get(pk=second.pk).total
    if isinstance(results[1], Order):
        assert (second_total, balance(buyer)) == (Decimal("30.00"), 0)
    else:
        assert isinstance(results[1], PointsOverLimit), results
        assert (second_total, balance(buyer)) == (Decimal("40.00"), 1000)
    assert ledger_audit() == []

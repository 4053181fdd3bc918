"""Real threads, real transactions, one PostgreSQL connection per thread: the races that matter."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from accounts.tests.factories import UserFactory
from events.models import TicketType
from grasshopper.testing import run_threads
from orders.exceptions import SoldOut
from orders.models import Order, Ticket
from orders.services import order_mark_paid, orders_expire_due
from orders.tests.factories import place_order, ticket_type_on_sale

pytestmark = pytest.mark.django_db(transaction=True)


def assert_no_drift() -> None:
    out = StringIO()
    call_command("inventory_audit", stdout=out)  # raises CommandError (exit status 1) on drift
    assert "No drift in" in out.getvalue()


def test_fifty_buyers_race_for_the_last_twenty_tickets() -> None:
    tt = ticket_type_on_sale(capacity=20)
    results = run_threads(50, lambda i: place_order(tt, 1))
    orders = [r for r in results if isinstance(r, Order)]
    refusals = [r for r in results if isinstance(r, SoldOut)]
    assert len(orders) == 20, [r for r in results if not isinstance(r, Order | SoldOut)]
    assert len(refusals) == 30
    assert all(r.code == "sold_out" and r.extra["available"] == 0 for r in refusals)
    tt.refresh_from_db()
    assert (tt.sold, tt.held) == (0, 20)
    assert Order.objects.count() == 20
    assert_no_drift()


def test_buyers_of_one_to_three_never_oversell_and_refusals_tell_the_truth() -> None:
    tt = ticket_type_on_sale(capacity=20)
    quantities = [random.Random(i).randint(1, 3) for i in range(50)]
    results = run_threads(50, lambda i: place_order(tt, quantities[i]))
    tt.refresh_from_db()
    held = sum(o.lines.get().quantity for o in results if isinstance(o, Order))
    assert tt.sold + tt.held <= tt.capacity
    assert tt.held == held
    refusals = [(quantities[i], r) for i, r in enumerate(results) if isinstance(r, SoldOut)]
    assert all(isinstance(r, Order | SoldOut) for r in results), results
    assert refusals, "with 50 buyers of 1-3 seats some must be refused"
    # Seats only go down during the race, so what a refusal reports is less than what it asked for and
    # at least what is left at the end.
    for wanted, refusal in refusals:
        assert tt.capacity - tt.held <= refusal.extra["available"] < wanted
    assert_no_drift()


def test_two_requests_with_one_idempotency_key_make_one_order() -> None:
    tt = ticket_type_on_sale(capacity=10)
    buyer = UserFactory()
    results = run_threads(
        2, lambda i: place_order(tt, 2, buyer=buyer, idempotency_key="retry-1", request_fingerprint="fp")
    )
    assert all(isinstance(r, Order) for r in results), results
    assert results[0].pk == results[1].pk
    assert Order.objects.count() == 1
    tt.refresh_from_db()
    assert tt.held == 2
    assert_no_drift()


def test_concurrent_payments_issue_tickets_once() -> None:
    tt = ticket_type_on_sale(capacity=10)
    order = place_order(tt, 3)
    results = run_threads(2, lambda i: order_mark_paid(order=order, provider="card", reference="pi_1"))
    assert all(isinstance(r, Order) and r.status == Order.Status.PAID for r in results), results
    assert Ticket.objects.filter(order=order).count() == 3
    assert order.history.filter(to_status=Order.Status.PAID).count() == 1
    tt.refresh_from_db()
    assert (tt.sold, tt.held) == (3, 0)
    assert_no_drift()


def test_expiry_sweep_skips_a_locked_order_instead_of_waiting() -> None:
    tt = ticket_type_on_sale(capacity=10)
    locked, free = place_order(tt, 1), place_order(tt, 1)
    assert locked.expires_at is not None
    later = locked.expires_at + timedelta(minutes=1)
    holding = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=locked.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        assert orders_expire_due(now=later) == 1
        assert time.monotonic() - started < 2
    finally:
        release.set()
        thread.join(10)
    locked.refresh_from_db()
    free.refresh_from_db()
    assert (locked.status, free.status) == (Order.Status.PENDING, Order.Status.EXPIRED)
    assert orders_expire_due(now=later) == 1  # the next sweep gets it
    assert TicketType.objects.get(pk=tt.pk).held == 0

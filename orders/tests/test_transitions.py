"""The order state machine: every allowed move, every illegal one, same-state no-ops."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.exceptions import IllegalTransition
from orders.models import Order, OrderEvent
from orders.services import ALLOWED_TRANSITIONS, order_transition
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

STATUSES = [s.value for s in Order.Status]
ALLOWED = [(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in sorted(targets)]
ILLEGAL = [(a, b) for a in STATUSES for b in STATUSES if a != b and b not in ALLOWED_TRANSITIONS.get(a, ())]


def test_the_table_is_the_documented_one() -> None:
    assert set(ALLOWED) == {
        ("pending", "paid"),
        ("pending", "expired"),
        ("pending", "cancelled"),
        ("paid", "partially_refunded"),
        ("paid", "refunded"),
        ("paid", "cancelled"),
        ("partially_refunded", "refunded"),
        ("partially_refunded", "partially_refunded"),
        ("expired", "paid"),
        ("expired", "paid_unfulfillable"),
        ("paid_unfulfillable", "refunded"),
    }


@pytest.mark.parametrize(("source", "target"), ALLOWED)
def test_every_allowed_move_works_and_is_logged(source: str, target: str) -> None:
    order = OrderFactory(status=source)
    moved = order_transition(
        order=order, to=target, actor=None, reason="test", money_delta=Decimal("-5.00"), seats_delta=-1
    )
    assert moved.status == target
    assert Order.objects.get(pk=order.pk).status == target
    event = OrderEvent.objects.get(order=order)
    assert (event.from_status, event.to_status, event.reason) == (source, target, "test")
    assert (event.money_delta, event.seats_delta) == (Decimal("-5.00"), -1)


@pytest.mark.parametrize("status", [s for s in STATUSES if s != "partially_refunded"])
def test_a_move_to_the_current_status_is_a_noop(status: str) -> None:
    order = OrderFactory(status=status)
    assert order_transition(order=order, to=status, actor=None).status == status
    assert not OrderEvent.objects.filter(order=order).exists()


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_every_illegal_move_is_refused(source: str, target: str) -> None:
    order = OrderFactory(status=source)
    with pytest.raises(IllegalTransition) as caught:
        order_transition(order=order, to=target, actor=None)
    assert (caught.value.code, caught.value.status) == ("illegal_transition", 409)
    assert Order.objects.get(pk=order.pk).status == source
    assert not OrderEvent.objects.filter(order=order).exists()


def test_the_transition_decides_on_the_locked_row_not_the_stale_instance() -> None:
    order = OrderFactory(status="pending")
    Order.objects.filter(pk=order.pk).update(status="cancelled")  # someone else moved it meanwhile
    with pytest.raises(IllegalTransition):
        order_transition(order=order, to="paid", actor=None)

"""``orders.services.order_add_adjustment`` / ``order_remove_adjustment``: the generic discounts loyalty
(points) and referrals put on a pending order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.exceptions import AdjustmentInvalid, OrderNotAdjustable
from orders.models import Order
from orders.services import order_add_adjustment, order_cancel, order_remove_adjustment
from orders.tests.factories import place_order, ticket_type_on_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def order() -> Order:
    return place_order(ticket_type_on_sale(price="20.00", fee="0.00"), 2)  # 40.00


def _add(order: Order, amount: str, reference: str = "a", **kwargs: object):
    return order_add_adjustment(
        order=order,
        source="test",
        reference=reference,
        description=f"Test {reference}",
        amount=Decimal(amount),
        **kwargs,
    )


def test_adjustment_lowers_the_total_and_is_recorded(order):
    adjustment = _add(order, "7.50")

    order.refresh_from_db()
    assert (order.subtotal, order.discount_total, order.total) == (
        Decimal("40.00"),
        Decimal("7.50"),
        Decimal("32.50"),
    )
    assert adjustment.order.total == Decimal("32.50")
    assert order.history.filter(reason="discount test: Test a (-7.50)").exists()


def test_same_source_and_reference_replaces_others_add_up(order):
    _add(order, "5.00")
    _add(order, "8.00")
    _add(order, "2.00", reference="b")

    order.refresh_from_db()
    assert sorted(order.adjustments.values_list("reference", "amount")) == [
        ("a", Decimal("8.00")),
        ("b", Decimal("2.00")),
    ]
    assert order.total == Decimal("30.00")


def test_total_never_goes_below_zero(order):
    _add(order, "30.00")
    capped = _add(order, "25.00", reference="b")

    assert capped.amount == Decimal("10.00")
    order.refresh_from_db()
    assert order.total == Decimal("0.00")
    with pytest.raises(AdjustmentInvalid):
        _add(order, "1.00", reference="c")
    with pytest.raises(AdjustmentInvalid):
        _add(order, "0", reference="d")


def test_remove_gives_the_amount_back_and_is_a_no_op_when_absent(order):
    _add(order, "12.00")
    order = order_remove_adjustment(order=order, source="test", reference="a")
    assert (order.discount_total, order.total) == (Decimal("0.00"), Decimal("40.00"))
    assert order_remove_adjustment(order=order, source="test", reference="a").total == Decimal("40.00")


def test_only_a_pending_order_with_a_running_hold_can_be_adjusted(order):
    with pytest.raises(OrderNotAdjustable):
        _add(order, "1.00", now=timezone.now() + timedelta(hours=1))  # hold over
    order_cancel(order=order, actor=None)
    with pytest.raises(OrderNotAdjustable):
        _add(order, "1.00")
    with pytest.raises(OrderNotAdjustable):
        order_remove_adjustment(order=order, source="test", reference="a")

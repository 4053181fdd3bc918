"""Order selectors: ownership and query counts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from orders.selectors import OrderNotFound, order_get_by_code, order_get_for_buyer, order_list_for_user
from orders.services import order_mark_paid
from orders.tests.factories import place_order, ticket_type_on_sale

pytestmark = pytest.mark.django_db


def test_a_buyer_sees_only_their_own_orders() -> None:
    tt = ticket_type_on_sale()
    ana, rui = UserFactory(), UserFactory()
    order = place_order(tt, buyer=ana)
    assert order_get_for_buyer(code=order.code, user=ana).pk == order.pk
    assert order_get_by_code(code=order.code).pk == order.pk
    for user in (rui, AnonymousUser()):
        with pytest.raises(OrderNotFound):
            order_get_for_buyer(code=order.code, user=user)
    assert list(order_list_for_user(user=rui)) == []
    assert list(order_list_for_user(user=AnonymousUser())) == []


@pytest.mark.parametrize("count", [1, 4])
def test_listing_takes_the_same_queries_for_any_number_of_orders(count: int) -> None:
    buyer = UserFactory()
    for _ in range(count):
        order_mark_paid(
            order=place_order(ticket_type_on_sale(), 2, buyer=buyer), provider="card", reference="x"
        )
    with CaptureQueriesContext(connection) as queries:
        orders = list(order_list_for_user(user=buyer))
        for order in orders:
            _ = order.event.venue.name
            _ = [line.ticket_type.name for line in order.lines.all()]
            _ = [ticket.ticket_type.name for ticket in order.tickets.all()]
    assert len(orders) == count
    assert len(queries) == 3

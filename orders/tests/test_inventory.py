"""The inventory services (events.inventory): guards, the ``available`` of a refusal, the signal."""

from __future__ import annotations

import pytest

from events.exceptions import SoldOut
from events.inventory import (
    InventoryCorrupted,
    inventory_release,
    inventory_reserve,
    inventory_return,
    inventory_sell,
    inventory_sell_direct,
)
from events.models import TicketType
from events.signals import inventory_released
from orders.tests.factories import ticket_type_on_sale

pytestmark = pytest.mark.django_db


def state(tt: TicketType) -> tuple[int, int]:
    tt.refresh_from_db()
    return tt.sold, tt.held


def test_reserve_sell_release_return_move_the_counters() -> None:
    tt = ticket_type_on_sale(capacity=5)
    inventory_reserve(ticket_type_id=tt.pk, quantity=3)
    assert state(tt) == (0, 3)
    inventory_sell(ticket_type_id=tt.pk, quantity=2)
    assert state(tt) == (2, 1)
    inventory_release(ticket_type_id=tt.pk, quantity=1)
    assert state(tt) == (2, 0)
    inventory_sell_direct(ticket_type_id=tt.pk, quantity=3)
    assert state(tt) == (5, 0)
    inventory_return(ticket_type_id=tt.pk, quantity=4)
    assert state(tt) == (1, 0)


def test_reserve_and_direct_sale_refuse_beyond_capacity_with_the_true_remainder() -> None:
    tt = ticket_type_on_sale(capacity=5)
    inventory_reserve(ticket_type_id=tt.pk, quantity=2)
    inventory_sell_direct(ticket_type_id=tt.pk, quantity=1)
    for service in (inventory_reserve, inventory_sell_direct):
        with pytest.raises(SoldOut) as caught:
            service(ticket_type_id=tt.pk, quantity=3)
        assert (caught.value.code, caught.value.status, caught.value.extra["available"]) == (
            "sold_out",
            409,
            2,
        )
    assert state(tt) == (1, 2)


@pytest.mark.parametrize("service", [inventory_release, inventory_sell, inventory_return])
def test_guards_refuse_to_move_seats_that_are_not_there(service: object) -> None:
    tt = ticket_type_on_sale(capacity=5)
    inventory_reserve(ticket_type_id=tt.pk, quantity=1)
    with pytest.raises(InventoryCorrupted):
        service(ticket_type_id=tt.pk, quantity=2)  # type: ignore[operator]
    assert state(tt) == (0, 1)


def test_quantity_must_be_positive() -> None:
    tt = ticket_type_on_sale()
    with pytest.raises(ValueError, match="positive"):
        inventory_reserve(ticket_type_id=tt.pk, quantity=0)


def test_release_and_return_announce_the_freed_seats() -> None:
    tt = ticket_type_on_sale(capacity=5)
    heard: list[tuple[int, int]] = []

    def receiver(sender: object, ticket_type_id: int, quantity: int, **kwargs: object) -> None:
        heard.append((ticket_type_id, quantity))

    inventory_released.connect(receiver, dispatch_uid="test-released")
    try:
        inventory_reserve(ticket_type_id=tt.pk, quantity=3)
        inventory_release(ticket_type_id=tt.pk, quantity=1)
        inventory_sell(ticket_type_id=tt.pk, quantity=2)
        inventory_return(ticket_type_id=tt.pk, quantity=2)
    finally:
        inventory_released.disconnect(dispatch_uid="test-released")
    assert heard == [(tt.pk, 1), (tt.pk, 2)]

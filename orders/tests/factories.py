"""Factories and helpers for the orders tests. Orders with seats are made through ``order_create`` (the
only way seats get held); ``OrderFactory`` makes a bare order row, for state-machine tests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import factory

from accounts.models import User
from events.models import TicketType
from events.tests.factories import EventFactory, TicketTypeFactory
from orders.models import Order
from orders.services import OrderLineInput, order_create


class OrderFactory(factory.django.DjangoModelFactory):
    """A pending order row without lines or seats."""

    class Meta:
        model = Order

    event = factory.SubFactory(EventFactory)
    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    currency = "EUR"
    subtotal = Decimal("27.50")
    total = Decimal("27.50")


def ticket_type_on_sale(
    *, capacity: int = 20, price: str = "25.00", fee: str = "2.50", **kwargs: object
) -> TicketType:
    """A visible ticket type of a published event two weeks ahead, on sale now."""
    return TicketTypeFactory(capacity=capacity, price=Decimal(price), fee=Decimal(fee), **kwargs)


def place_order(
    ticket_type: TicketType,
    quantity: int = 1,
    *,
    buyer: User | None = None,
    now: datetime | None = None,
    **kwargs: object,
) -> Order:
    """``order_create`` for one line of ``ticket_type``."""
    return order_create(
        lines=[OrderLineInput(ticket_type_id=ticket_type.pk, quantity=quantity)],
        buyer=buyer,
        email=buyer.email if buyer else "guest@example.com",
        now=now,
        **kwargs,  # type: ignore[arg-type]
    )

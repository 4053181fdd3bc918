"""The waitlist reacting to facts from below (connected in ``WaitlistConfig.ready()``):

- ``events.signals.inventory_released`` -> freed seats become offers in the SAME transaction
  (``services.waitlist_seats_released``), before any public buyer can take them;
- ``orders.signals.order_paid`` / ``order_expired`` / ``order_cancelled`` of an offer's order -> the offer is
  accepted / lapsed / declined (``services.offer_settle``); the seats a lapsed or declined offer freed
  were already offered to the next entry by the release above.
- ``events.signals.event_cancelled`` -> the event's waitlists close in the cancelling transaction
  (``services.waitlist_close_for_event``): offers withdrawn, entries closed, withheld seats released.
"""

from __future__ import annotations

from typing import Any

from events.models import Event, TicketType
from events.signals import event_cancelled, inventory_released
from orders.models import Order
from orders.signals import order_cancelled, order_expired, order_paid
from waitlist.services import offer_settle, waitlist_close_for_event, waitlist_seats_released


def on_inventory_released(sender: object, ticket_type_id: int, quantity: int, **kwargs: Any) -> None:
    waitlist_seats_released(ticket_type_id=ticket_type_id, quantity=quantity)


def on_order_paid(sender: object, order: Order, born_paid: bool = False, **kwargs: Any) -> None:
    if born_paid:
        return  # created paid in this transaction (a free order): no offer can carry it; no query
    offer_settle(order=order, outcome="paid")


def on_order_expired(sender: object, order: Order, **kwargs: Any) -> None:
    offer_settle(order=order, outcome="expired")


def on_order_cancelled(sender: object, order: Order, **kwargs: Any) -> None:
    offer_settle(order=order, outcome="cancelled")


def on_event_cancelled(sender: object, event: Event, **kwargs: Any) -> None:
    waitlist_close_for_event(event=event, actor=None)


def connect() -> None:
    inventory_released.connect(
        on_inventory_released, sender=TicketType, dispatch_uid="waitlist.on_inventory_released"
    )
    order_paid.connect(on_order_paid, sender=Order, dispatch_uid="waitlist.on_order_paid")
    order_expired.connect(on_order_expired, sender=Order, dispatch_uid="waitlist.on_order_expired")
    order_cancelled.connect(on_order_cancelled, sender=Order, dispatch_uid="waitlist.on_order_cancelled")
    event_cancelled.connect(on_event_cancelled, sender=Event, dispatch_uid="waitlist.on_event_cancelled")

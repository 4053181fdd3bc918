"""Helpers of the waitlist tests: sold-out ticket types (filled by real paid orders), people joining."""

from __future__ import annotations

from datetime import datetime
from io import StringIO

from django.core.management import call_command

from accounts.models import User
from accounts.tests.factories import UserFactory
from events.models import TicketType
from orders.models import Order
from orders.services import order_mark_paid
from orders.tests.factories import place_order, ticket_type_on_sale
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.selectors import entry_rank
from waitlist.services import entry_join


def paid_order(tt: TicketType, quantity: int = 1, *, now: datetime | None = None) -> Order:
    """An order of ``quantity`` seats, paid (by "card", without Stripe)."""
    order = place_order(tt, quantity, now=now)
    return order_mark_paid(order=order, provider="card", reference=f"pi_test_{order.pk}", now=now)


def sold_out(*orders: int, max_per_order: int = 4, **kwargs: object) -> tuple[TicketType, list[Order]]:
    """A ticket type whose capacity is exactly the given pending orders' seats (``place_order``): sold out
    with every seat held, so cancelling or expiring an order frees its seats."""
    tt = ticket_type_on_sale(capacity=sum(orders), max_per_order=max_per_order, **kwargs)
    placed = [place_order(tt, quantity) for quantity in orders]
    return tt, placed


def join(tt: TicketType, quantity: int = 1, *, user: User | None = None, **kwargs: object) -> WaitlistEntry:
    """A new signed-in person joins for ``quantity`` seats."""
    return entry_join(ticket_type=tt, quantity=quantity, user=user or UserFactory(), **kwargs)  # type: ignore[arg-type]


def live_offer(entry: WaitlistEntry) -> WaitlistOffer | None:
    return WaitlistOffer.objects.filter(entry=entry, status=WaitlistOffer.Status.LIVE).first()


def state(entry: WaitlistEntry) -> tuple[str, int | None]:
    """(status, rank) as the entrant would see them now."""
    entry.refresh_from_db()
    return entry.status, entry_rank(entry=entry)


def counters(tt: TicketType) -> tuple[int, int, int]:
    tt.refresh_from_db()
    return tt.sold, tt.held, tt.withheld


def audit_clean() -> bool:
    out = StringIO()
    call_command("inventory_audit", stdout=out)  # raises CommandError on drift
    return "No drift in" in out.getvalue()

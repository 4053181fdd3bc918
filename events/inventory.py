"""Inventory services: the only writers of ``TicketType.sold`` and ``TicketType.held``.

Each service is ONE conditional UPDATE (``filter(..guard..).update(F() ± n)``) whose row count says
whether it happened: no read-modify-write, no reliance on ``select_for_update`` (so it is just as correct
on SQLite), and the ``events_tickettype_no_oversell`` constraint stays the last line of defence. On
PostgreSQL the UPDATE locks the ticket type's row until the caller's transaction ends, so callers do it
last in their transaction (DESIGN.md section 4) and, with several ticket types, in ``ticket_type_id`` order.
"""

from __future__ import annotations

from django.db.models import F, QuerySet

from events.exceptions import SoldOut
from events.models import TicketType
from events.signals import inventory_released
from grasshopper.lib.db import CompiledUpdate


class InventoryCorrupted(RuntimeError):
    """A release/sell/return found fewer held or sold seats than it was asked to move: a bug, not a buyer
    error. Raised (never swallowed) so the caller's transaction rolls back."""


def _check_quantity(quantity: int) -> None:
    if quantity < 1:
        raise ValueError(f"quantity must be positive, got {quantity}")


def _available(ticket_type_id: int) -> int:
    row = TicketType.objects.filter(pk=ticket_type_id).values_list("capacity", "sold", "held").first()
    if row is None:
        return 0
    capacity, sold, held = row
    return max(capacity - sold - held, 0)


# The two guarded UPDATEs of every new order, compiled once (grasshopper.lib.db): the same statements as
# ``filter(...).update(...)`` without the ORM building them again for each order of a flash sale.
def _room_for(pk: int, n: int) -> QuerySet[TicketType]:
    """The ticket type, only while ``n`` more seats fit: the no-oversell guard of every taking UPDATE."""
    return TicketType.objects.filter(pk=pk, capacity__gte=F("sold") + F("held") + n)


_RESERVE = CompiledUpdate(lambda pk, n: (_room_for(pk, n), {"held": F("held") + n}))
_SELL_DIRECT = CompiledUpdate(lambda pk, n: (_room_for(pk, n), {"sold": F("sold") + n}))


def inventory_reserve(*, ticket_type_id: int, quantity: int) -> None:
    """Hold ``quantity`` seats: ``held += n`` only where ``sold + held + n <= capacity``.

    Raises ``SoldOut`` (``sold_out``, 409) with ``extra={"available": n}``, the remainder read by a fresh
    statement right after the refused UPDATE (on PostgreSQL's READ COMMITTED, the latest committed value).
    """
    _check_quantity(quantity)
    updated = _RESERVE.run(ticket_type_id, quantity)
    if updated != 1:
        available = _available(ticket_type_id)
        raise SoldOut(
            f"Only {available} tickets left." if available else "Sold out.",
            extra={"ticket_type_id": ticket_type_id, "available": available},
        )


def inventory_release(*, ticket_type_id: int, quantity: int) -> None:
    """Give back ``quantity`` held seats (``held -= n``, guarded ``held >= n``); sends
    ``inventory_released`` inside the transaction."""
    _check_quantity(quantity)
    updated = TicketType.objects.filter(pk=ticket_type_id, held__gte=quantity).update(
        held=F("held") - quantity
    )
    if updated != 1:
        raise InventoryCorrupted(f"ticket type {ticket_type_id}: fewer than {quantity} seats held")
    inventory_released.send(sender=TicketType, ticket_type_id=ticket_type_id, quantity=quantity)


def inventory_sell(*, ticket_type_id: int, quantity: int) -> None:
    """Turn ``quantity`` held seats into sold ones (``held -= n, sold += n``, guarded ``held >= n``)."""
    _check_quantity(quantity)
    updated = TicketType.objects.filter(pk=ticket_type_id, held__gte=quantity).update(
        held=F("held") - quantity, sold=F("sold") + quantity
    )
    if updated != 1:
        raise InventoryCorrupted(f"ticket type {ticket_type_id}: fewer than {quantity} seats held")


def inventory_sell_direct(*, ticket_type_id: int, quantity: int) -> None:
    """Sell ``quantity`` seats that were not held (a late payment on an expired order): ``sold += n``
    only where ``sold + held + n <= capacity``; raises ``SoldOut`` like ``inventory_reserve``."""
    _check_quantity(quantity)
    updated = _SELL_DIRECT.run(ticket_type_id, quantity)
    if updated != 1:
        available = _available(ticket_type_id)
        raise SoldOut(
            f"Only {available} tickets left." if available else "Sold out.",
            extra={"ticket_type_id": ticket_type_id, "available": available},
        )


def inventory_return(*, ticket_type_id: int, quantity: int) -> None:
    """Put ``quantity`` sold seats back on sale (refund, cancellation): ``sold -= n``, guarded
    ``sold >= n``; sends ``inventory_released`` inside the transaction."""
    _check_quantity(quantity)
    updated = TicketType.objects.filter(pk=ticket_type_id, sold__gte=quantity).update(
        sold=F("sold") - quantity
    )
    if updated != 1:
        raise InventoryCorrupted(f"ticket type {ticket_type_id}: fewer than {quantity} seats sold")
    inventory_released.send(sender=TicketType, ticket_type_id=ticket_type_id, quantity=quantity)


# --- Withheld seats (the waitlist's pool: DESIGN.md section 7) ----------------------------------------
# ``withheld`` is a part of ``held`` (constraint ``withheld <= held``): seats kept back for the people in a
# waitlist that no order holds yet. Withholding is a reserve that no order owns, so the no-oversell guard and
# constraint are unchanged, the public sees the seats as taken, and ``inventory_audit`` counts them as held.


def inventory_withhold(*, ticket_type_id: int, quantity: int) -> None:
    """Keep ``quantity`` free seats back for the waitlist: ``held += n, withheld += n`` only where
    ``sold + held + n <= capacity``; raises ``SoldOut`` like ``inventory_reserve``."""
    _check_quantity(quantity)
    updated = _room_for(ticket_type_id, quantity).update(
        held=F("held") + quantity, withheld=F("withheld") + quantity
    )
    if updated != 1:
        available = _available(ticket_type_id)
        raise SoldOut(
            f"Only {available} tickets left." if available else "Sold out.",
            extra={"ticket_type_id": ticket_type_id, "available": available},
        )


def inventory_unwithhold(*, ticket_type_id: int, quantity: int) -> None:
    """Stop withholding ``quantity`` seats (``held -= n, withheld -= n``, guarded ``withheld >= n``): they
    are free again. No ``inventory_released``: only the waitlist withholds, and it decides what comes next
    (an offer, under the same lock, or the public)."""
    _check_quantity(quantity)
    updated = TicketType.objects.filter(pk=ticket_type_id, withheld__gte=quantity).update(
        held=F("held") - quantity, withheld=F("withheld") - quantity
    )
    if updated != 1:
        raise InventoryCorrupted(f"ticket type {ticket_type_id}: fewer than {quantity} seats withheld")

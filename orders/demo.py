"""Demo and benchmark sales: paid orders, in bulk, for seats a demo plan says were sold.

``orders_seed_paid(sales=..., buyers=...)`` is called by ``grasshopper.demo`` (the composition root) right
after the demo catalogue is seeded, so ``inventory_audit`` finds every ``sold`` counter backed by orders.
It is for invented data only, and skips on purpose what a real sale goes through in ``order_create`` and
``order_mark_paid``: sales windows, ``max_per_order`` (a demo order may hold hundreds of seats, which keeps
the default demo at a few hundred orders), the hold, and the ``order_paid`` signal (no emails or points for
invented buyers).

What it keeps, so the rows look like real paid orders to every reader and to the audit:

- each order has one line, one valid ticket per admission (holder = the buyer's name, as
  ``order_mark_paid`` would issue them) and two ``OrderEvent`` rows, created -> ``pending`` and
  ``pending`` -> ``paid`` with the money (+total) and seat (+n) deltas;
- the counters move through ``events.inventory.inventory_sell_direct`` (``sold += n`` only where
  ``sold + held + n <= capacity``), once per ticket type, in ticket-type id order, in the same transaction
  as the rows: a plan that would oversell raises ``SoldOut`` and writes nothing of that batch.

Speed: rows are written with ``bulk_create``, one transaction (a savepoint inside the caller's) per batch
of ``BATCH_TICKET_TYPES`` ticket types; tickets with multi-row INSERTs of ``TICKET_CHUNK`` rows.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import User
from events.inventory import inventory_sell_direct
from events.models import TicketType
from orders.models import Order, OrderEvent, OrderLine, Ticket

# A demo order holds at most this many seats: a sold-out 6,000-seat hall is 12 orders, not 6,000.
SEATS_PER_ORDER = 500
BATCH_TICKET_TYPES = 200
TICKET_CHUNK = 1000  # tickets per INSERT statement (8 parameters each: below SQLite's 32,766)
SECRET_BYTES = 32  # like orders.models.new_ticket_secret
PROVIDER = "demo"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoSale:
    """``quantity`` seats of one ticket type, sold before the demo starts."""

    ticket_type_id: int
    quantity: int


@dataclass(frozen=True)
class DemoSalesResult:
    orders: int
    tickets: int
    seconds: float


def _split(quantity: int, size: int) -> list[int]:
    """``quantity`` seats as orders of at most ``size`` seats, as even as possible (1,001 -> 334+334+333)."""
    parts = -(-quantity // size)
    base, extra = divmod(quantity, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def orders_seed_paid(
    *,
    sales: Sequence[DemoSale],
    buyers: Sequence[User],
    now: datetime | None = None,
    seats_per_order: int = SEATS_PER_ORDER,
    progress: Progress | None = None,
) -> DemoSalesResult:
    """Create paid, ticketed orders for ``sales`` (buyers taken in turn) and count them as sold.

    Demo and benchmark data only (see the module docstring). Raises ``ValueError`` without buyers or with a
    non-positive quantity, ``KeyError`` for an unknown ticket type id, ``SoldOut`` if a sale would oversell.
    """
    if seats_per_order < 1:
        raise ValueError("seats_per_order must be positive")
    if any(sale.quantity < 1 for sale in sales):
        raise ValueError("every demo sale needs a positive quantity")
    if sales and not buyers:
        raise ValueError("demo sales need at least one buyer")
    started = time.monotonic()
    now = now or timezone.now()
    ordered = sorted(sales, key=lambda sale: sale.ticket_type_id)
    orders_made = tickets_made = 0
    turn = 0
    for start in range(0, len(ordered), BATCH_TICKET_TYPES):
        batch = ordered[start : start + BATCH_TICKET_TYPES]
        with transaction.atomic():
            made, issued, turn = _seed_batch(
                batch=batch, buyers=buyers, now=now, seats_per_order=seats_per_order, turn=turn
            )
        orders_made += made
        tickets_made += issued
        if progress and len(ordered) > BATCH_TICKET_TYPES:
            progress(f"  demo sales: {min(start + len(batch), len(ordered))}/{len(ordered)} ticket types")
    return DemoSalesResult(
        orders=orders_made, tickets=tickets_made, seconds=round(time.monotonic() - started, 2)
    )


def _seed_batch(
    *, batch: Sequence[DemoSale], buyers: Sequence[User], now: datetime, seats_per_order: int, turn: int
) -> tuple[int, int, int]:
    ticket_types = TicketType.objects.in_bulk([sale.ticket_type_id for sale in batch])
    orders: list[Order] = []
    planned: list[tuple[Order, TicketType, int]] = []
    for sale in batch:
        tt = ticket_types[sale.ticket_type_id]
        for quantity in _split(sale.quantity, seats_per_order):
            buyer = buyers[turn % len(buyers)]
            turn += 1
            total = tt.all_in_price * quantity
            order = Order(
                event_id=tt.event_id,
                buyer=buyer,
                email=buyer.email,
                buyer_name=buyer.full_name,
                status=Order.Status.PAID,
                currency=tt.currency,
                subtotal=total,
                discount_total=Decimal("0.00"),
                total=total,
                paid_at=now,
                payment_provider=PROVIDER if total else "free",
            )
            order.payment_reference = f"{PROVIDER}:{order.code}"
            orders.append(order)
            planned.append((order, tt, quantity))
    Order.objects.bulk_create(orders)
    lines = [
        OrderLine(order=order, ticket_type=tt, quantity=quantity, unit_price=tt.all_in_price, unit_fee=tt.fee)
        for order, tt, quantity in planned
    ]
    OrderLine.objects.bulk_create(lines)
    OrderEvent.objects.bulk_create(
        [
            row
            for order, _, quantity in planned
            for row in (
                OrderEvent(
                    order=order, created=now, from_status="", to_status=Order.Status.PENDING, reason="created"
                ),
                OrderEvent(
                    order=order,
                    created=now,
                    from_status=Order.Status.PENDING,
                    to_status=Order.Status.PAID,
                    reason=f"paid ({order.payment_provider}, demo data)",
                    money_delta=order.total,
                    seats_delta=quantity,
                ),
            )
        ]
    )
    issued = _tickets_insert(
        rows=[
            (order.pk, line.pk, tt.pk, order.buyer_name, quantity)
            for (order, tt, quantity), line in zip(planned, lines, strict=True)
        ],
        now=now,
    )
    # Last, in id order (DESIGN.md section 4): the counters, guarded by capacity.
    for sale in batch:
        inventory_sell_direct(ticket_type_id=sale.ticket_type_id, quantity=sale.quantity)
    return len(orders), issued, turn


def _tickets_insert(*, rows: Sequence[tuple[int, int, int, str, int]], now: datetime) -> int:
    """Insert ``quantity`` valid tickets for each (order, line, ticket type, holder, quantity) row.

    Plain multi-row INSERTs instead of ``bulk_create``: the ORM spends ~60 us per ticket preparing
    values, which made the default demo's ~77,000 tickets take 5 s on SQLite. Same columns, same
    values as ``Ticket()`` would give (256-bit secrets from one ``secrets.token_bytes`` call per chunk,
    encoded like ``secrets.token_urlsafe``).
    """
    meta = Ticket._meta
    columns = [
        cast("models.Field[Any, Any]", meta.get_field(name)).column
        for name in (
            "created",
            "modified",
            "order",
            "order_line",
            "ticket_type",
            "secret",
            "holder_name",
            "status",
        )
    ]
    stamp = connection.ops.adapt_datetimefield_value(now)
    valid = Ticket.Status.VALID.value
    table = connection.ops.quote_name(meta.db_table)
    names = ", ".join(connection.ops.quote_name(str(column)) for column in columns)
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"

    def flush(params: list[tuple[object, ...]]) -> None:
        randomness = secrets.token_bytes(SECRET_BYTES * len(params))
        values: list[Any] = []
        for n, row in enumerate(params):
            raw = randomness[n * SECRET_BYTES : (n + 1) * SECRET_BYTES]
            secret = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
            values.extend((stamp, stamp, *row[:3], secret, row[3], valid))
        sql = f"INSERT INTO {table} ({names}) VALUES " + ", ".join([row_sql] * len(params))  # noqa: S608 # nosec B608
        with connection.cursor() as cursor:
            cursor.execute(sql, values)

    issued = 0
    pending: list[tuple[object, ...]] = []
    for order_id, line_id, ticket_type_id, holder, quantity in rows:
        for _ in range(quantity):
            pending.append((order_id, line_id, ticket_type_id, holder))
            if len(pending) == TICKET_CHUNK:
                flush(pending)
                issued += len(pending)
                pending = []
    if pending:
        flush(pending)
        issued += len(pending)
    return issued

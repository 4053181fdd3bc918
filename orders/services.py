"""Orders: create (hold seats), pay, cancel, expire, extend a hold. Every write goes through here.

Rules this module keeps (DESIGN.md sections 2-4, STYLE.md 6-8):

- Seats move only through ``events.inventory`` (conditional UPDATEs that cannot oversell). ``order_create``
  reserves LAST, after the order and its lines are inserted, in ``ticket_type_id`` order, so the hot
  ticket-type rows are locked for the shortest time and always in the same order.
- Status changes go through ``order_transition`` only: one table of allowed moves, the order row locked
  and re-read before deciding, an ``OrderEvent`` per move. Lock order everywhere: the order row first,
  then ticket-type rows (by id).
- Correctness never depends on the beat sweep: when a reserve finds no seats, that ticket type's expired
  holds are released in the same transaction and the reserve is retried once.
- Signals (``order_paid``, ``order_unfulfillable``, ``inventory_released``) are sent inside the
  transaction; receivers put their side effects behind ``transaction.on_commit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from events.inventory import (
    inventory_release,
    inventory_reserve,
    inventory_sell,
    inventory_sell_direct,
)
from events.models import Event, TicketType
from events.selectors import member_presale_admits, ticket_type_in_member_presale
from grasshopper.lib.db import CompiledSelect, insert_all
from orders.exceptions import (
    AdjustmentInvalid,
    HolderNamesInvalid,
    HolderNamesLocked,
    HoldExpired,
    HoldExtensionUsed,
    IdempotencyKeyReused,
    IllegalTransition,
    MaxPerOrderExceeded,
    MixedCurrencies,
    MixedEvents,
    OrderNotAdjustable,
    OrderNotCancellable,
    QuantityInvalid,
    SalesClosed,
    SoldOut,
    TicketTypeUnknown,
)
from orders.holds import hold_extended_until
from orders.models import Adjustment, Order, OrderEvent, OrderLine, Ticket
from orders.selectors import order_shape_in_memory
from orders.signals import (
    order_cancelled,
    order_expired,
    order_paid,
    order_total_changed,
    order_unfulfillable,
)

S = Order.Status
FREE_PROVIDER = "free"  # orders.payments.FreeProvider.name

# The one table of allowed moves. A move to the current state is a no-op, except where the table lists
# it: a second partial refund is a real move (its own money and seat deltas), so it writes an OrderEvent.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PAID, S.EXPIRED, S.CANCELLED}),
    S.PAID: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.CANCELLED}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    # A late payment on an expired order: paid if the seats could be sold again, else unfulfillable.
    S.EXPIRED: frozenset({S.PAID, S.PAID_UNFULFILLABLE}),
    # The unfulfillable order's money goes back (automatically or by staff: orders.services_payments).
    S.PAID_UNFULFILLABLE: frozenset({S.REFUNDED}),
}
# Statuses in which money has been received: paying again changes nothing.
PAID_STATUSES = frozenset({S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED, S.PAID_UNFULFILLABLE})


@dataclass(frozen=True)
class OrderLineInput:
    """One requested line: ``quantity`` seats of one ticket type."""

    ticket_type_id: int
    quantity: int


# --- Create -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderCreateResult:
    """What ``order_create_or_replay`` did: ``created`` is False when an idempotency key replayed an earlier
    order (returned as it is now). A created order comes back with its event, lines (with their ticket
    types) and tickets already in memory: callers can show it without reading it again."""

    order: Order
    created: bool


def order_create(
    *,
    event_id: int | None = None,
    lines: list[OrderLineInput],
    buyer: User | None,
    email: str,
    buyer_name: str = "",
    holder_names: list[str] | None = None,
    idempotency_key: str = "",
    request_fingerprint: str = "",
    now: datetime | None = None,
) -> Order:
    """``order_create_or_replay`` for callers that do not care whether the order is new: its order."""
    return order_create_or_replay(
        event_id=event_id,
        lines=lines,
        buyer=buyer,
        email=email,
        buyer_name=buyer_name,
        holder_names=holder_names,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
        now=now,
    ).order


@transaction.atomic
def order_create_or_replay(
    *,
    event_id: int | None = None,
    lines: list[OrderLineInput],
    buyer: User | None,
    email: str,
    buyer_name: str = "",
    holder_names: list[str] | None = None,
    idempotency_key: str = "",
    request_fingerprint: str = "",
    now: datetime | None = None,
) -> OrderCreateResult:
    """Create a pending order holding its seats until ``expires_at`` (now + ``ORDER_HOLD_MINUTES``).

    Validation errors (nothing is written): ``quantity_invalid``, ``max_per_order_exceeded``,
    ``ticket_type_unknown`` (unknown, hidden, draft event, or not of ``event_id``), ``mixed_events``,
    ``mixed_currencies``, ``sales_closed``, ``sold_out`` (``extra["available"]``).

    Idempotency (signed-in buyers only: a guest has no identity to scope a key to, so a guest's key is
    ignored): the same ``(buyer, idempotency_key)`` with the same ``request_fingerprint`` returns the
    existing order unchanged (``created=False``); with another fingerprint raises
    ``idempotency_key_reused``. Two concurrent requests with one key make one order: the unique constraint
    decides and the loser returns the winner's.

    A free order (total 0) is completed at once by the ``free`` provider: it is born ``paid`` (two audit
    rows: created, then pending -> paid through ``ALLOWED_TRANSITIONS``), ticketed, and its seats SOLD by
    one guarded UPDATE at the very end (never held), so a flash sale of free tickets locks the hot
    ticket-type row last, right before commit, and only once. Sold out: all of it rolls back.
    """
    now = now or timezone.now()
    key = idempotency_key if buyer is not None else ""
    if key:
        existing = _order_for_key(buyer=buyer, key=key, request_fingerprint=request_fingerprint)
        if existing is not None:
            return OrderCreateResult(order=existing, created=False)

    wanted = _merge_lines(lines)
    ticket_types = _ticket_types_on_sale(wanted=wanted, event_id=event_id, now=now, buyer=buyer)
    names = [name.strip() for name in holder_names or []]
    if len(names) > sum(wanted.values()):
        raise QuantityInvalid("More holder names than tickets.", extra={"holder_names": len(names)})

    first = next(iter(ticket_types.values()))
    subtotal = sum(
        (ticket_types[tt_id].all_in_price * quantity for tt_id, quantity in wanted.items()), Decimal("0.00")
    )
    order = Order(
        event=first.event,
        buyer=buyer,
        email=email,
        buyer_name=buyer_name,
        holder_names=names,
        currency=first.currency,
        subtotal=subtotal,
        discount_total=Decimal("0.00"),
        total=subtotal,
        expires_at=now + timedelta(minutes=settings.ORDER_HOLD_MINUTES),
        idempotency_key=key,
        request_fingerprint=request_fingerprint,
    )
    history = [_order_event(order=order, actor=buyer, to=S.PENDING, reason="created", now=now)]
    free = order.total == 0
    seats = sum(wanted.values())
    if free:
        # The "free" provider's payment (orders.payments.FreeProvider has nothing to check beyond the zero
        # total), decided before the INSERT: nobody else can see this order until it commits, so there is
        # nothing to lock or re-read.
        order.payment_provider = FREE_PROVIDER
        order.payment_reference = f"free:{order.code}"
        history.append(
            _apply_transition(
                order=order,
                to=S.PAID,
                actor=buyer,
                reason=f"paid ({FREE_PROVIDER})",
                now=now,
                money_delta=order.total,
                seats_delta=seats,
            )
        )
    # The INSERTs of this busy path use statements compiled once (grasshopper.lib.db.insert_all): the ORM's
    # own SQL and value preparation, without compiling it again for every order.
    if key:
        try:
            with transaction.atomic():  # a savepoint: losing the race must not poison the outer transaction
                insert_all([order])
        except IntegrityError:
            # A concurrent request with the same key committed first (our INSERT waited for it).
            winner = _order_for_key(buyer=buyer, key=key, request_fingerprint=request_fingerprint)
            if winner is None:
                raise
            return OrderCreateResult(order=winner, created=False)
    else:
        insert_all([order])

    # Lines in the order they were asked for (tickets and holder names follow this order).
    order_lines = [
        OrderLine(
            order=order,
            ticket_type=ticket_types[tt_id],
            quantity=quantity,
            unit_price=ticket_types[tt_id].all_in_price,
            unit_fee=ticket_types[tt_id].fee,
        )
        for tt_id, quantity in wanted.items()
    ]
    insert_all(order_lines)
    insert_all(history)
    tickets = _issue_tickets(order=order, lines=order_lines) if free else []

    # Last: the seats. Hot rows locked in id order until commit, which follows right away.
    take = inventory_sell_direct if free else inventory_reserve
    for tt_id in sorted(wanted):
        _reserve_reclaiming_expired(ticket_type_id=tt_id, quantity=wanted[tt_id], now=now, take=take)
    order_shape_in_memory(order=order, lines=order_lines, tickets=tickets)
    if free:
        order_paid.send(sender=Order, order=order, born_paid=True)
    return OrderCreateResult(order=order, created=True)


def _order_for_key(*, buyer: User | None, key: str, request_fingerprint: str) -> Order | None:
    existing = Order.objects.filter(buyer=buyer, idempotency_key=key).first()
    if existing is not None and existing.request_fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(extra={"order": existing.code})
    return existing


def _merge_lines(lines: list[OrderLineInput]) -> dict[int, int]:
    """Quantities per ticket type, in first-asked order; two lines of one type are added up."""
    wanted: dict[int, int] = {}
    for line in lines:
        if line.quantity < 1:
            raise QuantityInvalid(extra={"ticket_type_id": line.ticket_type_id, "quantity": line.quantity})
        wanted[line.ticket_type_id] = wanted.get(line.ticket_type_id, 0) + line.quantity
    if not wanted:
        raise QuantityInvalid()
    return wanted


# One statement per ticket type of the order (nearly always one), compiled once: see grasshopper.lib.db. The
# venue comes along for a free order's confirmation (its inbox entry names the venue), which would otherwise
# read it on its own.
_TICKET_TYPE_WITH_EVENT = CompiledSelect(
    lambda pk: TicketType.objects.select_related("event__venue").filter(pk=pk)
)


def _ticket_types_on_sale(
    *, wanted: dict[int, int], event_id: int | None, now: datetime, buyer: User | None = None
) -> dict[int, TicketType]:
    """The wanted ticket types (no lock: the seats are guarded by the reserve, not by this read)."""
    found = {tt.pk: tt for tt_id in wanted for tt in _TICKET_TYPE_WITH_EVENT.all(tt_id)}
    for tt_id in wanted:
        tt = found.get(tt_id)
        if (
            tt is None
            or not tt.is_visible
            or tt.event.status == Event.Status.DRAFT
            or (event_id is not None and tt.event_id != event_id)
        ):
            raise TicketTypeUnknown("Unknown ticket type.", extra={"ticket_type_id": tt_id})
    if len({tt.event_id for tt in found.values()}) > 1:
        raise MixedEvents()
    if len({tt.currency for tt in found.values()}) > 1:
        raise MixedCurrencies()
    for tt_id, quantity in wanted.items():
        tt = found[tt_id]
        if quantity > tt.max_per_order:
            raise MaxPerOrderExceeded(
                f"At most {tt.max_per_order} tickets of {tt.name} per order.",
                extra={"ticket_type_id": tt_id, "max_per_order": tt.max_per_order},
            )
        _check_sales_open(ticket_type=tt, now=now, buyer=buyer)
    return {tt_id: found[tt_id] for tt_id in wanted}


def _check_sales_open(*, ticket_type: TicketType, now: datetime, buyer: User | None = None) -> None:
    event = ticket_type.event
    extra: dict[str, object] = {"ticket_type_id": ticket_type.pk}
    if event.status != Event.Status.PUBLISHED:
        raise SalesClosed("This event is not on sale.", extra={**extra, "reason": "not_published"})
    if now >= event.starts_at:
        raise SalesClosed("This event has started.", extra={**extra, "reason": "event_started"})
    # Members' presale: a buyer with an active membership may buy from member_presale_start (the rule lives
    # in events.selectors). Only the window changes; seats are taken by the same guarded reserve.
    if (
        ticket_type.sales_start is not None
        and now < ticket_type.sales_start
        and not member_presale_admits(ticket_type=ticket_type, user=buyer, now=now)
    ):
        in_presale = ticket_type_in_member_presale(ticket_type=ticket_type, now=now)
        reason = "members_only" if in_presale else "not_started"
        message = "Only members can buy during the presale." if in_presale else "Sales have not started."
        raise SalesClosed(message, extra={**extra, "reason": reason})
    if ticket_type.sales_end is not None and now >= ticket_type.sales_end:
        raise SalesClosed("Sales have ended.", extra={**extra, "reason": "ended"})


def _reserve_reclaiming_expired(
    *, ticket_type_id: int, quantity: int, now: datetime, take: Callable[..., None] = inventory_reserve
) -> None:
    """Reserve (or, with ``take=inventory_sell_direct``, sell seats that were never held); when refused,
    release this ticket type's expired holds (same transaction) and retry once."""
    try:
        take(ticket_type_id=ticket_type_id, quantity=quantity)
    except SoldOut:
        # A refused UPDATE is not an SQL error: the transaction is still usable, no savepoint needed.
        if not orders_expire_due(ticket_type_id=ticket_type_id, now=now):
            raise
        take(ticket_type_id=ticket_type_id, quantity=quantity)


# --- Transitions --------------------------------------------------------------------------------------


def _order_event(
    *,
    order: Order,
    actor: User | None,
    to: str,
    reason: str,
    now: datetime,
    from_status: str = "",
    money_delta: Decimal = Decimal(0),
    seats_delta: int = 0,
) -> OrderEvent:
    return OrderEvent(
        order=order,
        created=now,
        actor=actor,
        from_status=from_status,
        to_status=to,
        reason=reason[:200],
        money_delta=money_delta,
        seats_delta=seats_delta,
    )


def _apply_transition(
    *,
    order: Order,
    to: str,
    actor: User | None,
    reason: str,
    now: datetime,
    money_delta: Decimal = Decimal(0),
    seats_delta: int = 0,
) -> OrderEvent:
    """The move itself, in memory: check ``ALLOWED_TRANSITIONS``, set the status (and ``paid_at``), and
    return the unsaved ``OrderEvent``. Callers save both; ``order_transition`` is the locking caller."""
    if to not in ALLOWED_TRANSITIONS.get(order.status, frozenset()):
        raise IllegalTransition(
            f"An order cannot go from {order.status} to {to}.", extra={"from": order.status, "to": to}
        )
    event = _order_event(
        order=order,
        actor=actor,
        from_status=order.status,
        to=to,
        reason=reason,
        now=now,
        money_delta=money_delta,
        seats_delta=seats_delta,
    )
    order.status = to
    if to == S.PAID and order.paid_at is None:
        order.paid_at = now
    return event


@transaction.atomic
def order_transition(
    *,
    order: Order,
    to: str,
    actor: User | None,
    reason: str = "",
    now: datetime | None = None,
    money_delta: Decimal = Decimal(0),
    seats_delta: int = 0,
) -> Order:
    """Move the order to ``to`` if ``ALLOWED_TRANSITIONS`` allows it, writing one ``OrderEvent``.

    Locks the order row and decides on the re-read status. A move to the current status is a no-op
    (returns the order, writes nothing) unless the table lists it; an illegal move raises
    ``illegal_transition``. Seats and tickets are the caller's job (the use-case services below).
    Returns the locked, updated instance: use it instead of the one passed in.
    """
    now = now or timezone.now()
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status == to and to not in ALLOWED_TRANSITIONS.get(locked.status, frozenset()):
        return locked
    event = _apply_transition(
        order=locked,
        to=to,
        actor=actor,
        reason=reason,
        now=now,
        money_delta=money_delta,
        seats_delta=seats_delta,
    )
    locked.save(update_fields=["status", "paid_at", "modified"])
    event.save()
    return locked


@transaction.atomic
def order_mark_paid(
    *, order: Order, provider: str, reference: str, actor: User | None = None, now: datetime | None = None
) -> Order:
    """Record a confirmed payment; idempotent (an order that already received money is returned as is).

    Pending: held seats become sold, ``paid`` (money +total, seats +n), tickets issued once, ``order_paid``
    sent. Expired (late payment, seats already released): the seats are sold again if they are still free
    (``paid``, ticketed); if not, ``paid_unfulfillable`` without tickets and ``order_unfulfillable`` sent
    (to be refunded). A payment for a cancelled order raises ``illegal_transition``.
    """
    now = now or timezone.now()
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status in PAID_STATUSES:
        return locked
    if locked.status not in (S.PENDING, S.EXPIRED):
        raise IllegalTransition(
            f"A payment cannot complete a {locked.status} order.", extra={"from": locked.status, "to": S.PAID}
        )
    lines = list(locked.lines.order_by("ticket_type_id"))
    seats = sum(line.quantity for line in lines)
    locked.payment_provider = provider
    locked.payment_reference = reference
    locked.save(update_fields=["payment_provider", "payment_reference", "modified"])

    if locked.status == S.PENDING:
        locked = order_transition(
            order=locked,
            to=S.PAID,
            actor=actor,
            reason=f"paid ({provider})",
            now=now,
            money_delta=locked.total,
            seats_delta=seats,
        )
        _issue_tickets(order=locked, lines=lines)
        # Last: the hot ticket-type rows (by id), locked until commit: held seats become sold.
        for line in lines:
            inventory_sell(ticket_type_id=line.ticket_type_id, quantity=line.quantity)
        order_paid.send(sender=Order, order=locked)
        return locked

    # Expired: a late payment. The seats are sold again if still free, else the order is unfulfillable.
    try:
        with transaction.atomic():  # all lines or none
            for line in lines:
                inventory_sell_direct(ticket_type_id=line.ticket_type_id, quantity=line.quantity)
    except SoldOut:
        locked = order_transition(
            order=locked,
            to=S.PAID_UNFULFILLABLE,
            actor=actor,
            reason=f"late payment ({provider}), seats gone",
            now=now,
            money_delta=locked.total,
        )
        order_unfulfillable.send(sender=Order, order=locked)
        return locked
    reason = f"late payment ({provider}), seats sold again"

    locked = order_transition(
        order=locked,
        to=S.PAID,
        actor=actor,
        reason=reason,
        now=now,
        money_delta=locked.total,
        seats_delta=seats,
    )
    _issue_tickets(order=locked, lines=lines)
    order_paid.send(sender=Order, order=locked)
    return locked


def _issue_tickets(*, order: Order, lines: list[OrderLine]) -> list[Ticket]:
    """One ticket per admission, holder names in line order. Called once, under the order's lock, by the
    move to ``paid`` (the status guard in ``order_mark_paid`` is what makes it exactly once)."""
    names = list(order.holder_names or [])
    tickets = []
    for line in sorted(lines, key=lambda line: line.pk):
        for _ in range(line.quantity):
            holder = names.pop(0) if names else ""
            tickets.append(
                Ticket(
                    order=order,
                    order_line=line,
                    ticket_type_id=line.ticket_type_id,
                    holder_name=holder or order.buyer_name,
                )
            )
    insert_all(tickets)
    return tickets


def _release_holds(*, order: Order) -> int:
    seats = 0
    for line in order.lines.order_by("ticket_type_id"):
        inventory_release(ticket_type_id=line.ticket_type_id, quantity=line.quantity)
        seats += line.quantity
    return seats


@transaction.atomic
def order_cancel(*, order: Order, actor: User | None, reason: str = "", now: datetime | None = None) -> Order:
    """Cancel an unpaid (pending) order and release its seats; already cancelled is a no-op.

    Paid orders are cancelled with a refund (the payments issue): anything else raises
    ``order_not_cancellable``.
    """
    now = now or timezone.now()
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status == S.CANCELLED:
        return locked
    if locked.status != S.PENDING:
        raise OrderNotCancellable(extra={"status": locked.status})
    _release_holds(order=locked)
    locked = order_transition(
        order=locked, to=S.CANCELLED, actor=actor, reason=reason or "cancelled by the buyer", now=now
    )
    order_cancelled.send(sender=Order, order=locked)
    return locked


@transaction.atomic
def order_expire(*, order: Order, now: datetime | None = None) -> Order:
    """Expire a pending order whose hold has lapsed (``expires_at <= now``) and release its seats.

    A no-op (returns the order unchanged) when it is not pending or its hold still runs: the sweep and a
    payment or an extension may race, and whoever locks the row first decides.
    """
    now = now or timezone.now()
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status != S.PENDING or locked.expires_at is None or locked.expires_at > now:
        return locked
    _release_holds(order=locked)
    locked = order_transition(order=locked, to=S.EXPIRED, actor=None, reason="hold expired", now=now)
    order_expired.send(sender=Order, order=locked)
    return locked


def orders_expire_due(
    *, now: datetime | None = None, ticket_type_id: int | None = None, limit: int = 500
) -> int:
    """Expire pending orders whose hold has lapsed (only those with a line of ``ticket_type_id`` if given),
    oldest first, at most ``limit``; returns how many were expired.

    Each order is locked with SKIP LOCKED and expired in its own (sub)transaction: an order a buyer or a
    payment is working on is skipped, never waited for, and a long sweep never keeps ticket-type rows
    locked. Inside ``order_create`` the subtransactions are savepoints of the buyer's transaction.
    """
    now = now or timezone.now()
    due = Order.objects.filter(status=S.PENDING, expires_at__lte=now)
    if ticket_type_id is not None:
        due = due.filter(pk__in=OrderLine.objects.filter(ticket_type_id=ticket_type_id).values("order_id"))
    candidates = list(due.order_by("expires_at", "id").values_list("pk", flat=True)[:limit])
    expired = 0
    for pk in candidates:
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=S.PENDING, expires_at__lte=now)
                .first()
            )
            if order is None:
                continue
            order_expire(order=order, now=now)
            expired += 1
    return expired


@transaction.atomic
def order_extend_hold(*, order: Order, now: datetime | None = None) -> Order:
    """Extend a pending order's hold once by ``ORDER_HOLD_EXTENSION_MINUTES`` (WCAG 2.2.1 "Timing
    adjustable"). Allowed at any time while the hold runs, not only in its last minutes: the timer warns
    near the end, but a buyer who knows they need longer may ask earlier; once per order bounds the total.

    A second request raises ``hold_extension_used``; an order that is not pending or whose hold has lapsed
    raises ``hold_expired``; a limit (``orders.holds``) that leaves no time to add, ``hold_not_extendable``.
    Writes an ``OrderEvent`` (pending -> pending, no deltas) for the audit.
    """
    now = now or timezone.now()
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status != S.PENDING or locked.expires_at is None or locked.expires_at <= now:
        raise HoldExpired(extra={"status": locked.status})
    if locked.hold_extended:
        raise HoldExtensionUsed()
    # Capped by the limits higher apps put on holds (orders.holds: a waitlist offer's own expiry).
    extension = timedelta(minutes=settings.ORDER_HOLD_EXTENSION_MINUTES)
    locked.expires_at = hold_extended_until(order=locked, extension=extension)
    locked.hold_extended = True
    locked.save(update_fields=["expires_at", "hold_extended", "modified"])
    OrderEvent.objects.create(
        order=locked,
        created=now,
        actor_id=locked.buyer_id,
        from_status=S.PENDING,
        to_status=S.PENDING,
        reason="hold extended",
    )
    return locked


# --- Holder names -------------------------------------------------------------------------------------

HOLDER_NAME_MAX_LENGTH = 150  # Ticket.holder_name


@transaction.atomic
def order_set_holder_names(
    *, order: Order, names: list[str], actor: User | None, now: datetime | None = None
) -> Order:
    """Set the names printed on an order's tickets, one per admission in line order (blank: the buyer's).

    Pending: stored in ``Order.holder_names``; ``order_mark_paid`` copies them onto the tickets it issues.
    Paid (``paid``, ``partially_refunded``): stored too, and written at once onto the valid tickets, in
    ticket order (used and void tickets keep the name they had); no ``OrderEvent``: a name is not a move of
    money or seats. Any other status raises ``holder_names_locked``. More names than admissions (valid
    tickets once paid) or a name longer than 150 characters raises ``holder_names_invalid``. Names are
    stripped; trailing blanks are dropped. Returns the locked, updated order.
    """
    cleaned = [str(name).strip() for name in names]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    too_long = [n for n, name in enumerate(cleaned, start=1) if len(name) > HOLDER_NAME_MAX_LENGTH]
    if too_long:
        raise HolderNamesInvalid(
            f"A name can be at most {HOLDER_NAME_MAX_LENGTH} characters.", extra={"positions": too_long}
        )
    locked = Order.objects.select_for_update().get(pk=order.pk)
    paid = locked.status in (S.PAID, S.PARTIALLY_REFUNDED)
    if locked.status != S.PENDING and not paid:
        raise HolderNamesLocked(extra={"status": locked.status})
    if paid:
        tickets = list(locked.tickets.filter(status=Ticket.Status.VALID).order_by("id"))
        admissions = len(tickets)
    else:
        admissions = sum(locked.lines.values_list("quantity", flat=True))
    if len(cleaned) > admissions:
        raise HolderNamesInvalid(
            f"This order has {admissions} tickets: give at most {admissions} names.",
            extra={"names": len(cleaned), "admissions": admissions},
        )
    locked.holder_names = cleaned
    locked.save(update_fields=["holder_names", "modified"])
    if paid:
        now = now or timezone.now()
        for n, ticket in enumerate(tickets):
            # Blank: the buyer's name, as _issue_tickets prints it.
            ticket.holder_name = (cleaned[n] if n < len(cleaned) else "") or locked.buyer_name
            ticket.modified = now
        Ticket.objects.bulk_update(tickets, ["holder_name", "modified"])
    return locked


# --- Adjustments (discounts that higher apps put on a pending order: loyalty points, referral rewards) ---
# Generic on purpose: orders never imports loyalty (DESIGN.md section 1). The payment follows by itself:
# a Checkout Session / PaymentIntent is created from ``order.total`` when the buyer pays, and an open one
# of another amount is never reused (orders.services_payments._payment_prepare).

CENT = Decimal("0.01")


def _lock_adjustable(*, order: Order, now: datetime, adding: bool) -> Order:
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status != S.PENDING:
        raise OrderNotAdjustable(extra={"status": locked.status})
    if adding and locked.expires_at is not None and locked.expires_at <= now:
        raise OrderNotAdjustable(
            "The hold on this order has expired.", extra={"status": locked.status, "reason": "hold_expired"}
        )
    return locked


def _order_recompute_discounts(*, order: Order) -> None:
    """``discount_total`` = the sum of the adjustments, ``total`` = ``subtotal`` - that (a database
    constraint holds both, and ``total >= 0``)."""
    discounts = sum(order.adjustments.values_list("amount", flat=True), Decimal("0.00"))
    order.discount_total = discounts
    order.total = order.subtotal - discounts
    order.save(update_fields=["discount_total", "total", "modified"])


@transaction.atomic
def order_add_adjustment(
    *,
    order: Order,
    source: str,
    reference: str,
    description: str,
    amount: Decimal,
    actor: User | None = None,
    now: datetime | None = None,
) -> Adjustment:
    """Put a discount of ``amount`` on a pending order (``source``: "loyalty", "referral" …; ``reference``:
    the source's own id for it). The buyer sees it as a line under the tickets and pays the lower total.

    One adjustment per ``(source, reference)``: adding it again replaces its amount and description. The
    total never goes below zero: the amount is capped at what is left of the order after its other
    discounts; the returned ``Adjustment`` carries the amount actually applied (its ``order`` is the locked,
    updated order). A discount that brings the total to zero makes the order free: paying it completes it
    at once (the ``free`` provider). The order row is locked; totals are recomputed in the same
    transaction; an ``OrderEvent`` (pending -> pending, no money moved) records it.

    Raises ``adjustment_invalid`` for an amount that is not positive or when nothing is left to discount,
    ``order_not_adjustable`` when the order is not pending or its hold has expired.
    """
    now = now or timezone.now()
    amount = Decimal(amount).quantize(CENT)
    if amount <= 0:
        raise AdjustmentInvalid("A discount must be a positive amount.", extra={"amount": str(amount)})
    locked = _lock_adjustable(order=order, now=now, adding=True)
    existing = locked.adjustments.filter(source=source, reference=reference).first()
    others = sum(
        (a.amount for a in locked.adjustments.all() if existing is None or a.pk != existing.pk),
        Decimal("0.00"),
    )
    applied = min(amount, locked.subtotal - others)
    if applied <= 0:
        raise AdjustmentInvalid(
            "Nothing of this order is left to discount.", extra={"total": str(locked.subtotal - others)}
        )
    if existing is None:
        adjustment = Adjustment.objects.create(
            order=locked, source=source, reference=reference, description=description[:200], amount=applied
        )
    else:
        adjustment = existing
        adjustment.description = description[:200]
        adjustment.amount = applied
        adjustment.save(update_fields=["description", "amount"])
    _order_recompute_discounts(order=locked)
    _order_event(
        order=locked,
        actor=actor,
        from_status=S.PENDING,
        to=S.PENDING,
        reason=f"discount {source}: {description} (-{applied})",
        now=now,
    ).save()
    order_total_changed.send(sender=Order, order=locked)
    adjustment.order = locked
    return adjustment


@transaction.atomic
def order_remove_adjustment(
    *, order: Order, source: str, reference: str, actor: User | None = None, now: datetime | None = None
) -> Order:
    """Take a discount off a pending order: the total goes back up by its amount (same transaction, order
    row locked, an ``OrderEvent``). No such discount: a no-op. Raises ``order_not_adjustable`` when the
    order is not pending (a paid order keeps the discounts it was paid with). Returns the locked order."""
    now = now or timezone.now()
    locked = _lock_adjustable(order=order, now=now, adding=False)
    adjustment = locked.adjustments.filter(source=source, reference=reference).first()
    if adjustment is None:
        return locked
    adjustment.delete()
    _order_recompute_discounts(order=locked)
    _order_event(
        order=locked,
        actor=actor,
        from_status=S.PENDING,
        to=S.PENDING,
        reason=f"discount {source} removed: {adjustment.description} (+{adjustment.amount})",
        now=now,
    ).save()
    order_total_changed.send(sender=Order, order=locked)
    return locked


# --- Holds made for a higher app (waitlist offers) ----------------------------------------------------


@transaction.atomic
def order_create_hold(
    *,
    ticket_type: TicketType,
    quantity: int,
    buyer: User | None,
    email: str,
    expires_at: datetime,
    reason: str,
    buyer_name: str = "",
    now: datetime | None = None,
) -> Order:
    """A pending order for ``quantity`` seats of one ticket type, held until ``expires_at``, made for someone
    a higher app chose (a waitlist offer) rather than at a buyer's request. The buyer pays it through the
    normal checkout like any pending order; it expires, is cancelled or paid like any other.

    No sales-window, ``max_per_order`` or idempotency checks and no reclaiming of expired holds: the caller
    decides who gets which seats (under its own locks). The seats are reserved through the normal guarded
    reserve, last; ``sold_out`` if they are not free. One ``OrderEvent`` (created, with ``reason``).
    """
    now = now or timezone.now()
    price = ticket_type.all_in_price
    subtotal = price * quantity
    order = Order.objects.create(
        event_id=ticket_type.event_id,
        buyer=buyer,
        email=email,
        buyer_name=buyer_name,
        currency=ticket_type.currency,
        subtotal=subtotal,
        discount_total=Decimal("0.00"),
        total=subtotal,
        expires_at=expires_at,
    )
    OrderLine.objects.create(
        order=order, ticket_type=ticket_type, quantity=quantity, unit_price=price, unit_fee=ticket_type.fee
    )
    _order_event(order=order, actor=None, to=S.PENDING, reason=reason, now=now).save()
    inventory_reserve(ticket_type_id=ticket_type.pk, quantity=quantity)
    return order

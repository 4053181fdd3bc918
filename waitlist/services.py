"""Waitlist: join, confirm, leave; offers of freed seats; staff moves; the lottery. Every write is here.

How freed seats reach the people in line (DESIGN.md sections 2.5 and 7):

- Orders sends ``inventory_released`` INSIDE the transaction that frees seats (an expired or cancelled
  hold, a refund). ``waitlist.receivers`` calls ``waitlist_seats_released`` there, so the seats become offers
  before that transaction commits: no public buyer can see them free in between.
- An **offer** is a real pending ``Order`` in the entrant's name (``orders.services.order_create_hold``),
  holding its seats through the normal guarded reserve until ``WAITLIST_OFFER_MINUTES`` from now. Paying
  it (the normal checkout and Stripe webhooks) accepts the offer; its hold lapsing or the entrant
  cancelling it frees the seats again, which starts the next round in that same transaction.
- **The round** (``_offer_round``): the seats free for the line are the public's free seats plus those the
  waitlist already withholds. Waiting entries are visited in queue order ``(position, id)``; each whose
  ``quantity`` fits in what is left gets an offer for ALL of its quantity (never a part). An entry that
  wants more than is left keeps its place and is passed over this round: the seats go to the first
  entries that fit (wants 2, 1 freed: the 1 goes to the first entry that wants 1).
- **Withheld seats**: seats that fit no waiting entry stay withheld (``TicketType.withheld``: part of
  ``held``, so the no-oversell guard and constraint still hold and ``inventory_audit`` counts them) until
  more seats free up and together they fit someone, nobody waits any more (then they go on public sale),
  or staff release them. The public never buys a seat while someone waits who could be offered it.
- **Paused** (staff): no offers, nobody new joins; seats freed meanwhile go on public sale; seats already
  withheld stay withheld until staff resume (a round runs) or release them to the public (which pauses).
- **Closed**: when the ticket type is no longer on sale (event not published, started, sales ended), no
  offers are made and withheld seats go back. When the event is **cancelled** (``events.signals.
  event_cancelled``, inside the cancelling transaction), ``waitlist_close_for_event`` also ends the line:
  live offers are withdrawn through the normal order cancel, every entry ends ``closed`` (audited), and
  the entrants are told (``entry_closed``).
- **Lottery** (``Event.waitlist_lottery``): entries in line before the ticket type's ``sales_start`` are put
  in a random order by a seeded draw (``random.Random(seed)`` over their ids, ascending), made once at the
  first round after sales open (or by staff) and recorded with its seed, so anyone can replay it
  (``selectors.waitlist_lottery_replay``). Later entries queue behind them in order of joining. Until
  sales open, the seats the registered entries want (as many as are free) are withheld
  (``_lottery_pool_sync``), so the public cannot buy them before that first round runs.

Locks, always in this order: an order row (when an order is involved) -> the ticket type row -> the
``Waitlist`` row -> entries. Releases arrive with the ticket type row already locked by their UPDATE;
every service here that may move seats locks the ticket type row first (``_lock``), and the beat sweep
skips ticket types someone else is working on (SKIP LOCKED): a round runs for one ticket type at a time,
so seats are offered exactly once however many releases and sweeps run concurrently, and the unique
"one live offer per entry" constraint is the last line of defence.

Facts go up through ``waitlist.signals`` (sent inside the transaction; notifications sends after commit).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Sum
from django.dispatch import Signal
from django.utils import timezone

from accounts.models import User
from events.inventory import inventory_unwithhold, inventory_withhold
from events.models import Event, TicketType
from orders.exceptions import OrderNotCancellable
from orders.models import Order
from orders.services import order_cancel, order_create_hold, order_expire
from waitlist import signals
from waitlist.exceptions import (
    EntryNotFound,
    WaitlistAlreadyJoined,
    WaitlistClosed,
    WaitlistEmailRequired,
    WaitlistEntryNotActive,
    WaitlistNotSoldOut,
    WaitlistOfferNotLive,
    WaitlistPaused,
    WaitlistPositionInvalid,
    WaitlistQuantityInvalid,
    WaitlistTokenInvalid,
)
from waitlist.lottery import lottery_shuffle
from waitlist.models import ACTIVE_STATUSES, Waitlist, WaitlistAction, WaitlistEntry, WaitlistOffer
from waitlist.signing import VERIFY, entry_token_read

E = WaitlistEntry.Status
O = WaitlistOffer.Status  # noqa: E741
A = WaitlistAction.Kind

OFFER_REASON = "waitlist offer"


def normalize_email(email: str) -> str:
    """What makes two addresses one entry: trimmed and lower-cased."""
    return email.strip().lower()


# --- Locks and rules ----------------------------------------------------------------------------------


def _lock(ticket_type_id: int) -> tuple[TicketType, Waitlist]:
    """Lock the ticket type row, then its waitlist row (created on first use), in that order."""
    locked = _lock_or_skip(ticket_type_id, skip_locked=False)
    if locked is None:
        raise TicketType.DoesNotExist(ticket_type_id)
    return locked


def _lock_or_skip(ticket_type_id: int, *, skip_locked: bool) -> tuple[TicketType, Waitlist] | None:
    """``_lock``; with ``skip_locked``, None when another transaction holds the ticket type row."""
    tt = (
        TicketType.objects.select_related("event")
        .select_for_update(of=("self",), skip_locked=skip_locked)
        .filter(pk=ticket_type_id)
        .first()
    )
    if tt is None:
        return None
    waitlist = Waitlist.objects.filter(ticket_type_id=ticket_type_id).select_for_update().first()
    if waitlist is None:
        # Creators are serialised by the ticket type lock held above: no race on the unique row.
        waitlist = Waitlist.objects.create(ticket_type_id=ticket_type_id)
    waitlist.ticket_type = tt
    return tt, waitlist


def _closed_reason(tt: TicketType, now: datetime) -> str:
    """Why nobody can buy this ticket type any more ("" if it is on sale or will be)."""
    event = tt.event
    if event.status != Event.Status.PUBLISHED or not tt.is_visible:
        return "not_on_sale"
    if now >= event.starts_at:
        return "event_started"
    if tt.sales_end is not None and now >= tt.sales_end:
        return "sales_ended"
    return ""


def _before_sales(tt: TicketType, now: datetime) -> bool:
    return tt.sales_start is not None and now < tt.sales_start


def _presale_lottery(tt: TicketType, now: datetime) -> bool:
    """Lottery pre-registration: joining before sales open (only in lottery mode)."""
    return tt.event.waitlist_lottery and _before_sales(tt, now)


def _free_for_public(tt: TicketType) -> int:
    return max(tt.capacity - tt.sold - tt.held, 0)


def _next_position(tt: TicketType) -> int:
    """After everyone, past and present (called under the waitlist lock)."""
    last = WaitlistEntry.objects.filter(ticket_type=tt).aggregate(m=Max("position"))["m"]
    return (last or 0) + 1


def _waiting(tt: TicketType) -> list[WaitlistEntry]:
    return list(
        WaitlistEntry.objects.filter(ticket_type=tt, status=E.WAITING)
        .select_related("user")
        .order_by("position", "id")
    )


# --- Joining and leaving ------------------------------------------------------------------------------


@transaction.atomic
def entry_join(
    *,
    ticket_type: TicketType,
    quantity: int,
    user: User | None,
    email: str = "",
    now: datetime | None = None,
) -> WaitlistEntry:
    """Join the waitlist of a sold-out ticket type for ``quantity`` seats (1 to ``max_per_order``).

    Signed in: in line at once (``waiting``, last). A guest (``user=None``) gives ``email`` and is in line
    only after confirming it through the link ``entry_joined`` sends (``unverified`` until then); a guest
    asking again before confirming gets the same entry back, with the new quantity and a new link.
    One active entry per email (and per account) per ticket type; a guest entry never confirmed is taken
    over (and put in line) when its address signs in and joins. In lottery mode people may join before
    the sales open; their order in line is drawn when sales open.

    Errors, nothing written: ``waitlist_email_required``, ``waitlist_quantity_invalid``,
    ``waitlist_already_joined`` (``extra["entry_id"]``), ``waitlist_paused``, ``waitlist_closed`` (not on sale
    any more, or not yet outside lottery mode), ``waitlist_not_sold_out`` (seats are on public sale).
    """
    now = now or timezone.now()
    address = normalize_email(user.email if user is not None else email)
    if not address:
        raise WaitlistEmailRequired()
    if not 1 <= quantity <= ticket_type.max_per_order:
        raise WaitlistQuantityInvalid(
            f"Choose 1 to {ticket_type.max_per_order} tickets.",
            extra={"max_per_order": ticket_type.max_per_order, "quantity": quantity},
        )
    tt, waitlist = _lock(ticket_type.pk)
    same_person = Q(email=address) | Q(user=user) if user is not None else Q(email=address)
    existing = (
        WaitlistEntry.objects.filter(same_person, ticket_type=tt, status__in=ACTIVE_STATUSES)
        .select_for_update()
        .first()
    )
    if existing is not None:
        if existing.status == E.UNVERIFIED and user is None:
            existing.quantity = quantity
            existing.save(update_fields=["quantity", "modified"])
            signals.entry_joined.send(sender=WaitlistEntry, entry=existing)
            return existing
        if existing.status == E.UNVERIFIED and not waitlist.paused:
            # A guest who never confirmed, now signed in with that address: the account vouches for it.
            existing.user = user
            existing.quantity = quantity
            _enter_line(existing, tt=tt, now=now)
            existing.save()
            signals.entry_verified.send(sender=WaitlistEntry, entry=existing)
            if _presale_lottery(tt, now):
                _offer_round(tt=tt, waitlist=waitlist, now=now)  # the seats kept for the draw
            return existing
        raise WaitlistAlreadyJoined(extra={"entry_id": existing.pk})
    if waitlist.paused:
        raise WaitlistPaused()
    closed = _closed_reason(tt, now)
    if closed:
        raise WaitlistClosed(extra={"reason": closed})
    if not _presale_lottery(tt, now):
        if _before_sales(tt, now):
            raise WaitlistClosed("Sales have not started yet.", extra={"reason": "not_started"})
        if _free_for_public(tt) > 0:
            raise WaitlistNotSoldOut(extra={"available": _free_for_public(tt)})

    entry = WaitlistEntry(ticket_type=tt, user=user, email=address, quantity=quantity)
    if user is not None:
        _enter_line(entry, tt=tt, now=now)
    else:
        entry.status = E.UNVERIFIED
    entry.save()
    signals.entry_joined.send(sender=WaitlistEntry, entry=entry)
    if entry.status == E.WAITING and (tt.withheld or _presale_lottery(tt, now)):
        # Withheld seats may fit the newcomer; before a lottery's sales open, seats are kept for them.
        _offer_round(tt=tt, waitlist=waitlist, now=now)
    return entry


def _enter_line(entry: WaitlistEntry, *, tt: TicketType, now: datetime) -> None:
    entry.status = E.WAITING
    entry.position = _next_position(tt)
    entry.joined_at = now
    entry.verified_at = entry.verified_at or now


@transaction.atomic
def entry_verify(*, token: str, now: datetime | None = None) -> WaitlistEntry:
    """A guest confirms their email through the link: the entry gets in line (last). Idempotent: an entry
    already confirmed (or gone) is returned as it is. ``waitlist_token_invalid`` for a bad or expired link
    or an entry that no longer exists."""
    now = now or timezone.now()
    found = entry_token_read(token=token, purpose=VERIFY)
    if found is None:
        raise WaitlistTokenInvalid()
    entry_id, email = found
    entry = WaitlistEntry.objects.filter(pk=entry_id, email=email).first()
    if entry is None:
        raise WaitlistTokenInvalid()
    if entry.status != E.UNVERIFIED:
        return entry
    tt, waitlist = _lock(entry.ticket_type_id)
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != E.UNVERIFIED:
        return entry
    entry.verified_at = now
    _enter_line(entry, tt=tt, now=now)
    entry.save(update_fields=["status", "position", "joined_at", "verified_at", "modified"])
    signals.entry_verified.send(sender=WaitlistEntry, entry=entry)
    if not waitlist.paused and (tt.withheld or _free_for_public(tt)):
        _offer_round(tt=tt, waitlist=waitlist, now=now)
    return entry


@transaction.atomic
def entry_leave(*, entry: WaitlistEntry, actor: User | None, now: datetime | None = None) -> WaitlistEntry:
    """Leave the line (one click; the entrant, or staff through ``entry_remove``). An entry with a live offer
    declines it: its order is cancelled and the seats go to the next in line. Leaving an entry that is no
    longer active (accepted, lapsed, declined, left) changes nothing. Returns the updated entry."""
    now = now or timezone.now()
    live = WaitlistOffer.objects.filter(entry_id=entry.pk, status=O.LIVE).select_related("order").first()
    if live is not None:
        # The order's lock first (order -> ticket type -> waitlist), like every other order move.
        _decline(offer=live, actor=actor, now=now)
    tt, waitlist = _lock(entry.ticket_type_id)
    locked = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if locked.status == E.OFFERED:
        # An offer made between the read above and our locks (rare): decline it too.
        raced = WaitlistOffer.objects.filter(entry_id=entry.pk, status=O.LIVE).select_related("order").first()
        if raced is not None:
            _decline(offer=raced, actor=actor, now=now)
            locked.refresh_from_db()
    if locked.status not in (E.UNVERIFIED, E.WAITING):
        return locked
    locked.status = E.LEFT
    locked.left_at = now
    locked.save(update_fields=["status", "left_at", "modified"])
    if tt.withheld and not waitlist.paused:
        # The withheld seats may now fit the next entry, or nobody waits any more (public sale).
        _offer_round(tt=tt, waitlist=waitlist, now=now)
    return locked


# --- Offers -------------------------------------------------------------------------------------------


def _decline(*, offer: WaitlistOffer, actor: User | None, now: datetime) -> None:
    try:
        order_cancel(order=offer.order, actor=actor, reason="waitlist offer declined", now=now)
    except OrderNotCancellable as error:  # paid or lapsed meanwhile
        raise WaitlistOfferNotLive(extra={"status": error.extra.get("status", "")}) from error


@transaction.atomic
def offer_decline(*, offer: WaitlistOffer, actor: User | None, now: datetime | None = None) -> WaitlistOffer:
    """The entrant says no: the offer's order is cancelled (its seats go to the next in line in the same
    transaction), the offer and the entry end ``declined`` (``offer_declined`` sent). Cancelling the
    order on the checkout page does the same. ``waitlist_offer_not_live`` when already accepted or lapsed.
    """
    now = now or timezone.now()
    if offer.status != O.LIVE:
        raise WaitlistOfferNotLive(extra={"status": offer.status})
    _decline(offer=offer, actor=actor, now=now)
    offer.refresh_from_db()
    return offer


@transaction.atomic
def waitlist_seats_released(
    *, ticket_type_id: int, quantity: int, now: datetime | None = None
) -> list[WaitlistOffer]:
    """Seats of a ticket type went back on sale (``inventory_released``, inside the releasing transaction,
    the ticket type row already locked by it): offer them to the line now (see the module docstring).
    Cheap when nobody waits and nothing is withheld: one query. Returns the offers made."""
    now = now or timezone.now()
    waiting = WaitlistEntry.objects.filter(ticket_type_id=OuterRef("pk"), status=E.WAITING)
    row = (
        TicketType.objects.filter(pk=ticket_type_id)
        .annotate(anyone=Exists(waiting))
        .values_list("withheld", "anyone")
        .first()
    )
    if row is None or (not row[0] and not row[1]):
        return []
    tt, waitlist = _lock(ticket_type_id)
    return _offer_round(tt=tt, waitlist=waitlist, now=now)


def _offer_round(*, tt: TicketType, waitlist: Waitlist, now: datetime) -> list[WaitlistOffer]:
    """Offer the seats free for the line (public free + withheld) to the waiting entries that fit, in
    order; withhold what fits nobody while someone waits. Called with the ticket type and waitlist locked.
    """
    tt.refresh_from_db(fields=["capacity", "sold", "held", "withheld"])
    pool = tt.withheld
    if waitlist.paused:
        return []
    if _closed_reason(tt, now):
        if pool:
            inventory_unwithhold(ticket_type_id=tt.pk, quantity=pool)
        return []
    if _before_sales(tt, now):
        if tt.event.waitlist_lottery:
            _lottery_pool_sync(tt=tt)
        return []
    if tt.event.waitlist_lottery and waitlist.lottery_drawn_at is None and tt.sales_start is not None:
        _lottery_draw(tt=tt, waitlist=waitlist, actor=None, seed=None, now=now)

    free = _free_for_public(tt) + pool
    waiting = _waiting(tt)
    chosen: list[WaitlistEntry] = []
    for entry in waiting:
        if entry.quantity <= free:
            chosen.append(entry)
            free -= entry.quantity
    still_waiting = len(chosen) < len(waiting)
    keep = free if still_waiting else 0
    if not chosen and keep == pool:
        return []

    if pool:
        # Under our lock nobody else can take them: they pass straight into the offers' holds / the pool.
        inventory_unwithhold(ticket_type_id=tt.pk, quantity=pool)
    offers = [_offer_make(entry=entry, tt=tt, now=now) for entry in chosen]
    if keep:
        inventory_withhold(ticket_type_id=tt.pk, quantity=keep)
    tt.withheld = keep
    return offers


def _lottery_pool_sync(*, tt: TicketType) -> None:
    """Before a lottery's sales open: withhold the seats the registered entries want (as many as are
    free), no more. Sales opening does not wait for the first round (the beat sweep, up to a minute
    later, or the next release) to draw the lottery and offer them: without this, the public could buy
    them in between. With it, the public only ever sees the seats nobody registered for; the first round
    offers the pool in the drawn order. Called from ``_offer_round`` (under its locks, counters fresh) on
    every join, confirmation and leave before sales open, and by the sweep while seats are withheld."""
    wanted = WaitlistEntry.objects.filter(ticket_type=tt, status=E.WAITING).aggregate(n=Sum("quantity"))["n"]
    target = min(wanted or 0, _free_for_public(tt) + tt.withheld)
    if target > tt.withheld:
        inventory_withhold(ticket_type_id=tt.pk, quantity=target - tt.withheld)
    elif target < tt.withheld:
        inventory_unwithhold(ticket_type_id=tt.pk, quantity=tt.withheld - target)
    tt.held += target - tt.withheld
    tt.withheld = target


def _offer_make(*, entry: WaitlistEntry, tt: TicketType, now: datetime) -> WaitlistOffer:
    expires_at = now + timedelta(minutes=settings.WAITLIST_OFFER_MINUTES)
    order = order_create_hold(
        ticket_type=tt,
        quantity=entry.quantity,
        buyer=entry.user,
        email=entry.email,
        buyer_name=entry.user.full_name if entry.user is not None else "",
        expires_at=expires_at,
        reason=OFFER_REASON,
        now=now,
    )
    offer = WaitlistOffer.objects.create(
        entry=entry, ticket_type=tt, order=order, quantity=entry.quantity, expires_at=expires_at
    )
    entry.status = E.OFFERED
    entry.save(update_fields=["status", "modified"])
    signals.offer_created.send(sender=WaitlistOffer, offer=offer)
    return offer


# What an order's outcome means for the offer it carries, and for its entry.
_OUTCOMES: dict[str, tuple[str, str, Signal | None]] = {
    "paid": (O.ACCEPTED, E.ACCEPTED, signals.offer_accepted),
    "expired": (O.LAPSED, E.LAPSED, signals.offer_lapsed),
    "cancelled": (O.DECLINED, E.DECLINED, signals.offer_declined),
    # The order was cancelled because the event was (waitlist_close_for_event): nobody declined anything.
    "withdrawn": (O.WITHDRAWN, E.CLOSED, None),
}


def offer_settle(*, order: Order, outcome: str, now: datetime | None = None) -> WaitlistOffer | None:
    """An order stopped waiting (``outcome``: "paid", "expired", "cancelled"; the orders signals, inside
    their transaction, under the order's lock): if it carries a waitlist offer, the offer and its entry
    end accepted / lapsed / declined and the matching signal is sent. A live offer only moves once; a late
    payment on a lapsed offer still makes it accepted (the entrant has tickets). None: not an offer.

    The freed seats of a lapsed or declined offer were already offered to the next entry by
    ``waitlist_seats_released`` (orders releases the seats before it announces the outcome).
    An order cancelled while its event is cancelled (``waitlist_close_for_event``) withdraws the offer and
    closes the entry instead (no signal here: the closing announces ``entry_closed``).
    """
    offer = WaitlistOffer.objects.filter(order_id=order.pk).select_related("entry").first()
    if offer is None:
        return None
    movable = (O.LIVE, O.LAPSED) if outcome == "paid" else (O.LIVE,)
    if offer.status not in movable:
        return offer
    if (
        outcome == "cancelled"
        and Event.objects.filter(pk=order.event_id, status=Event.Status.CANCELLED).exists()
    ):
        outcome = "withdrawn"
    offer_status, entry_status, signal = _OUTCOMES[outcome]
    now = now or timezone.now()
    offer.status = offer_status
    offer.decided_at = now
    offer.save(update_fields=["status", "decided_at", "modified"])
    closing = {"left_at": now} if entry_status == E.CLOSED else {}
    WaitlistEntry.objects.filter(pk=offer.entry_id).update(status=entry_status, modified=now, **closing)
    offer.entry.status = entry_status
    if signal is not None:
        signal.send(sender=WaitlistOffer, offer=offer)
    return offer


# --- The event is cancelled ---------------------------------------------------------------------------

CLOSE_REASON = "the event was cancelled"


@transaction.atomic
def waitlist_close_for_event(
    *, event: Event, actor: User | None, reason: str = CLOSE_REASON, now: datetime | None = None
) -> list[WaitlistEntry]:
    """Close the waitlists of a cancelled event (``events.signals.event_cancelled``, inside the cancelling
    transaction; the event row already says ``cancelled``). For each of its ticket types, in id order:

    1. live offers are withdrawn: their pending orders are cancelled through ``orders.services.order_cancel``
       (seats released; the round that release starts makes no offer, the event being closed) and
       ``offer_settle`` ends each offer ``withdrawn`` and its entry ``closed``;
    2. every entry still active (unverified, waiting, offered) ends ``closed``;
    3. withheld seats are released.

    Every closed entry gets a ``close`` audit row (with its rank in line), and each waitlist that closed
    anything one more (entry-less, with the withheld seats released); ``entry_closed`` is sent for each
    entry that was in line. Running it again finds nothing to close: a no-op. Returns the closed entries.
    ``waitlist_closed`` if the event is not cancelled.
    """
    if not Event.objects.filter(pk=event.pk, status=Event.Status.CANCELLED).exists():
        raise WaitlistClosed(
            "Only a cancelled event's waitlists are closed.", extra={"reason": "not_cancelled"}
        )
    now = now or timezone.now()
    closed: list[WaitlistEntry] = []
    # Ticket types that ever had a waitlist (entries, offers and withheld seats all come with its row).
    waitlists = Waitlist.objects.filter(ticket_type__event_id=event.pk).order_by("ticket_type_id")
    for tt_id in list(waitlists.values_list("ticket_type_id", flat=True)):
        closed += _waitlist_close(ticket_type_id=tt_id, actor=actor, reason=reason, now=now)
    return closed


def _withdraw_live_offers(*, ticket_type_id: int, actor: User | None, now: datetime) -> list[int]:
    """Cancel the orders of the ticket type's live offers (each order's lock first); the entry ids."""
    withdrawn = []
    live = WaitlistOffer.objects.filter(ticket_type_id=ticket_type_id, status=O.LIVE).select_related("order")
    for offer in live.order_by("pk"):
        try:
            order_cancel(
                order=offer.order, actor=actor, reason=f"waitlist offer withdrawn: {CLOSE_REASON}", now=now
            )
        except OrderNotCancellable:
            continue  # paid or lapsed meanwhile: offer_settle recorded that (a paid order is refunded)
        withdrawn.append(offer.entry_id)
    return withdrawn


def _waitlist_close(
    *, ticket_type_id: int, actor: User | None, reason: str, now: datetime
) -> list[WaitlistEntry]:
    # The pool before any offer is withdrawn: a withdrawn offer's release starts a round, which gives the
    # pool back itself (the event is closed), in this transaction. Read unlocked (the order locks come
    # first), for the audit row only; the seats are moved under the lock below or by that round.
    pool_before = TicketType.objects.filter(pk=ticket_type_id).values_list("withheld", flat=True).first() or 0
    withdrawn = _withdraw_live_offers(ticket_type_id=ticket_type_id, actor=actor, now=now)
    tt, waitlist = _lock(ticket_type_id)
    # An offer made between the read above and our lock (a round that began before the cancellation).
    withdrawn += _withdraw_live_offers(ticket_type_id=ticket_type_id, actor=actor, now=now)
    active = list(
        WaitlistEntry.objects.filter(ticket_type=tt, status__in=ACTIVE_STATUSES)
        .select_for_update()
        .order_by("position", "id")
    )
    was_in_line = {e.pk for e in active if e.status != E.UNVERIFIED} | set(withdrawn)
    ranks = {e.pk: n for n, e in enumerate((e for e in active if e.status == E.WAITING), start=1)}
    for entry in active:
        entry.status = E.CLOSED
        entry.left_at = now
        entry.modified = now
    WaitlistEntry.objects.bulk_update(active, ["status", "left_at", "modified"])
    closed = active + list(
        WaitlistEntry.objects.filter(pk__in=withdrawn, status=E.CLOSED).exclude(pk__in=[e.pk for e in active])
    )
    tt.refresh_from_db(fields=["withheld"])
    remaining = tt.withheld
    if remaining:
        inventory_unwithhold(ticket_type_id=tt.pk, quantity=remaining)
        tt.withheld = 0
    seats = max(pool_before, remaining) if withdrawn else remaining
    if not closed and not seats:
        return []
    WaitlistAction.objects.bulk_create(
        [
            _action_row(
                waitlist=waitlist,
                kind=A.CLOSE,
                actor=actor,
                now=now,
                entry=entry,
                reason=reason,
                from_position=ranks.get(entry.pk),
            )
            for entry in closed
        ]
    )
    summary = f"{reason}: {len(closed)} entr{'y' if len(closed) == 1 else 'ies'} closed"
    _action(waitlist=waitlist, kind=A.CLOSE, actor=actor, now=now, reason=summary, seats=seats)
    for entry in closed:
        if entry.pk in was_in_line:
            signals.entry_closed.send(sender=WaitlistEntry, entry=entry)
    return closed


# --- The beat sweep -----------------------------------------------------------------------------------


def waitlist_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """The beat job (every minute); returns the offers made. Correctness never depends on it, but it:

    1. lapses offers whose hold ran out (their orders expire; the seats go to the next in line), each
       order under SKIP LOCKED in its own transaction;
    2. runs a round for every ticket type where someone waits and seats are free or withheld, or whose
       lottery is due (sales just opened), or that withholds seats nobody needs any more — skipping ticket
       types another transaction is working on (SKIP LOCKED): that one runs the round itself.

    Safe to run concurrently with itself and with releases: a round holds the ticket type's lock.
    """
    now = now or timezone.now()
    due = list(
        Order.objects.filter(
            waitlist_offer__status=O.LIVE, status=Order.Status.PENDING, expires_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=Order.Status.PENDING, expires_at__lte=now)
                .first()
            )
            if order is not None:
                order_expire(order=order, now=now)

    waiting = WaitlistEntry.objects.filter(ticket_type_id=OuterRef("pk"), status=E.WAITING)
    lottery_due = Q(
        event__waitlist_lottery=True,
        sales_start__lte=now,
        waitlist__lottery_drawn_at__isnull=True,
    )
    candidates = list(
        TicketType.objects.annotate(anyone=Exists(waiting))
        .filter(
            Q(withheld__gt=0)
            | Q(anyone=True, capacity__gt=F("sold") + F("held"))
            | (Q(anyone=True) & lottery_due)
        )
        .exclude(waitlist__paused=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    made = 0
    for tt_id in candidates:
        with transaction.atomic():
            locked = _lock_or_skip(tt_id, skip_locked=True)
            if locked is None:
                continue
            tt, waitlist = locked
            made += len(_offer_round(tt=tt, waitlist=waitlist, now=now))
    return made


# --- Staff --------------------------------------------------------------------------------------------


def _action(
    *,
    waitlist: Waitlist,
    kind: str,
    actor: User | None,
    now: datetime,
    entry: WaitlistEntry | None = None,
    reason: str = "",
    **fields: int | None,
) -> WaitlistAction:
    action = _action_row(
        waitlist=waitlist, kind=kind, actor=actor, now=now, entry=entry, reason=reason, **fields
    )
    action.save()
    return action


def _action_row(
    *,
    waitlist: Waitlist,
    kind: str,
    actor: User | None,
    now: datetime,
    entry: WaitlistEntry | None = None,
    reason: str = "",
    **fields: int | None,
) -> WaitlistAction:
    """An audit row, unsaved (``_action`` saves one; several go in one ``bulk_create``)."""
    return WaitlistAction(
        waitlist=waitlist, kind=kind, actor=actor, created=now, entry=entry, reason=reason[:200], **fields
    )


@transaction.atomic
def waitlist_pause(
    *, ticket_type: TicketType, actor: User | None, reason: str = "", now: datetime | None = None
) -> Waitlist:
    """Staff pause a waitlist: no offers, nobody new joins, freed seats go on public sale; live offers
    run their course and withheld seats stay withheld. Already paused: no-op. Audited."""
    now = now or timezone.now()
    _tt, waitlist = _lock(ticket_type.pk)
    if not waitlist.paused:
        waitlist.paused = True
        waitlist.save(update_fields=["paused", "modified"])
        _action(waitlist=waitlist, kind=A.PAUSE, actor=actor, now=now, reason=reason)
    return waitlist


@transaction.atomic
def waitlist_resume(
    *, ticket_type: TicketType, actor: User | None, reason: str = "", now: datetime | None = None
) -> Waitlist:
    """Staff resume a paused waitlist: a round runs at once (free and withheld seats go to the line).
    Not paused: no-op. Audited."""
    now = now or timezone.now()
    tt, waitlist = _lock(ticket_type.pk)
    if waitlist.paused:
        waitlist.paused = False
        waitlist.save(update_fields=["paused", "modified"])
        _action(waitlist=waitlist, kind=A.RESUME, actor=actor, now=now, reason=reason)
        _offer_round(tt=tt, waitlist=waitlist, now=now)
    return waitlist


@transaction.atomic
def waitlist_release_to_public(
    *, ticket_type: TicketType, actor: User | None, reason: str = "", now: datetime | None = None
) -> int:
    """Staff give the withheld seats to the public: the waitlist is paused (so they are not taken back)
    and its withheld seats go on public sale. Live offers run their course (their seats, when freed, go on
    public sale too while paused). Returns the seats released; audited with the count."""
    now = now or timezone.now()
    tt, waitlist = _lock(ticket_type.pk)
    tt.refresh_from_db(fields=["withheld"])
    seats = tt.withheld
    if not waitlist.paused:
        waitlist.paused = True
        waitlist.save(update_fields=["paused", "modified"])
    if seats:
        inventory_unwithhold(ticket_type_id=tt.pk, quantity=seats)
    _action(waitlist=waitlist, kind=A.RELEASE, actor=actor, now=now, reason=reason, seats=seats)
    return seats


@transaction.atomic
def entry_move(
    *,
    entry: WaitlistEntry,
    to_position: int,
    actor: User | None,
    reason: str = "",
    now: datetime | None = None,
) -> WaitlistEntry:
    """Staff move a waiting entry to rank ``to_position`` (1 = next in line); the others keep their order.
    Only staff change the queue, and every move writes a ``WaitlistAction`` (from and to rank, who, why).
    ``waitlist_entry_not_active`` if the entry is not waiting; ``waitlist_position_invalid`` outside 1..n.
    """
    now = now or timezone.now()
    waitlist = Waitlist.objects.select_for_update().filter(ticket_type_id=entry.ticket_type_id).first()
    if waitlist is None:
        raise EntryNotFound()
    line = list(
        WaitlistEntry.objects.filter(ticket_type_id=entry.ticket_type_id, status=E.WAITING)
        .select_for_update()
        .order_by("position", "id")
    )
    ids = [e.pk for e in line]
    if entry.pk not in ids:
        raise WaitlistEntryNotActive(extra={"status": entry.status})
    if not 1 <= to_position <= len(line):
        raise WaitlistPositionInvalid(extra={"positions": len(line)})
    from_position = ids.index(entry.pk) + 1
    moved = line.pop(from_position - 1)
    line.insert(to_position - 1, moved)
    # Renumber the line 1..n: entries that joined later keep coming after (they get max + 1).
    first = min(e.position or 0 for e in line) or 1
    for n, e in enumerate(line):
        e.position = first + n
        e.modified = now
    WaitlistEntry.objects.bulk_update(line, ["position", "modified"])
    _action(
        waitlist=waitlist,
        kind=A.REORDER,
        actor=actor,
        now=now,
        entry=moved,
        reason=reason,
        from_position=from_position,
        to_position=to_position,
    )
    return moved


@transaction.atomic
def entry_remove(
    *, entry: WaitlistEntry, actor: User | None, reason: str = "", now: datetime | None = None
) -> WaitlistEntry:
    """Staff take an entry out of the line (like ``entry_leave``: a live offer is declined). Audited."""
    now = now or timezone.now()
    rank_before = None
    if entry.status == E.WAITING:
        from waitlist.selectors import entry_rank

        rank_before = entry_rank(entry=entry)
    left = entry_leave(entry=entry, actor=actor, now=now)
    waitlist = Waitlist.objects.get(ticket_type_id=entry.ticket_type_id)
    _action(
        waitlist=waitlist,
        kind=A.REMOVE,
        actor=actor,
        now=now,
        entry=left,
        reason=reason,
        from_position=rank_before,
    )
    return left


# --- Lottery ------------------------------------------------------------------------------------------


@transaction.atomic
def waitlist_lottery_draw(
    *,
    ticket_type: TicketType,
    actor: User | None,
    seed: int | None = None,
    now: datetime | None = None,
) -> Waitlist:
    """Draw the lottery order now (staff; it is drawn automatically at the first round after sales open).
    Made once: a waitlist already drawn is returned unchanged. Audited with its seed."""
    now = now or timezone.now()
    tt, waitlist = _lock(ticket_type.pk)
    if waitlist.lottery_drawn_at is None:
        _lottery_draw(tt=tt, waitlist=waitlist, actor=actor, seed=seed, now=now)
    return waitlist


def _lottery_draw(
    *, tt: TicketType, waitlist: Waitlist, actor: User | None, seed: int | None, now: datetime
) -> None:
    """Put the entries in line that joined before sales opened (``sales_start``, or now without one) in
    the drawn order, on the positions they held (so later joiners stay behind them); record the draw."""
    cutoff = tt.sales_start or now
    candidates = list(
        WaitlistEntry.objects.filter(
            ticket_type=tt, status=E.WAITING, joined_at__lt=cutoff
        ).select_for_update()
    )
    seed = seed if seed is not None else secrets.randbits(63)
    drawn = lottery_shuffle(entry_ids=[e.pk for e in candidates], seed=seed)
    positions = sorted(e.position or 0 for e in candidates)
    by_id = {e.pk: e for e in candidates}
    for position, entry_id in zip(positions, drawn, strict=True):
        by_id[entry_id].position = position
        by_id[entry_id].modified = now
    WaitlistEntry.objects.bulk_update(candidates, ["position", "modified"])
    waitlist.lottery_seed = seed
    waitlist.lottery_drawn_at = now
    waitlist.lottery_cutoff = cutoff
    waitlist.lottery_candidates = sorted(by_id)
    waitlist.lottery_order = drawn
    waitlist.lottery_actor = actor
    waitlist.save(
        update_fields=[
            "lottery_seed",
            "lottery_drawn_at",
            "lottery_cutoff",
            "lottery_candidates",
            "lottery_order",
            "lottery_actor",
            "modified",
        ]
    )
    _action(
        waitlist=waitlist,
        kind=A.LOTTERY_DRAW,
        actor=actor,
        now=now,
        reason=f"seed {seed}, {len(drawn)} entries",
    )

"""Reads of the waitlist, shaped for their consumers (event page, "my waitlists", API, admin).

The position a person sees is their **rank**: 1 + the number of waiting entries ahead of them in queue
order ``(position, id)``. Only waiting entries have a rank; an entry with a live offer, or a guest who has
not confirmed their email, has none. Before a lottery is drawn, entries that joined before sales opened
have no rank either (``lottery_pending``): their order is not known yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from events.models import TicketType
from orders.holds import HoldLimit
from orders.models import Order
from waitlist.exceptions import EntryNotFound, WaitlistTokenInvalid
from waitlist.lottery import lottery_shuffle
from waitlist.models import ACTIVE_STATUSES, Waitlist, WaitlistEntry, WaitlistOffer
from waitlist.signing import entry_token_read

E = WaitlistEntry.Status
O = WaitlistOffer.Status  # noqa: E741


def _ahead() -> Subquery:
    """How many waiting entries of the same ticket type are ahead of the outer entry."""
    ahead = (
        WaitlistEntry.objects.filter(ticket_type_id=OuterRef("ticket_type_id"), status=E.WAITING)
        .filter(
            Q(position__lt=OuterRef("position")) | Q(position=OuterRef("position"), id__lt=OuterRef("id"))
        )
        .order_by()
        .values("ticket_type_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(ahead, output_field=IntegerField())


def _lottery_pending() -> Exists:
    """The outer entry's lottery has not been drawn yet (lottery event, joined before sales open)."""
    return Exists(
        TicketType.objects.filter(
            pk=OuterRef("ticket_type_id"),
            event__waitlist_lottery=True,
            sales_start__gt=OuterRef("joined_at"),
        ).filter(Q(waitlist__isnull=True) | Q(waitlist__lottery_drawn_at__isnull=True))
    )


def _with_rank(entries: QuerySet[WaitlistEntry]) -> QuerySet[WaitlistEntry]:
    pending = _lottery_pending()
    return entries.annotate(
        lottery_pending=Case(
            When(Q(status=E.WAITING) & pending, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
        rank=Case(
            When(Q(status=E.WAITING) & ~pending, then=Coalesce(_ahead(), Value(0)) + 1),
            default=None,
            output_field=IntegerField(),
        ),
    )


def entry_rank(*, entry: WaitlistEntry) -> int | None:
    """The entry's place in line (1 = next), None when it is not waiting or its lottery is not drawn."""
    ranked = _with_rank(WaitlistEntry.objects.filter(pk=entry.pk)).first()
    return getattr(ranked, "rank", None)


def entry_list_for_user(*, user: User) -> QuerySet[WaitlistEntry]:
    """The user's active entries (waiting, or with a live offer), newest first, each with ``rank``,
    ``lottery_pending``, its ticket type and event, and ``live_offer_list`` (the live offer and its order,
    at most one). Three queries whatever the number of entries."""
    live = WaitlistOffer.objects.filter(status=O.LIVE).select_related("order")
    return _with_rank(
        WaitlistEntry.objects.filter(user=user, status__in=ACTIVE_STATUSES)
        .select_related("ticket_type__event")
        .prefetch_related(Prefetch("offers", queryset=live, to_attr="live_offer_list"))
        .order_by("-created", "-id")
    )


# What happened to a waitlist the user is no longer on, shown this long on /waitlist/. Entries the user left
# are not shown: leaving was their own doing, a moment ago.
ENDED_SHOWN_DAYS = 30
ENDED_SHOWN = (E.ACCEPTED, E.LAPSED, E.DECLINED, E.CLOSED)


def entry_list_ended_for_user(
    *, user: User, now: datetime | None = None, limit: int = 20
) -> QuerySet[WaitlistEntry]:
    """The user's entries that ended in the last ``ENDED_SHOWN_DAYS`` days (tickets bought, offer lapsed or
    declined, event cancelled), most recent first, at most ``limit``, with ticket type and event."""
    since = (now or timezone.now()) - timedelta(days=ENDED_SHOWN_DAYS)
    return (
        WaitlistEntry.objects.filter(user=user, status__in=ENDED_SHOWN, modified__gte=since)
        .select_related("ticket_type__event")
        .order_by("-modified", "-id")[:limit]
    )


def entry_get_for_user(*, user: User, entry_id: int) -> WaitlistEntry:
    """One of the user's entries (any status), with ``rank``; ``waitlist_entry_not_found`` for anybody
    else's (never revealing that it exists)."""
    entry = (
        _with_rank(WaitlistEntry.objects.filter(pk=entry_id, user=user))
        .select_related("ticket_type__event")
        .first()
    )
    if entry is None:
        raise EntryNotFound()
    return entry


def entry_get_by_token(*, token: str, purpose: str) -> WaitlistEntry:
    """The entry a guest's signed link names (``signing.VERIFY`` or ``signing.LEAVE``), with ``rank``;
    ``waitlist_token_invalid`` for a bad or expired link."""
    found = entry_token_read(token=token, purpose=purpose)
    if found is None:
        raise WaitlistTokenInvalid()
    entry_id, email = found
    entry = (
        _with_rank(WaitlistEntry.objects.filter(pk=entry_id, email=email))
        .select_related("ticket_type__event")
        .first()
    )
    if entry is None:
        raise WaitlistTokenInvalid()
    return entry


@dataclass(frozen=True)
class WaitlistPageState:
    """What the event page shows for one ticket type.

    ``can_join``: show "Join the waitlist" (sold out, or a lottery pre-registration before sales open).
    ``active``: show "waitlist active": seats are withheld for the line or held by live offers, so
    tickets freed by others go to the people waiting first. ``entry``: the visitor's active entry (with
    ``rank`` and ``lottery_pending``), if any. ``reason`` why ``can_join`` is False: "on_sale", "closed",
    "paused", "joined", or "" when it is True.
    """

    ticket_type_id: int
    can_join: bool
    active: bool
    entry: WaitlistEntry | None
    reason: str


def waitlist_page_state(
    *,
    ticket_types: Sequence[TicketType],
    user: User | None,
    email: str = "",
    now: datetime | None = None,
) -> dict[int, WaitlistPageState]:
    """The waitlist state of each ticket type of an event page, by ticket type id. ``ticket_types`` come
    with their event (``select_related``). The visitor is ``user`` or, for a guest, the ``email`` they joined
    with (remembered by the view), or nobody. Two queries at most, however many ticket types."""
    now = now or timezone.now()
    ids = [tt.pk for tt in ticket_types]
    if not ids:
        return {}
    rows = {
        row["pk"]: row
        for row in TicketType.objects.filter(pk__in=ids)
        .annotate(
            live_offers=Count("waitlist_offers", filter=Q(waitlist_offers__status=O.LIVE)),
            paused=Coalesce(F("waitlist__paused"), Value(False)),
        )
        .values("pk", "capacity", "sold", "held", "withheld", "live_offers", "paused")
    }
    mine: dict[int, WaitlistEntry] = {}
    who = Q(user=user) if user is not None else Q(email=email.strip().lower()) if email.strip() else None
    if who is not None:
        for entry in _with_rank(
            WaitlistEntry.objects.filter(who, ticket_type_id__in=ids, status__in=ACTIVE_STATUSES)
        ):
            mine[entry.ticket_type_id] = entry
    states = {}
    for tt in ticket_types:
        row = rows.get(tt.pk)
        if row is None:
            continue
        found = mine.get(tt.pk)
        reason = _join_refusal(tt=tt, row=row, now=now)
        if found is not None:
            reason = "joined"
        states[tt.pk] = WaitlistPageState(
            ticket_type_id=tt.pk,
            can_join=not reason,
            active=bool(row["withheld"] or row["live_offers"]),
            entry=found,
            reason=reason,
        )
    return states


def _join_refusal(*, tt: TicketType, row: dict[str, int], now: datetime) -> str:
    """Mirrors ``services.entry_join``'s checks (without taking any lock)."""
    event = tt.event
    if event.status != event.Status.PUBLISHED or not tt.is_visible or now >= event.starts_at:
        return "closed"
    if tt.sales_end is not None and now >= tt.sales_end:
        return "closed"
    if row["paused"]:
        return "paused"
    before_sales = tt.sales_start is not None and now < tt.sales_start
    if before_sales:
        return "" if event.waitlist_lottery else "closed"
    if row["capacity"] - row["sold"] - row["held"] > 0:
        return "on_sale"
    return ""


# --- Admin and audit ----------------------------------------------------------------------------------


def waitlist_list_for_admin() -> QuerySet[Waitlist]:
    """Waitlists with their counts, for the admin list: ``waiting``, ``unverified``, ``offers_live``,
    ``offers_accepted`` (conversions), ``offers_lapsed``, ``offers_declined``, and the ticket type's
    ``withheld`` seats (through ``ticket_type``). One query."""

    def entries(status: str) -> Count:
        return Count(
            "ticket_type__waitlist_entries",
            filter=Q(ticket_type__waitlist_entries__status=status),
            distinct=True,
        )

    def offers(status: str) -> Count:
        return Count(
            "ticket_type__waitlist_offers",
            filter=Q(ticket_type__waitlist_offers__status=status),
            distinct=True,
        )

    return Waitlist.objects.select_related("ticket_type__event").annotate(
        waiting=entries(E.WAITING),
        unverified=entries(E.UNVERIFIED),
        offers_live=offers(O.LIVE),
        offers_accepted=offers(O.ACCEPTED),
        offers_lapsed=offers(O.LAPSED),
        offers_declined=offers(O.DECLINED),
    )


def entry_list_for_waitlist(*, ticket_type_id: int) -> QuerySet[WaitlistEntry]:
    """A ticket type's entries in queue order (waiting first by rank, then the others), with ``rank``."""
    return (
        _with_rank(WaitlistEntry.objects.filter(ticket_type_id=ticket_type_id))
        .select_related("user")
        .order_by(
            Case(When(status=E.WAITING, then=Value(0)), default=Value(1)),
            F("position").asc(nulls_last=True),
            "id",
        )
    )


def entry_list_for_admin() -> QuerySet[WaitlistEntry]:
    """Every entry with ``rank``, its ticket type and event and user: waiting entries first, in line order."""
    return (
        _with_rank(WaitlistEntry.objects.all())
        .select_related("ticket_type__event", "user")
        .order_by(
            "ticket_type_id",
            Case(When(status=E.WAITING, then=Value(0)), default=Value(1)),
            F("position").asc(nulls_last=True),
            "id",
        )
    )


def offer_list_for_waitlist(*, ticket_type_id: int) -> QuerySet[WaitlistOffer]:
    """A ticket type's offers, newest first, with their entries and orders."""
    return (
        WaitlistOffer.objects.filter(ticket_type_id=ticket_type_id)
        .select_related("entry", "order")
        .order_by("-created", "-id")
    )


def waitlist_lottery_replay(*, waitlist: Waitlist) -> bool:
    """True when the recorded draw is what its seed gives for its recorded candidates (the audit)."""
    if waitlist.lottery_seed is None:
        return False
    replayed = lottery_shuffle(entry_ids=list(waitlist.lottery_candidates), seed=waitlist.lottery_seed)
    return replayed == list(waitlist.lottery_order)


def offer_hold_limit(order: Order) -> HoldLimit | None:
    """The latest a waitlist offer's order may be held: the offer's own expiry (the next in line waits for
    these seats). Registered with ``orders.holds`` (``WaitlistConfig.ready()``), so the checkout's one hold
    extension cannot carry the order past it. None: the order is not an offer."""
    until = WaitlistOffer.objects.filter(order_id=order.pk).values_list("expires_at", flat=True).first()
    if until is None:
        return None
    return HoldLimit(
        until=until,
        message="These tickets were offered to you from the waitlist and are held only until the offer "
        "ends (the next person in line is waiting for them): this hold cannot be extended.",
    )

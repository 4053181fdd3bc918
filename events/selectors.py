"""Reads of the catalogue, shaped for their consumers (the HTML pages and the API share them).

Every list selector returns a queryset whose query count does not depend on the number of rows:
venues are joined, lineups and ticket types prefetched, prices and seats left annotated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from events.models import Artist, Event, Genre, Lineup, OrganizerMember, TicketType, Venue

# Statuses a buyer can see in lists; cancelled events keep their page but leave the lists.
LISTED_STATUSES = (Event.Status.PUBLISHED, Event.Status.POSTPONED)
# A ticket type with this many seats or fewer left shows the count ("12 left").
FEW_LEFT = 20
# At or under this share of capacity left, "Almost sold out".
ALMOST_SOLD_OUT_SHARE = 0.1


def _lineup_prefetch() -> Prefetch[Any]:
    return Prefetch("lineup", queryset=Lineup.objects.select_related("artist").order_by("position", "id"))


def _visible_ticket_types() -> QuerySet[TicketType]:
    return TicketType.objects.filter(is_visible=True).order_by("position", "id")


def event_list_public(*, now: datetime | None = None) -> QuerySet[Event]:
    """Upcoming public events, soonest first, venue joined and lineup prefetched, annotated from the
    visible ticket types with ``min_price`` (all-in, None without tickets) and ``price_currency``,
    ``tickets_left`` and ``capacity_total``, ``on_sale_types`` (how many can be bought right now) and
    ``next_sales_start`` (the next sales opening, or None)."""
    now = now or timezone.now()
    visible = Q(ticket_types__is_visible=True)
    # A visible ticket type inside its sales window with seats left (sales_end empty: until the start,
    # which is in the future for every listed event).
    on_sale = (
        visible
        & (Q(ticket_types__sales_start__isnull=True) | Q(ticket_types__sales_start__lte=now))
        & (Q(ticket_types__sales_end__isnull=True) | Q(ticket_types__sales_end__gt=now))
        & Q(ticket_types__capacity__gt=F("ticket_types__sold") + F("ticket_types__held"))
    )
    return (
        Event.objects.filter(status__in=LISTED_STATUSES, starts_at__gte=now)
        .select_related("venue", "organizer")
        .prefetch_related(_lineup_prefetch())
        .annotate(
            min_price=Min(F("ticket_types__price") + F("ticket_types__fee"), filter=visible),
            # The currency of min_price: an event sells all its tickets in one currency.
            price_currency=Min("ticket_types__currency", filter=visible),
            tickets_left=Coalesce(
                Sum(
                    F("ticket_types__capacity") - F("ticket_types__sold") - F("ticket_types__held"),
                    filter=visible,
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            capacity_total=Coalesce(Sum("ticket_types__capacity", filter=visible), Value(0)),
            on_sale_types=Count("ticket_types", filter=on_sale),
            next_sales_start=Min(
                "ticket_types__sales_start", filter=visible & Q(ticket_types__sales_start__gt=now)
            ),
        )
        .order_by("starts_at", "id")
    )


def event_list_home(*, now: datetime | None = None, limit: int = 6) -> dict[str, list[Event]]:
    """The home page: featured upcoming events, and the soonest ones with tickets on sale."""
    upcoming = event_list_public(now=now)
    featured = list(upcoming.filter(is_featured=True)[:limit])
    # On sale now: published (postponed events sell nothing) with a ticket type in its sales window and
    # seats left, not merely seats that go on sale later.
    on_sale = upcoming.filter(Q(on_sale_types__gt=0), status=Event.Status.PUBLISHED)
    soonest = list(on_sale.exclude(pk__in=[e.pk for e in featured])[:limit])
    return {"featured": featured, "soonest": soonest}


def user_is_organizer_member(*, user: User | AnonymousUser, organizer_id: int) -> bool:
    """Staff of this organizer (any role), or a superuser."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return OrganizerMember.objects.filter(user_id=user.pk, organizer_id=organizer_id).exists()


def event_get_for_page(*, slug: str, user: User | AnonymousUser) -> Event | None:
    """One event with venue, organizer, lineup and visible ticket types; ``None`` when it does not exist
    or is a draft the user may not see (drafts are visible to their organizer's staff only)."""
    event = (
        Event.objects.select_related("venue", "organizer")
        .prefetch_related(
            _lineup_prefetch(),
            Prefetch("ticket_types", queryset=_visible_ticket_types()),
            "genres",
        )
        .filter(slug=slug)
        .first()
    )
    if event is None:
        return None
    if event.status == Event.Status.DRAFT and not user_is_organizer_member(
        user=user, organizer_id=event.organizer_id
    ):
        return None
    return event


@dataclass(frozen=True)
class TicketState:
    """What a buyer sees of a ticket type right now."""

    code: str  # on_sale | few_left | almost_sold_out | sold_out | not_yet | ended | unavailable
    label: str
    available: int
    can_buy: bool


def ticket_type_state(*, ticket_type: TicketType, event: Event, now: datetime | None = None) -> TicketState:
    """The state of a ticket type for a buyer: "12 left", "Almost sold out", "Sold out", "Sales start …"."""
    now = now or timezone.now()
    available = ticket_type.available
    if event.status != Event.Status.PUBLISHED:
        return TicketState("unavailable", "Not on sale", available, False)
    if ticket_type.sales_start and now < ticket_type.sales_start:
        local = timezone.localtime(ticket_type.sales_start, ZoneInfo(event.timezone))
        return TicketState("not_yet", f"Sales start {local:%a %-d %b, %H:%M}", available, False)
    sales_end = ticket_type.sales_end or event.starts_at
    if now >= sales_end:
        return TicketState("ended", "Sales ended", available, False)
    if available <= 0:
        return TicketState("sold_out", "Sold out", 0, False)
    if available <= FEW_LEFT:
        return TicketState("few_left", f"{available} left", available, True)
    if ticket_type.capacity and available / ticket_type.capacity <= ALMOST_SOLD_OUT_SHARE:
        return TicketState("almost_sold_out", "Almost sold out", available, True)
    return TicketState("on_sale", "On sale", available, True)


def event_card_state(*, event: Event) -> TicketState:
    """What an event card in a list says about its tickets, from ``event_list_public``'s annotations
    (no query): "Postponed", "Sold out", "12 left", "Sales start …", "On sale"."""
    left: int = event.tickets_left  # type: ignore[attr-defined]
    if event.status == Event.Status.POSTPONED:
        return TicketState("unavailable", "Postponed", left, False)
    if event.status != Event.Status.PUBLISHED:
        return TicketState("unavailable", "Not on sale", left, False)
    if event.min_price is None:  # type: ignore[attr-defined]
        return TicketState("unavailable", "Tickets soon", 0, False)
    if left <= 0:
        return TicketState("sold_out", "Sold out", 0, False)
    if not event.on_sale_types:  # type: ignore[attr-defined]
        next_start: datetime | None = event.next_sales_start  # type: ignore[attr-defined]
        if next_start is None:
            return TicketState("ended", "Sales ended", left, False)
        local = timezone.localtime(next_start, ZoneInfo(event.timezone))
        # Short for a card; the event page gives the time (ticket_type_state).
        return TicketState("not_yet", f"Sales start {local:%-d %b}", left, False)
    if left <= FEW_LEFT:
        return TicketState("few_left", f"{left} left", left, True)
    capacity: int = event.capacity_total  # type: ignore[attr-defined]
    if capacity and left / capacity <= ALMOST_SOLD_OUT_SHARE:
        return TicketState("almost_sold_out", "Almost sold out", left, True)
    return TicketState("on_sale", "On sale", left, True)


def artist_get(*, slug: str) -> Artist | None:
    return Artist.objects.prefetch_related("genres").filter(slug=slug).first()


def venue_get(*, slug: str) -> Venue | None:
    return Venue.objects.filter(slug=slug).first()


def event_list_for_artist(*, artist: Artist, now: datetime | None = None) -> QuerySet[Event]:
    """The artist's upcoming public events."""
    on_bill = Lineup.objects.filter(event_id=OuterRef("pk"), artist_id=artist.pk)
    return event_list_public(now=now).filter(Exists(on_bill))


def event_list_for_venue(*, venue: Venue, now: datetime | None = None) -> QuerySet[Event]:
    """The venue's upcoming public events."""
    return event_list_public(now=now).filter(venue_id=venue.pk)


def city_list() -> list[str]:
    """Cities with upcoming public events, for the city filter."""
    return list(
        Venue.objects.filter(events__status__in=LISTED_STATUSES, events__starts_at__gte=timezone.now())
        .order_by("city")
        .values_list("city", flat=True)
        .distinct()
    )


def genre_list() -> list[Genre]:
    """Every genre, by name, for the genre filter."""
    return list(Genre.objects.order_by("name"))

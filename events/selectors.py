"""Reads of the catalogue, shaped for their consumers (the HTML pages and the API share them).

Every list selector returns a queryset whose query count does not depend on the number of rows:
venues are joined, lineups and ticket types prefetched, prices and seats left annotated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    CharField,
    DateTimeField,
    DecimalField,
    Exists,
    Expression,
    F,
    Field,
    FilteredRelation,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.utils import timezone

from accounts.models import User
from accounts.selectors import membership_active
from events.models import Artist, Event, Genre, Lineup, OrganizerMember, TicketType, Venue

# Statuses a buyer can see in lists; cancelled events keep their page but leave the lists.
LISTED_STATUSES = (Event.Status.PUBLISHED, Event.Status.POSTPONED)
# A ticket type with this many seats or fewer left shows the count ("12 left").
FEW_LEFT = 20
# At or under this share of capacity left, "Almost sold out".
ALMOST_SOLD_OUT_SHARE = 0.1


def _lineup_prefetch() -> Prefetch[Any]:
    # Lineups show the artists' names and links: their bios and search documents stay in the table.
    slots = Lineup.objects.select_related("artist").defer("artist__bio", "artist__search_text")
    return Prefetch("lineup", queryset=slots.order_by("position", "id"))


def _visible_ticket_types() -> QuerySet[TicketType]:
    return TicketType.objects.filter(is_visible=True).order_by("position", "id")


# Columns an event card never shows: the long text and the search documents stay in the table.
LIST_DEFERRED_FIELDS = ("description", "refund_policy", "search_vector", "search_text")


class _VisibleTicketsAggregate(Expression):
    """``(SELECT <aggregate> FROM events_tickettype WHERE event_id = <this event> AND is_visible AND …)``:
    an aggregate over the outer event's visible ticket types, as a correlated subquery, evaluated only
    for the events a query returns, not for every event it filters (PostgreSQL postpones such output
    columns past ``ORDER BY ... LIMIT``).

    Written out rather than built from querysets (``Subquery(TicketType.objects.filter(...)...)``): six of
    those cost some 4 ms of CPU to build and compile for every list, more than the query takes to run.
    ``aggregate`` and ``where`` are SQL over the alias ``tt``, and ``{starts_at}`` in ``where`` stands for
    the outer event's start; ``params`` are values for ``%s`` in ``where``, adapted to the database like
    the ORM adapts them."""

    def __init__(
        self, aggregate: str, *, where: str = "", params: Sequence[Any] = (), output_field: Field[Any, Any]
    ):
        super().__init__(output_field=output_field)
        self.aggregate = aggregate
        self.where = where
        self.params = tuple(params)
        self.event: Any = F("pk")
        self.starts_at: Any = F("starts_at")

    def get_source_expressions(self) -> list[Any]:
        return [self.event, self.starts_at]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.event, self.starts_at = exprs

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        event_sql, event_params = compiler.compile(self.event)
        starts_at_sql, starts_at_params = compiler.compile(self.starts_at)
        assert not starts_at_params, "a column has no parameters"  # noqa: S101 # nosec B101
        where = f" AND ({self.where.replace('{starts_at}', starts_at_sql)})" if self.where else ""
        params = [
            connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value
            for value in self.params
        ]
        # aggregate and where are this module's constants; values travel as parameters.
        # (bandit B608 silenced: no value is formatted into the text.)
        select = f"(SELECT {self.aggregate} FROM events_tickettype AS tt "  # noqa: S608 # nosec B608
        sql = select + f"WHERE tt.event_id = {event_sql} AND tt.is_visible{where})"
        return sql, [*event_params, *params]


def event_list_public(*, now: datetime | None = None) -> QuerySet[Event]:
    """Upcoming public events, soonest first, venue joined and lineup prefetched, annotated from the
    visible ticket types with ``min_price`` (all-in, None without tickets) and ``price_currency``,
    ``tickets_left`` and ``capacity_total``, ``on_sale_types`` (how many can be bought right now),
    ``next_sales_start`` (the next sales opening, or None) and ``presale_types`` (how many with seats left
    are in their members' presale now).

    The annotations are correlated subqueries rather than a GROUP BY over a join: a page of 12 events
    costs 12 x 6 index lookups, whatever the number of upcoming events, and ``count()`` (which Django
    strips of unused annotations) counts the filtered events alone. Filtering or sorting on an annotation
    (price, availability) evaluates it for every candidate event, as it must. The long text columns
    (``LIST_DEFERRED_FIELDS``) are not read: cards and the API's list show none of them."""
    now = now or timezone.now()
    return _with_card_annotations(
        Event.objects.filter(status__in=LISTED_STATUSES, starts_at__gte=now)
        .select_related("venue", "organizer")
        .defer(*LIST_DEFERRED_FIELDS)
        .prefetch_related(_lineup_prefetch()),
        now=now,
    ).order_by("starts_at", "id")


def event_card_states(*, event_ids: Iterable[int], now: datetime | None = None) -> dict[int, Event]:
    """The events with these ids (any status and time), with ``event_list_public``'s annotations and
    only the fields ``event_card_state`` reads: what an event card's price and ticket state are made of,
    read again every few seconds for cards whose other parts are cached longer."""
    queryset = Event.objects.filter(pk__in=list(event_ids)).only("id", "status", "timezone", "starts_at")
    return {event.pk: event for event in _with_card_annotations(queryset, now=now or timezone.now())}


def _with_card_annotations(queryset: QuerySet[Event], *, now: datetime) -> QuerySet[Event]:
    money: Field[Any, Any] = DecimalField(max_digits=12, decimal_places=2)
    integer: Field[Any, Any] = IntegerField()
    # A visible ticket type inside its sales window with seats left (sales_end empty: until the event
    # starts; a list cached for a minute may still show an event that has just started).
    on_sale = (
        "(tt.sales_start IS NULL OR tt.sales_start <= %s) "
        "AND (tt.sales_end > %s OR (tt.sales_end IS NULL AND {starts_at} > %s)) "
        "AND tt.capacity > tt.sold + tt.held"
    )
    in_presale = "tt.member_presale_start <= %s AND tt.sales_start > %s AND tt.capacity > tt.sold + tt.held"
    return queryset.annotate(
        min_price=_VisibleTicketsAggregate("MIN(tt.price + tt.fee)", output_field=money),
        # The currency of min_price: an event sells all its tickets in one currency.
        price_currency=_VisibleTicketsAggregate("MIN(tt.currency)", output_field=CharField()),
        tickets_left=_VisibleTicketsAggregate(
            "COALESCE(SUM(tt.capacity - tt.sold - tt.held), 0)", output_field=integer
        ),
        capacity_total=_VisibleTicketsAggregate("COALESCE(SUM(tt.capacity), 0)", output_field=integer),
        on_sale_types=_VisibleTicketsAggregate(
            "COUNT(*)", where=on_sale, params=(now, now, now), output_field=integer
        ),
        next_sales_start=_VisibleTicketsAggregate(
            "MIN(tt.sales_start)", where="tt.sales_start > %s", params=(now,), output_field=DateTimeField()
        ),
        # In their members' presale now, with seats left (events.selectors.ticket_type_in_member_presale).
        presale_types=_VisibleTicketsAggregate(
            "COUNT(*)", where=in_presale, params=(now, now), output_field=integer
        ),
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


def event_get_for_page(
    *, slug: str, user: User | AnonymousUser, with_ticket_types: bool = True
) -> Event | None:
    """One event with venue, organizer, lineup, genres and (unless ``with_ticket_types`` is false) visible
    ticket types; ``None`` when it does not exist or is a draft the user may not see (drafts are visible
    to their organizer's staff only)."""
    prefetches: list[Any] = [_lineup_prefetch(), "genres"]
    if with_ticket_types:
        prefetches.insert(1, Prefetch("ticket_types", queryset=_visible_ticket_types()))
    event = (
        Event.objects.select_related("venue", "organizer")
        .prefetch_related(*prefetches)
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


# What event_tickets_get reads of the event and of each visible ticket type.
_TICKETS_EVENT_FIELDS = ("id", "slug", "status", "starts_at", "timezone", "created", "organizer_id")
_TICKETS_FIELDS = (
    "id",
    "event_id",
    "name",
    "description",
    "price",
    "fee",
    "currency",
    "capacity",
    "sold",
    "held",
    "sales_start",
    "sales_end",
    "member_presale_start",
    "max_per_order",
    "is_visible",
    "position",
)


@dataclass(frozen=True)
class EventTickets:
    """An event's identity, status and times, with its visible ticket types and their seats now."""

    # Only the fields in _TICKETS_EVENT_FIELDS are loaded (any other is read from the database on access).
    event: Event
    ticket_types: list[TicketType]
    # Every value read, as read: equal signatures mean nothing a buyer is shown has changed.
    signature: tuple[tuple[Any, ...], ...]


def event_tickets_get(*, slug: str, using: str = DEFAULT_DB_ALIAS) -> EventTickets | None:
    """The event with this slug (drafts included: the caller decides who may see them), its status and
    times, and its visible ticket types in order, in one query: what an event page re-reads every few
    seconds, because seats change by UPDATEs that no cache hears of.

    On PostgreSQL the query is written out (a LEFT JOIN): building it with the ORM costs some 1 ms of CPU,
    16 times what running it does, and this runs for a good share of event page views. Elsewhere the ORM
    builds the same query (``FilteredRelation``); a test checks that both read the same."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_TICKETS_SQL, [slug])
            rows = cursor.fetchall()
    else:
        rows = list(_event_tickets_queryset(slug).using(using).values_list(*_tickets_columns()))
    if not rows:
        return None
    width = len(_TICKETS_EVENT_FIELDS)
    event = _partial_instance(Event, dict(zip(_TICKETS_EVENT_FIELDS, rows[0][:width], strict=True)), using)
    ticket_types = [
        _partial_instance(TicketType, dict(zip(_TICKETS_FIELDS, row[width:], strict=True)), using)
        for row in rows
        if row[width] is not None  # the LEFT JOIN's row of an event without visible ticket types
    ]
    return EventTickets(event=event, ticket_types=ticket_types, signature=tuple(tuple(row) for row in rows))


def _tickets_columns() -> list[str]:
    return [*_TICKETS_EVENT_FIELDS, *(f"visible_ticket__{name}" for name in _TICKETS_FIELDS)]


def _event_tickets_queryset(slug: str) -> QuerySet[Event]:
    return (
        Event.objects.filter(slug=slug)
        .annotate(visible_ticket=FilteredRelation("ticket_types", condition=Q(ticket_types__is_visible=True)))
        .order_by("visible_ticket__position", "visible_ticket__id")
    )


# event_tickets_get's query on PostgreSQL: the columns of _TICKETS_EVENT_FIELDS, then of _TICKETS_FIELDS.
_TICKETS_SQL = """
SELECT e.id, e.slug, e.status, e.starts_at, e.timezone, e.created, e.organizer_id,
       t.id, t.event_id, t.name, t.description, t.price, t.fee, t.currency, t.capacity, t.sold, t.held,
       t.sales_start, t.sales_end, t.member_presale_start, t.max_per_order, t.is_visible, t.position
FROM events_event AS e
LEFT JOIN events_tickettype AS t ON t.event_id = e.id AND t.is_visible
WHERE e.slug = %s
ORDER BY t.position, t.id
"""


_M = TypeVar("_M", bound=Model)


def _partial_instance(model: type[_M], values: dict[str, Any], using: str) -> _M:
    """A model instance as the ORM builds it from a row with these columns (the others deferred)."""
    fields = [f for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(using, [f.attname for f in fields], [values[f.attname] for f in fields])


@dataclass(frozen=True)
class TicketState:
    """What a buyer sees of a ticket type right now."""

    code: str  # on_sale | few_left | almost_sold_out | sold_out | presale | not_yet | ended | unavailable
    label: str
    available: int
    can_buy: bool


def ticket_type_in_member_presale(*, ticket_type: TicketType, now: datetime) -> bool:
    """Whether ``ticket_type`` is in its members' presale at ``now``: from ``member_presale_start`` until
    the public ``sales_start``, members may buy it and nobody else may yet."""
    presale, public = ticket_type.member_presale_start, ticket_type.sales_start
    return presale is not None and public is not None and presale <= now < public


def member_presale_admits(
    *, ticket_type: TicketType, user: User | AnonymousUser | None, now: datetime
) -> bool:
    """The members' presale rule, in one place: ``user`` may buy ``ticket_type`` before its public sales
    start only during its presale and with an active membership (``accounts.selectors.membership_active``).
    Checkout, the event page's buy form and the API all ask this."""
    return ticket_type_in_member_presale(ticket_type=ticket_type, now=now) and membership_active(
        user=user, now=now
    )


def ticket_type_state(
    *, ticket_type: TicketType, event: Event, now: datetime | None = None, member: bool = False
) -> TicketState:
    """The state of a ticket type for a buyer: "12 left", "Almost sold out", "Sold out", "Sales start …".

    During its members' presale (``ticket_type_in_member_presale``) the state is ``presale`` (not buyable,
    the label gives the public start) for everyone, except for a caller with ``member`` (an active
    membership, see ``ticket_type_states_for_user``), who gets the seat states (buyable) with the
    presale named in the label."""
    now = now or timezone.now()
    available = ticket_type.available
    if event.status != Event.Status.PUBLISHED:
        return TicketState("unavailable", "Not on sale", available, False)
    in_presale = False
    if ticket_type.sales_start and now < ticket_type.sales_start:
        local = timezone.localtime(ticket_type.sales_start, ZoneInfo(event.timezone))
        presale = ticket_type.member_presale_start
        in_presale = ticket_type_in_member_presale(ticket_type=ticket_type, now=now)
        if in_presale and available <= 0:
            return TicketState("sold_out", "Sold out", 0, False)
        if in_presale and not member:
            label = f"Members' presale — opens to everyone on {local:%a %-d %b, %H:%M}"
            return TicketState("presale", label, available, False)
        if not in_presale and presale is not None:
            members = timezone.localtime(presale, ZoneInfo(event.timezone))
            label = f"Sales start {local:%a %-d %b, %H:%M}; members from {members:%a %-d %b, %H:%M}"
            return TicketState("not_yet", label, available, False)
        if not in_presale:
            return TicketState("not_yet", f"Sales start {local:%a %-d %b, %H:%M}", available, False)
    state = _seat_state(ticket_type=ticket_type, event=event, now=now, available=available)
    if in_presale and state.can_buy:
        # A member in the presale: buyable, and told why they can buy before everyone else.
        return replace(state, label=f"{state.label} (members' presale)")
    return state


def _seat_state(*, ticket_type: TicketType, event: Event, now: datetime, available: int) -> TicketState:
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


def ticket_type_states_for_user(
    *,
    ticket_types: Iterable[TicketType],
    event: Event,
    user: User | AnonymousUser | None,
    now: datetime | None = None,
) -> dict[int, TicketState]:
    """Each ticket type's state for ``user`` (by id): during a members' presale, ticket types in it are
    buyable for a member (``member_presale_admits``) and ``presale`` for anyone else. The membership is
    read (one query) only when a ticket type is in its presale."""
    now = now or timezone.now()
    ticket_types = list(ticket_types)
    presale = [tt for tt in ticket_types if ticket_type_in_member_presale(ticket_type=tt, now=now)]
    member = bool(presale) and member_presale_admits(ticket_type=presale[0], user=user, now=now)
    return {
        tt.pk: ticket_type_state(ticket_type=tt, event=event, now=now, member=member) for tt in ticket_types
    }


def event_card_state(*, event: Event) -> TicketState:
    """What an event card in a list says about its tickets, from ``event_list_public``'s annotations
    (no query): "Postponed", "Sold out", "12 left", "Members' presale — public sale from …",
    "Sales start …", "On sale". The same for every visitor (lists are cached): a member buys in the presale
    on the event page."""
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
        if event.presale_types:  # type: ignore[attr-defined]
            # The same words for everyone (cards are cached for visitors): members buy on the event page.
            return TicketState(
                "presale", f"Members' presale — public sale from {local:%-d %b, %H:%M}", left, False
            )
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

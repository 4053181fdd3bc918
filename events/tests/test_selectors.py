"""The catalogue's reads: what a buyer is told about events and tickets."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.tests.factories import SuperuserFactory, VerifiedUserFactory
from events.models import Event, TicketType
from events.selectors import (
    event_get_for_page,
    event_list_home,
    event_list_public,
    ticket_type_state,
)
from events.tests.factories import EventFactory, OrganizerMemberFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db


def _sell(ticket_type: TicketType, *, sold: int, held: int = 0) -> TicketType:
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=sold, held=held)
    ticket_type.refresh_from_db()
    return ticket_type


def test_public_list_has_upcoming_listed_events_with_all_in_price_and_seats_left() -> None:
    event = EventFactory()
    TicketTypeFactory(event=event, price=Decimal("20.00"), fee=Decimal("2.00"), capacity=50)
    _sell(TicketTypeFactory(event=event, price=Decimal("10.00"), fee=Decimal("1.50"), capacity=30), sold=30)
    TicketTypeFactory(event=event, price=Decimal("1.00"), fee=Decimal("0"), capacity=5, is_visible=False)
    EventFactory(status=Event.Status.DRAFT)
    EventFactory(status=Event.Status.CANCELLED)
    EventFactory(starts_at=timezone.now() - timedelta(days=1), ends_at=None, doors_at=None)

    listed = list(event_list_public())

    assert [e.pk for e in listed] == [event.pk]
    assert listed[0].min_price == Decimal("11.50")  # the hidden €1 ticket is not offered
    assert listed[0].tickets_left == 50


def test_event_without_ticket_types_has_no_price_and_no_seats() -> None:
    EventFactory()
    (event,) = event_list_public()
    assert event.min_price is None
    assert event.tickets_left == 0


def test_home_features_first_and_lists_only_events_with_tickets_left() -> None:
    featured = EventFactory(is_featured=True)
    on_sale = EventFactory()
    TicketTypeFactory(event=on_sale)
    _sell(TicketTypeFactory(event=EventFactory()), sold=100)

    home = event_list_home()

    assert [e.pk for e in home["featured"]] == [featured.pk]
    assert [e.pk for e in home["soonest"]] == [on_sale.pk]


def test_drafts_are_visible_only_to_their_organizers_staff() -> None:
    draft = EventFactory(status=Event.Status.DRAFT)
    member = OrganizerMemberFactory(organizer=draft.organizer).user
    stranger = OrganizerMemberFactory().user  # staff of another organizer

    assert event_get_for_page(slug=draft.slug, user=AnonymousUser()) is None
    assert event_get_for_page(slug=draft.slug, user=VerifiedUserFactory()) is None
    assert event_get_for_page(slug=draft.slug, user=stranger) is None
    assert event_get_for_page(slug=draft.slug, user=member) == draft
    assert event_get_for_page(slug=draft.slug, user=SuperuserFactory()) == draft


@pytest.mark.parametrize(
    ("capacity", "sold", "held", "code", "label"),
    [
        (500, 0, 0, "on_sale", "On sale"),
        (500, 470, 0, "almost_sold_out", "Almost sold out"),
        (500, 480, 8, "few_left", "12 left"),
        (500, 490, 10, "sold_out", "Sold out"),
    ],
)
def test_ticket_state_tells_how_many_are_left(
    capacity: int, sold: int, held: int, code: str, label: str
) -> None:
    ticket_type = _sell(TicketTypeFactory(capacity=capacity), sold=sold, held=held)
    state = ticket_type_state(ticket_type=ticket_type, event=ticket_type.event)
    assert (state.code, state.label) == (code, label)
    assert state.can_buy is (code != "sold_out")


def test_ticket_state_shows_the_sales_start_in_the_events_timezone() -> None:
    start = (timezone.now() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    ticket_type = TicketTypeFactory(sales_start=start, event=EventFactory(timezone="Asia/Tokyo"))
    state = ticket_type_state(ticket_type=ticket_type, event=ticket_type.event)
    assert state.code == "not_yet"
    assert state.label.endswith("18:00")  # 09:00 UTC is 18:00 in Tokyo (no daylight saving there)
    assert not state.can_buy


def test_ticket_state_after_sales_end_and_for_cancelled_events() -> None:
    ended = TicketTypeFactory(sales_end=timezone.now() - timedelta(minutes=1))
    assert ticket_type_state(ticket_type=ended, event=ended.event).code == "ended"

    cancelled = TicketTypeFactory(event=EventFactory(status=Event.Status.CANCELLED))
    state = ticket_type_state(ticket_type=cancelled, event=cancelled.event)
    assert (state.code, state.can_buy) == ("unavailable", False)


def test_public_list_query_count_does_not_grow_with_rows(django_assert_max_num_queries) -> None:
    def build(n: int) -> None:
        for _ in range(n):
            event = EventFactory()
            TicketTypeFactory(event=event)

    build(3)
    with django_assert_max_num_queries(2):
        small = [(e.venue.city, [slot.artist.name for slot in e.lineup.all()]) for e in event_list_public()]
    build(25)
    with django_assert_max_num_queries(2):
        large = [(e.venue.city, [slot.artist.name for slot in e.lineup.all()]) for e in event_list_public()]
    assert len(small) == 3
    assert len(large) == 28


def test_event_tickets_reads_status_times_and_visible_ticket_types_in_one_query(
    django_assert_num_queries,
) -> None:
    from events.selectors import _event_tickets_queryset, _tickets_columns, event_tickets_get

    event = EventFactory()
    second = TicketTypeFactory(event=event, name="Second", position=2)
    first = _sell(TicketTypeFactory(event=event, name="First", position=1), sold=7, held=2)
    TicketTypeFactory(event=event, name="Hidden", is_visible=False)
    empty = EventFactory(status=Event.Status.DRAFT)

    with django_assert_num_queries(1):
        tickets = event_tickets_get(slug=event.slug)
    assert tickets is not None
    assert (tickets.event.pk, tickets.event.status, tickets.event.starts_at) == (
        event.pk,
        event.status,
        event.starts_at,
    )
    assert [tt.pk for tt in tickets.ticket_types] == [first.pk, second.pk]
    assert (tickets.ticket_types[0].available, tickets.ticket_types[0].price) == (91, Decimal("25.00"))
    # The query written out for PostgreSQL reads what the ORM's would, value for value.
    orm_rows = tuple(
        tuple(row) for row in _event_tickets_queryset(event.slug).values_list(*_tickets_columns())
    )
    assert tickets.signature == orm_rows

    drafted = event_tickets_get(slug=empty.slug)
    assert drafted is not None
    assert drafted.ticket_types == []
    assert drafted.event.status == Event.Status.DRAFT
    assert event_tickets_get(slug="no-such-event") is None


def test_card_states_read_what_the_public_list_annotates(django_assert_num_queries) -> None:
    from events.selectors import event_card_state, event_card_states

    events = []
    for sold in (0, 95, 100):
        event = EventFactory()
        _sell(TicketTypeFactory(event=event, capacity=100), sold=sold)
        events.append(event)
    events.append(EventFactory())  # no tickets yet
    listed = {event.pk: event for event in event_list_public()}

    with django_assert_num_queries(1):
        states = event_card_states(event_ids=[event.pk for event in events])
    for event in events:
        fields = ("min_price", "price_currency", "tickets_left", "capacity_total", "on_sale_types")
        assert [getattr(states[event.pk], f) for f in fields] == [
            getattr(listed[event.pk], f) for f in fields
        ]
        assert event_card_state(event=states[event.pk]) == event_card_state(event=listed[event.pk])


def test_the_card_of_an_event_that_has_just_started_says_sales_ended() -> None:
    from events.selectors import event_card_state, event_card_states

    # A list is cached for up to a minute: a card may be shown again after its event started.
    started = EventFactory(starts_at=timezone.now() - timedelta(minutes=1), ends_at=None, doors_at=None)
    TicketTypeFactory(event=started)
    state = event_card_state(event=event_card_states(event_ids=[started.pk])[started.pk])
    assert (state.code, state.label) == ("ended", "Sales ended")

"""The catalogue's writes: events with lineups and ticket types, who may make them, and what they refuse."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import SuperuserFactory, VerifiedUserFactory
from events.exceptions import (
    EventNotDeletable,
    EventPermissionDenied,
    EventStatusTransitionNotAllowed,
    TicketTypeCapacityBelowSold,
    TicketTypeHasSales,
    TicketTypeUnknown,
    VenueNotAllowed,
)
from events.models import Event, Lineup, Organizer, OrganizerMember, TicketType
from events.services import event_create, event_delete, event_update
from events.tests.factories import (
    ArtistFactory,
    EventFactory,
    GenreFactory,
    OrganizerFactory,
    OrganizerMemberFactory,
    TicketTypeFactory,
    VenueFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def member(organizer: Organizer, role: str = OrganizerMember.Role.MANAGER) -> User:
    return OrganizerMemberFactory(organizer=organizer, role=role).user


def sell(ticket_type: TicketType, *, sold: int, held: int = 0) -> TicketType:
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=sold, held=held)
    ticket_type.refresh_from_db()
    return ticket_type


def create(actor: User, organizer: Organizer, **overrides: Any) -> Event:
    starts_at = timezone.now() + timedelta(days=30)
    fields: dict[str, Any] = {
        "actor": actor,
        "organizer": organizer,
        "venue": VenueFactory(organizer=organizer),
        "title": "Jazz Night",
        "starts_at": starts_at,
        "timezone": "Europe/Lisbon",
    }
    fields.update(overrides)
    return event_create(**fields)


def spec(**overrides: Any) -> dict[str, Any]:
    return {"name": "Standing", "price": Decimal("20.00"), "capacity": 100, **overrides}


def test_create_an_event_with_genres_lineup_and_ticket_types() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)
    jazz = GenreFactory(slug="jazz", name="Jazz")
    headliner, support = ArtistFactory(), ArtistFactory()

    event = create(
        manager,
        organizer,
        status=Event.Status.PUBLISHED,
        genres=[jazz],
        lineup=[{"artist": headliner, "is_headliner": True}, {"artist": support}],
        ticket_types=[spec(fee=Decimal("2.00")), spec(name="Balcony", price=Decimal("35.00"), capacity=40)],
    )

    event.refresh_from_db()
    assert event.slug == "jazz-night"
    assert event.status == Event.Status.PUBLISHED
    assert list(event.genres.all()) == [jazz]
    assert [(s.artist, s.position, s.is_headliner) for s in event.lineup.all()] == [
        (headliner, 1, True),
        (support, 2, False),
    ]
    types = list(event.ticket_types.order_by("position"))
    assert [(t.name, t.price, t.fee, t.capacity, t.sold, t.held) for t in types] == [
        ("Standing", Decimal("20.00"), Decimal("2.00"), 100, 0, 0),
        ("Balcony", Decimal("35.00"), Decimal("0.00"), 40, 0, 0),
    ]
    assert event.history.latest().history_user == manager


def test_slugs_are_unique_and_made_from_the_title() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)

    slugs = [create(manager, organizer, title="Fado à Noite").slug for _ in range(3)]
    untitled = create(manager, organizer, title="!!!").slug

    assert slugs == ["fado-a-noite", "fado-a-noite-2", "fado-a-noite-3"]
    assert untitled == "event"


def test_slug_stays_when_the_title_changes() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)
    event = create(manager, organizer)

    event = event_update(actor=manager, event=event, changes={"title": "Jazz Night (moved)"})

    event.refresh_from_db()
    assert (event.title, event.slug) == ("Jazz Night (moved)", "jazz-night")


@pytest.mark.parametrize("role", [OrganizerMember.Role.BOX_OFFICE, None])
def test_box_office_and_strangers_cannot_create(role: str | None) -> None:
    organizer = OrganizerFactory()
    actor = member(organizer, role) if role else VerifiedUserFactory()

    with pytest.raises(EventPermissionDenied):
        create(actor, organizer, venue=VenueFactory())

    assert not Event.objects.exists()


def test_a_manager_cannot_create_for_another_organizer() -> None:
    mine, theirs = OrganizerFactory(), OrganizerFactory()

    with pytest.raises(EventPermissionDenied):
        create(member(mine), theirs, venue=VenueFactory(organizer=None))


def test_superusers_act_for_every_organizer() -> None:
    event = create(SuperuserFactory(), OrganizerFactory())

    assert event.pk


def test_venue_must_be_the_organizers_or_shared() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)

    with pytest.raises(VenueNotAllowed):
        create(manager, organizer, venue=VenueFactory(organizer=OrganizerFactory()))
    shared = create(manager, organizer, venue=VenueFactory(organizer=None))

    assert shared.venue.organizer is None


def test_times_are_checked_with_readable_messages() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)
    starts_at = timezone.now() + timedelta(days=3)

    with pytest.raises(ValidationError) as error:
        create(
            manager,
            organizer,
            starts_at=starts_at,
            ends_at=starts_at - timedelta(hours=1),
            doors_at=starts_at + timedelta(hours=1),
        )

    assert set(error.value.message_dict) == {"ends_at", "doors_at"}


def test_a_new_event_is_a_draft_or_published() -> None:
    organizer = OrganizerFactory()

    with pytest.raises(ValidationError) as error:
        create(member(organizer), organizer, status=Event.Status.CANCELLED)

    assert "status" in error.value.message_dict


def test_lineup_lists_an_artist_once() -> None:
    organizer = OrganizerFactory()
    artist = ArtistFactory()

    with pytest.raises(ValidationError) as error:
        create(member(organizer), organizer, lineup=[{"artist": artist}, {"artist": artist}])

    assert "lineup" in error.value.message_dict


def test_invalid_ticket_type_errors_name_the_item() -> None:
    organizer = OrganizerFactory()
    start = timezone.now() + timedelta(days=1)

    with pytest.raises(ValidationError) as error:
        create(
            member(organizer),
            organizer,
            ticket_types=[spec(), spec(sales_start=start, sales_end=start - timedelta(hours=1))],
        )

    assert list(error.value.message_dict) == ["ticket_types.1.sales_end"]


def test_ticket_types_of_an_event_share_one_currency() -> None:
    organizer = OrganizerFactory()

    with pytest.raises(ValidationError):
        create(member(organizer), organizer, ticket_types=[spec(currency="EUR"), spec(currency="GBP")])


def test_update_changes_only_the_given_fields() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)
    event = create(manager, organizer, description="Before", refund_policy="None.")

    event_update(actor=manager, event=event, changes={"description": "After", "age_limit": 18})

    event.refresh_from_db()
    assert (event.description, event.age_limit, event.refund_policy) == ("After", 18, "None.")


def test_update_replaces_the_lineup() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)
    old, new = ArtistFactory(), ArtistFactory()
    event = create(manager, organizer, lineup=[{"artist": old}])

    event_update(actor=manager, event=event, changes={"lineup": [{"artist": new, "is_headliner": True}]})

    assert list(Lineup.objects.filter(event=event).values_list("artist", "is_headliner")) == [(new.pk, True)]


def test_update_keeps_the_counters_and_refuses_a_capacity_below_sold_and_held() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)
    event = EventFactory(organizer=organizer)
    ticket_type = sell(TicketTypeFactory(event=event, capacity=100), sold=60, held=10)

    with pytest.raises(TicketTypeCapacityBelowSold) as error:
        event_update(
            actor=manager, event=event, changes={"ticket_types": [spec(id=ticket_type.pk, capacity=69)]}
        )
    assert error.value.extra["sold"] == 60
    event_update(
        actor=manager,
        event=event,
        changes={"ticket_types": [spec(id=ticket_type.pk, name="Renamed", capacity=70)]},
    )

    ticket_type.refresh_from_db()
    assert (ticket_type.name, ticket_type.capacity, ticket_type.sold, ticket_type.held) == (
        "Renamed",
        70,
        60,
        10,
    )


def test_update_adds_and_removes_ticket_types_but_never_one_with_sales() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)
    event = EventFactory(organizer=organizer)
    unsold = TicketTypeFactory(event=event, name="Unsold")
    sold = sell(TicketTypeFactory(event=event, name="Sold"), sold=1)
    hidden = TicketTypeFactory(event=event, name="Hidden", is_visible=False)

    with pytest.raises(TicketTypeHasSales):
        event_update(actor=manager, event=event, changes={"ticket_types": [spec(name="New")]})
    event_update(
        actor=manager,
        event=event,
        changes={"ticket_types": [spec(id=sold.pk, name="Sold", capacity=100), spec(name="New")]},
    )

    names = set(TicketType.objects.filter(event=event).values_list("name", flat=True))
    assert names == {"Sold", "New", "Hidden"}
    assert not TicketType.objects.filter(pk=unsold.pk).exists()
    assert TicketType.objects.filter(pk=hidden.pk).exists()


def test_update_refuses_another_events_ticket_type() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)
    event = EventFactory(organizer=organizer)
    elsewhere = TicketTypeFactory(event=EventFactory(organizer=organizer))

    with pytest.raises(TicketTypeUnknown):
        event_update(actor=manager, event=event, changes={"ticket_types": [spec(id=elsewhere.pk)]})


def test_update_by_box_office_or_another_organizer_is_refused() -> None:
    event = EventFactory()
    box_office = member(event.organizer, OrganizerMember.Role.BOX_OFFICE)
    other_manager = member(OrganizerFactory())

    for actor in (box_office, other_manager):
        with pytest.raises(EventPermissionDenied):
            event_update(actor=actor, event=event, changes={"title": "Hijacked"})

    event.refresh_from_db()
    assert event.title != "Hijacked"


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (Event.Status.DRAFT, Event.Status.PUBLISHED, True),
        (Event.Status.PUBLISHED, Event.Status.POSTPONED, True),
        (Event.Status.POSTPONED, Event.Status.PUBLISHED, True),
        (Event.Status.PUBLISHED, Event.Status.CANCELLED, True),
        (Event.Status.PUBLISHED, Event.Status.DRAFT, False),
        (Event.Status.CANCELLED, Event.Status.PUBLISHED, False),
    ],
)
def test_status_moves_follow_the_transition_table(current: str, new: str, allowed: bool) -> None:
    event = EventFactory(status=current)
    manager = member(event.organizer)

    if allowed:
        event_update(actor=manager, event=event, changes={"status": new})
    else:
        with pytest.raises(EventStatusTransitionNotAllowed):
            event_update(actor=manager, event=event, changes={"status": new})

    event.refresh_from_db()
    assert event.status == (new if allowed else current)


def test_delete_a_draft() -> None:
    event = EventFactory(status=Event.Status.DRAFT)
    TicketTypeFactory(event=event)

    event_delete(actor=member(event.organizer), event=event)

    assert not Event.objects.filter(pk=event.pk).exists()
    assert not TicketType.objects.filter(event_id=event.pk).exists()


@pytest.mark.parametrize("status", [Event.Status.PUBLISHED, Event.Status.CANCELLED, Event.Status.POSTPONED])
def test_only_drafts_can_be_deleted(status: str) -> None:
    event = EventFactory(status=status)

    with pytest.raises(EventNotDeletable) as error:
        event_delete(actor=member(event.organizer), event=event)

    assert "cancel" in error.value.message
    assert Event.objects.filter(pk=event.pk).exists()


def test_a_draft_with_seats_held_is_not_deleted() -> None:
    event = EventFactory(status=Event.Status.DRAFT)
    sell(TicketTypeFactory(event=event), sold=0, held=2)

    with pytest.raises(EventNotDeletable):
        event_delete(actor=member(event.organizer), event=event)


def test_box_office_cannot_delete() -> None:
    event = EventFactory(status=Event.Status.DRAFT)

    with pytest.raises(EventPermissionDenied):
        event_delete(actor=member(event.organizer, OrganizerMember.Role.BOX_OFFICE), event=event)

    assert Event.objects.filter(pk=event.pk).exists()

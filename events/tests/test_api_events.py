"""The events API: public lists and pages, organizer writes, artists, venues, genres.

Clients sign in the way the mobile app does (allauth headless session token, ``X-Session-Token``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import VerifiedUserFactory
from accounts.tests.helpers import api_client as api
from events.models import Event, Organizer, OrganizerMember, TicketType
from events.tests.factories import (
    ArtistFactory,
    EventFactory,
    GenreFactory,
    LineupFactory,
    OrganizerFactory,
    OrganizerMemberFactory,
    TicketTypeFactory,
    VenueFactory,
)

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"
PROBLEM = "application/problem+json"
# A Wednesday morning (UTC): the coming weekend is 13-15 June.
WEDNESDAY = datetime(2031, 6, 11, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- helpers ----------------------------------------------------------------------------------------------


def member(organizer: Organizer, role: str = OrganizerMember.Role.MANAGER) -> User:
    return OrganizerMemberFactory(organizer=organizer, role=role).user


def detail(event: Event | str) -> str:
    return f"{EVENTS}{event if isinstance(event, str) else event.slug}/"


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code, body
    return body


def slugs(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["slug"] for item in response.json()["results"]]


def sell(ticket_type: TicketType, *, sold: int, held: int = 0) -> None:
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=sold, held=held)


def in_days(days: float, hour: int = 20) -> datetime:
    return (timezone.now() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def event_at(starts_at: datetime, **fields: Any) -> Event:
    return EventFactory(starts_at=starts_at, ends_at=None, doors_at=None, **fields)


def create_body(organizer: Organizer, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organizer": organizer.slug,
        "venue": VenueFactory(organizer=organizer).slug,
        "title": "Jazz Night",
        "starts_at": in_days(30).isoformat(),
        "timezone": "Europe/Lisbon",
    }
    body.update(overrides)
    return body


# --- list -------------------------------------------------------------------------------------------------


def test_list_item_shape() -> None:
    event = EventFactory(title="Big Night", venue=VenueFactory(name="Coliseu", city="Porto", country="PT"))
    LineupFactory(event=event, artist=ArtistFactory(name="Support"), position=2)
    LineupFactory(event=event, artist=ArtistFactory(name="Star"), position=1, is_headliner=True)
    TicketTypeFactory(event=event, price=Decimal("20.00"), fee=Decimal("2.50"), capacity=15)
    TicketTypeFactory(event=event, price=Decimal("40.00"), fee=Decimal("0"), capacity=5)

    response = api().get(EVENTS)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=5"
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    (item,) = body["results"]
    assert item == {
        "slug": event.slug,
        "title": "Big Night",
        "starts_at": event.starts_at.isoformat().replace("+00:00", "Z"),
        "timezone": "Europe/Lisbon",
        "status": "published",
        "venue": {"slug": event.venue.slug, "name": "Coliseu", "city": "Porto", "country": "PT"},
        "headliners": ["Star"],
        "min_price": "22.50",
        "currency": "EUR",
        "tickets_left": 20,
        "tickets": {"code": "few_left", "label": "20 left"},
    }


def test_list_hides_drafts_cancelled_and_past_events_and_orders_soonest_first() -> None:
    later = event_at(in_days(20))
    sooner = event_at(in_days(3))
    EventFactory(status=Event.Status.DRAFT)
    EventFactory(status=Event.Status.CANCELLED)
    event_at(in_days(-1))

    assert slugs(api().get(EVENTS)) == [sooner.slug, later.slug]


def test_filter_by_city_and_genre() -> None:
    lisbon = EventFactory(venue=VenueFactory(city="Lisbon"))
    porto = EventFactory(venue=VenueFactory(city="Porto"))
    jazz = GenreFactory(slug="jazz")
    porto.genres.add(jazz)

    assert slugs(api().get(EVENTS, {"city": "porto"})) == [porto.slug]
    assert slugs(api().get(EVENTS, {"city": "Lisbon"})) == [lisbon.slug]
    assert slugs(api().get(EVENTS, {"genre": "jazz"})) == [porto.slug]
    assert slugs(api().get(EVENTS, {"genre": "jazz", "city": "Lisbon"})) == []


def test_filter_free_or_paid() -> None:
    free = event_at(in_days(2))
    TicketTypeFactory(event=free, price=Decimal("0"), fee=Decimal("0"))
    paid = event_at(in_days(3))
    TicketTypeFactory(event=paid)

    assert slugs(api().get(EVENTS, {"price": "free"})) == [free.slug]
    assert slugs(api().get(EVENTS, {"price": "paid"})) == [paid.slug]
    assert api().get(EVENTS, {"price": "free"}).json()["results"][0]["min_price"] == "0.00"


def test_filter_by_date_preset() -> None:
    with time_machine.travel(WEDNESDAY, tick=False):
        tonight = event_at(datetime(2031, 6, 11, 21, 0, tzinfo=UTC))
        saturday = event_at(datetime(2031, 6, 14, 20, 0, tzinfo=UTC))
        next_tuesday = event_at(datetime(2031, 6, 17, 20, 0, tzinfo=UTC))
        july = event_at(datetime(2031, 7, 2, 20, 0, tzinfo=UTC))

        assert slugs(api().get(EVENTS, {"date": "today"})) == [tonight.slug]
        assert slugs(api().get(EVENTS, {"date": "weekend"})) == [saturday.slug]
        assert slugs(api().get(EVENTS, {"date": "month"})) == [tonight.slug, saturday.slug, next_tuesday.slug]
        assert slugs(api().get(EVENTS, {"date_from": "2031-06-15", "date_to": "2031-07-31"})) == [
            next_tuesday.slug,
            july.slug,
        ]


def test_filter_available() -> None:
    on_sale = event_at(in_days(2))
    TicketTypeFactory(event=on_sale)
    sold_out = event_at(in_days(3))
    sell(TicketTypeFactory(event=sold_out, capacity=10), sold=8, held=2)

    assert slugs(api().get(EVENTS, {"available": "true"})) == [on_sale.slug]
    assert slugs(api().get(EVENTS, {"available": "false"})) == [sold_out.slug]
    card = api().get(EVENTS, {"available": "false"}).json()["results"][0]
    assert (card["tickets_left"], card["tickets"]["code"]) == (0, "sold_out")


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"date": "someday"}, "date"),
        ({"price": "cheap"}, "price"),
        ({"date_from": "not-a-date"}, "date_from"),
        ({"sort": "random"}, "sort"),
        ({"q": "x" * 201}, "q"),
        ({"available": "maybe"}, "available"),
    ],
)
def test_invalid_filter_is_a_validation_problem_naming_the_field(params: dict[str, str], attr: str) -> None:
    EventFactory()

    body = problem(api().get(EVENTS, params), 400, "validation_error")

    assert [error["attr"] for error in body["errors"]] == [attr]
    assert body["instance"] == EVENTS


def test_cursor_pages_follow_the_soonest_order_without_gaps_or_repeats() -> None:
    events = [event_at(in_days(1 + day // 2, hour=18 + day % 2)) for day in range(7)]
    # Two events at the very same time: the id breaks the tie.
    events.append(event_at(events[-1].starts_at))

    seen: list[str] = []
    url: str | None = f"{EVENTS}?page_size=3"
    while url:
        body = api().get(url).json()
        seen += [item["slug"] for item in body["results"]]
        assert len(body["results"]) <= 3
        url = body["next"]
        assert url is None or "cursor=" in url

    assert seen == [e.slug for e in sorted(events, key=lambda e: (e.starts_at, e.pk))]


def test_price_sort_pages_by_number_over_a_total_order() -> None:
    priced = []
    for index in range(7):
        event = event_at(in_days(1 + index))
        TicketTypeFactory(event=event, price=Decimal("10.00") * (index % 2), fee=Decimal("0"))
        priced.append(event)
    no_tickets = event_at(in_days(0.5))

    seen: list[str] = []
    url: str | None = f"{EVENTS}?sort=price&page_size=3"
    while url:
        body = api().get(url).json()
        seen += [item["slug"] for item in body["results"]]
        url = body["next"]
        assert url is None or ("page=" in url and "cursor=" not in url)

    free = [priced[i].slug for i in (0, 2, 4, 6)]
    paid = [priced[i].slug for i in (1, 3, 5)]
    assert seen == [*free, *paid, no_tickets.slug]  # cheapest first, then soonest; no price last
    second = api().get(f"{EVENTS}?sort=price&page_size=3&page=2").json()
    assert "page=" not in second["previous"]


def test_invalid_page_number_is_a_validation_problem() -> None:
    body = problem(api().get(EVENTS, {"sort": "price", "page": "0"}), 400, "validation_error")

    assert body["errors"][0]["attr"] == "page"


@pytest.mark.parametrize("sort", ["soonest", "price"])
def test_list_query_count_does_not_grow_with_rows(django_assert_max_num_queries: Any, sort: str) -> None:
    def add_events(count: int) -> None:
        for _ in range(count):
            event = EventFactory()
            event.genres.add(GenreFactory())
            LineupFactory(event=event, is_headliner=True)
            LineupFactory(event=event)
            TicketTypeFactory(event=event)
            TicketTypeFactory(event=event, price=Decimal("50.00"))

    client = api()
    add_events(3)
    with django_assert_max_num_queries(3):
        assert len(client.get(EVENTS, {"sort": sort}).json()["results"]) == 3
    add_events(22)
    with django_assert_max_num_queries(3):
        assert len(client.get(EVENTS, {"sort": sort, "page_size": 25}).json()["results"]) == 25


# --- detail -----------------------------------------------------------------------------------------------


def test_detail_has_lineup_venue_genres_and_ticket_types_with_state() -> None:
    event = EventFactory(age_limit=18)
    event.genres.add(GenreFactory(slug="jazz", name="Jazz"))
    LineupFactory(event=event, artist=ArtistFactory(name="Star", slug="star"), position=1, is_headliner=True)
    on_sale = TicketTypeFactory(event=event, name="Standing", price=Decimal("20.00"), fee=Decimal("2.50"))
    sold_out = TicketTypeFactory(event=event, name="VIP", capacity=10, position=1)
    sell(sold_out, sold=10)
    later = TicketTypeFactory(event=event, name="Late", sales_start=in_days(3), position=2)
    TicketTypeFactory(event=event, name="Secret", is_visible=False)

    response = api().get(detail(event))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=5"
    body = response.json()
    assert body["slug"] == event.slug
    assert body["age_limit"] == 18
    assert body["organizer"] == {"slug": event.organizer.slug, "name": event.organizer.name}
    assert body["venue"]["slug"] == event.venue.slug
    assert body["venue"]["latitude"] == "38.710000"
    assert body["genres"] == [{"slug": "jazz", "name": "Jazz"}]
    assert body["lineup"] == [
        {"artist": {"slug": "star", "name": "Star"}, "position": 1, "is_headliner": True, "set_time": None}
    ]
    types = {t["name"]: t for t in body["ticket_types"]}
    assert list(types) == ["Standing", "VIP", "Late"]  # hidden ones are not offered
    assert types["Standing"] | {"sales_start": None} == {
        "id": on_sale.pk,
        "name": "Standing",
        "description": "",
        "price": "20.00",
        "fee": "2.50",
        "all_in_price": "22.50",
        "currency": "EUR",
        "max_per_order": 6,
        "sales_start": None,
        "sales_end": None,
        "member_presale_start": None,
        "state": {"code": "on_sale", "label": "On sale"},
        "available": 100,
        "can_buy": True,
    }
    assert (types["VIP"]["state"]["code"], types["VIP"]["available"], types["VIP"]["can_buy"]) == (
        "sold_out",
        0,
        False,
    )
    assert types["Late"]["state"]["code"] == "not_yet"
    assert later.pk == types["Late"]["id"]


def test_detail_availability_is_read_fresh() -> None:
    ticket_type = TicketTypeFactory(capacity=30)
    client = api()
    assert client.get(detail(ticket_type.event)).json()["ticket_types"][0]["available"] == 30

    sell(ticket_type, sold=25, held=3)

    fresh = client.get(detail(ticket_type.event)).json()["ticket_types"][0]
    assert (fresh["available"], fresh["state"]) == (2, {"code": "few_left", "label": "2 left"})


def test_detail_of_an_unknown_slug_is_404() -> None:
    problem(api().get(detail("nope")), 404, "not_found")


def test_draft_is_visible_to_its_organizers_staff_only() -> None:
    draft = EventFactory(status=Event.Status.DRAFT)
    box_office = member(draft.organizer, OrganizerMember.Role.BOX_OFFICE)
    other_manager = member(OrganizerFactory())

    problem(api().get(detail(draft)), 404, "not_found")
    problem(api(VerifiedUserFactory()).get(detail(draft)), 404, "not_found")
    problem(api(other_manager).get(detail(draft)), 404, "not_found")
    assert api(box_office).get(detail(draft)).json()["status"] == "draft"
    assert api(member(draft.organizer)).get(detail(draft)).status_code == 200
    assert draft.slug not in slugs(api(member(draft.organizer)).get(EVENTS))


def test_detail_query_count(django_assert_max_num_queries: Any) -> None:
    event = EventFactory()
    for _ in range(5):
        LineupFactory(event=event)
        TicketTypeFactory(event=event)
    event.genres.add(GenreFactory(), GenreFactory())

    with django_assert_max_num_queries(4):
        assert len(api().get(detail(event)).json()["ticket_types"]) == 5


# --- create -----------------------------------------------------------------------------------------------


def test_manager_creates_an_event_with_lineup_and_ticket_types() -> None:
    organizer = OrganizerFactory()
    manager = member(organizer)
    GenreFactory(slug="jazz", name="Jazz")
    star = ArtistFactory(slug="star")
    body = create_body(
        organizer,
        description="Late and loud.",
        status="published",
        genres=["jazz"],
        lineup=[{"artist": "star", "is_headliner": True}],
        ticket_types=[
            {"name": "Standing", "price": "20.00", "fee": "2.00", "capacity": 200, "max_per_order": 4},
            {"name": "Free", "price": "0", "capacity": 10, "currency": "EUR"},
        ],
    )

    response = api(manager).post(EVENTS, body, format="json")

    assert response.status_code == 201, response.content
    assert response["Location"] == "/api/v1/events/jazz-night/"
    created = response.json()
    assert created["slug"] == "jazz-night"
    assert created["status"] == "published"
    assert created["genres"] == [{"slug": "jazz", "name": "Jazz"}]
    assert created["lineup"][0]["artist"]["slug"] == "star"
    assert [(t["name"], t["all_in_price"], t["max_per_order"]) for t in created["ticket_types"]] == [
        ("Standing", "22.00", 4),
        ("Free", "0.00", 10),
    ]
    event = Event.objects.get(slug="jazz-night")
    assert (event.organizer, event.artists.get(), event.description) == (organizer, star, "Late and loud.")
    assert event.history.latest().history_user == manager

    again = api(manager).post(EVENTS, create_body(organizer), format="json")
    assert again.json()["slug"] == "jazz-night-2"


def test_create_defaults_to_a_draft_at_a_shared_venue() -> None:
    organizer = OrganizerFactory()
    shared = VenueFactory(organizer=None)

    response = api(member(organizer)).post(EVENTS, create_body(organizer, venue=shared.slug), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "draft"
    assert response.json()["venue"]["slug"] == shared.slug


def test_anonymous_create_is_401() -> None:
    organizer = OrganizerFactory()

    problem(api().post(EVENTS, create_body(organizer), format="json"), 401, "not_authenticated")
    assert not Event.objects.exists()


@pytest.mark.parametrize("role", [None, OrganizerMember.Role.BOX_OFFICE])
def test_non_members_and_box_office_cannot_create(role: str | None) -> None:
    organizer = OrganizerFactory()
    user = member(organizer, role) if role else VerifiedUserFactory()

    problem(api(user).post(EVENTS, create_body(organizer), format="json"), 403, "permission_denied")
    assert not Event.objects.exists()


def test_create_for_another_organizer_or_at_its_venue_is_refused() -> None:
    mine, theirs = OrganizerFactory(), OrganizerFactory()
    manager = member(mine)

    body = problem(api(manager).post(EVENTS, create_body(theirs), format="json"), 400, "validation_error")
    assert {e["attr"] for e in body["errors"]} >= {"organizer"}
    foreign_venue = VenueFactory(organizer=theirs).slug
    body = problem(
        api(manager).post(EVENTS, create_body(mine, venue=foreign_venue), format="json"),
        400,
        "validation_error",
    )
    assert [e["attr"] for e in body["errors"]] == ["venue"]
    assert not Event.objects.exists()


def test_create_validates_fields_with_their_paths() -> None:
    organizer = OrganizerFactory()
    starts_at = in_days(10)
    body = create_body(
        organizer,
        starts_at=starts_at.isoformat(),
        ends_at=(starts_at - timedelta(hours=2)).isoformat(),
        timezone="Mars/Olympus",
        ticket_types=[{"name": "Standing", "price": "-1", "capacity": 10}],
    )

    errors = problem(api(member(organizer)).post(EVENTS, body, format="json"), 400, "validation_error")[
        "errors"
    ]
    assert {e["attr"] for e in errors} == {"timezone", "ticket_types.0.price"}

    body = create_body(
        organizer, starts_at=starts_at.isoformat(), ends_at=(starts_at - timedelta(hours=2)).isoformat()
    )
    errors = problem(api(member(organizer)).post(EVENTS, body, format="json"), 400, "validation_error")[
        "errors"
    ]
    assert [e["attr"] for e in errors] == ["ends_at"]


@pytest.mark.parametrize("counter", ["sold", "held"])
def test_create_cannot_write_sold_or_held(counter: str) -> None:
    organizer = OrganizerFactory()
    body = create_body(organizer, ticket_types=[{"name": "GA", "price": "10", "capacity": 50, counter: 20}])

    errors = problem(api(member(organizer)).post(EVENTS, body, format="json"), 400, "validation_error")[
        "errors"
    ]

    assert [e["attr"] for e in errors] == [f"ticket_types.0.{counter}"]
    assert not TicketType.objects.exists()


# --- change -----------------------------------------------------------------------------------------------


def test_manager_patches_scalar_fields() -> None:
    event = EventFactory(description="Before")
    manager = member(event.organizer)

    response = api(manager).patch(detail(event), {"description": "After", "age_limit": 16}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["description"], response.json()["age_limit"]) == ("After", 16)
    event.refresh_from_db()
    assert (event.description, event.age_limit) == ("After", 16)


def test_patch_permissions() -> None:
    event = EventFactory(title="Original")
    box_office = member(event.organizer, OrganizerMember.Role.BOX_OFFICE)
    change = {"title": "Changed"}

    problem(api().patch(detail(event), change, format="json"), 401, "not_authenticated")
    problem(api(VerifiedUserFactory()).patch(detail(event), change, format="json"), 403, "permission_denied")
    problem(api(box_office).patch(detail(event), change, format="json"), 403, "permission_denied")
    # A manager of another organizer: not found, whether the event is public or not.
    problem(api(member(OrganizerFactory())).patch(detail(event), change, format="json"), 404, "not_found")
    event.refresh_from_db()
    assert event.title == "Original"


def test_organizer_a_can_neither_see_nor_change_organizer_bs_events() -> None:
    org_a, org_b = OrganizerFactory(), OrganizerFactory()
    manager_a = member(org_a)
    draft_b = EventFactory(organizer=org_b, status=Event.Status.DRAFT, title="B draft")
    public_b = EventFactory(organizer=org_b, title="B public")
    ticket_type_b = TicketTypeFactory(event=public_b, capacity=100)
    client = api(manager_a)

    problem(client.get(detail(draft_b)), 404, "not_found")
    assert draft_b.slug not in slugs(client.get(EVENTS))
    for target in (draft_b, public_b):
        problem(client.patch(detail(target), {"title": "Mine now"}, format="json"), 404, "not_found")
        problem(client.delete(detail(target)), 404, "not_found")
    replace = {"ticket_types": [{"id": ticket_type_b.pk, "name": "GA", "price": "1", "capacity": 1}]}
    problem(client.patch(detail(public_b), replace, format="json"), 404, "not_found")
    # Nor move their own event onto B's ticket type.
    own = EventFactory(organizer=org_a)
    problem(client.patch(detail(own), replace, format="json"), 400, "ticket_type_unknown")

    draft_b.refresh_from_db()
    public_b.refresh_from_db()
    ticket_type_b.refresh_from_db()
    assert (draft_b.title, public_b.title, ticket_type_b.capacity) == ("B draft", "B public", 100)


def test_capacity_below_sold_and_held_is_a_conflict() -> None:
    ticket_type = TicketTypeFactory(capacity=100)
    sell(ticket_type, sold=50, held=5)
    event = ticket_type.event
    item = {"id": ticket_type.pk, "name": "GA", "price": "25.00", "fee": "2.50", "capacity": 54}

    body = problem(
        api(member(event.organizer)).patch(detail(event), {"ticket_types": [item]}, format="json"),
        409,
        "capacity_below_sold",
    )

    assert (body["sold"], body["held"], body["field"]) == (50, 5, "ticket_types.0.capacity")
    ticket_type.refresh_from_db()
    assert (ticket_type.capacity, ticket_type.sold, ticket_type.held) == (100, 50, 5)


def test_capacity_can_go_down_to_sold_and_held() -> None:
    ticket_type = TicketTypeFactory(capacity=100)
    sell(ticket_type, sold=50, held=5)
    event = ticket_type.event
    item = {"id": ticket_type.pk, "name": "GA", "price": "25.00", "capacity": 55}

    response = api(member(event.organizer)).patch(detail(event), {"ticket_types": [item]}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["ticket_types"][0]["state"]["code"] == "sold_out"


@pytest.mark.parametrize("counter", ["sold", "held"])
def test_patch_cannot_write_sold_or_held(counter: str) -> None:
    ticket_type = TicketTypeFactory(capacity=100)
    sell(ticket_type, sold=10)
    item = {"id": ticket_type.pk, "name": "GA", "price": "25.00", "capacity": 100, counter: 0}

    body = problem(
        api(member(ticket_type.event.organizer)).patch(
            detail(ticket_type.event), {"ticket_types": [item]}, format="json"
        ),
        400,
        "validation_error",
    )

    assert [e["attr"] for e in body["errors"]] == [f"ticket_types.0.{counter}"]
    ticket_type.refresh_from_db()
    assert (ticket_type.sold, ticket_type.held) == (10, 0)


def test_patch_replaces_lineup_and_ticket_types() -> None:
    event = EventFactory()
    LineupFactory(event=event)
    kept = TicketTypeFactory(event=event, name="Kept")
    sell(kept, sold=3)
    TicketTypeFactory(event=event, name="Dropped")
    ArtistFactory(slug="new-star")
    changes = {
        "lineup": [{"artist": "new-star", "is_headliner": True}],
        "ticket_types": [
            {"id": kept.pk, "name": "Kept", "price": "30.00", "capacity": 80},
            {"name": "Added", "price": "15.00", "capacity": 20},
        ],
    }

    response = api(member(event.organizer)).patch(detail(event), changes, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [slot["artist"]["slug"] for slot in body["lineup"]] == ["new-star"]
    assert [(t["name"], t["price"], t["available"]) for t in body["ticket_types"]] == [
        ("Kept", "30.00", 77),
        ("Added", "15.00", 20),
    ]


def test_removing_a_ticket_type_with_sales_is_a_conflict() -> None:
    ticket_type = TicketTypeFactory()
    sell(ticket_type, sold=1)
    event = ticket_type.event

    problem(
        api(member(event.organizer)).patch(
            detail(event), {"ticket_types": [{"name": "Other", "price": "5", "capacity": 5}]}, format="json"
        ),
        409,
        "ticket_type_has_sales",
    )
    assert list(event.ticket_types.values_list("name", flat=True)) == ["General admission"]


def test_published_event_cannot_go_back_to_draft() -> None:
    event = EventFactory()

    problem(
        api(member(event.organizer)).patch(detail(event), {"status": "draft"}, format="json"),
        409,
        "event_status_transition_not_allowed",
    )


def test_put_is_not_offered() -> None:
    event = EventFactory()

    problem(api(member(event.organizer)).put(detail(event), {}, format="json"), 405, "method_not_allowed")


# --- delete -----------------------------------------------------------------------------------------------


def test_manager_deletes_a_draft() -> None:
    draft = EventFactory(status=Event.Status.DRAFT)
    TicketTypeFactory(event=draft)

    response = api(member(draft.organizer)).delete(detail(draft))

    assert response.status_code == 204
    assert not Event.objects.filter(pk=draft.pk).exists()


def test_deleting_a_public_event_is_a_conflict_that_says_cancel() -> None:
    event = EventFactory()

    body = problem(api(member(event.organizer)).delete(detail(event)), 409, "event_not_deletable")

    assert "cancel" in body["detail"]
    assert Event.objects.filter(pk=event.pk).exists()


def test_delete_permissions() -> None:
    draft = EventFactory(status=Event.Status.DRAFT)

    problem(api().delete(detail(draft)), 401, "not_authenticated")
    problem(api(VerifiedUserFactory()).delete(detail(draft)), 403, "permission_denied")
    problem(
        api(member(draft.organizer, OrganizerMember.Role.BOX_OFFICE)).delete(detail(draft)),
        403,
        "permission_denied",
    )
    problem(api(member(OrganizerFactory())).delete(detail(draft)), 404, "not_found")
    assert Event.objects.filter(pk=draft.pk).exists()


# --- artists, venues, genres ------------------------------------------------------------------------------


def test_artists_list_and_detail_with_upcoming_events() -> None:
    artist = ArtistFactory(name="Star", slug="star")
    artist.genres.add(GenreFactory(slug="rock", name="Rock"))
    ArtistFactory(name="Another", slug="another")
    upcoming = EventFactory()
    LineupFactory(event=upcoming, artist=artist, is_headliner=True)
    TicketTypeFactory(event=upcoming)
    LineupFactory(event=EventFactory(status=Event.Status.DRAFT), artist=artist)
    LineupFactory(event=event_at(in_days(-2)), artist=artist)

    listed = api().get("/api/v1/artists/").json()
    response = api().get("/api/v1/artists/star/")

    assert [a["slug"] for a in listed["results"]] == ["another", "star"]
    assert listed["results"][1] == {
        "slug": "star",
        "name": "Star",
        "genres": [{"slug": "rock", "name": "Rock"}],
        "image": None,
    }
    assert response.status_code == 200
    body = response.json()
    assert body["bio"] == artist.bio
    assert [e["slug"] for e in body["upcoming_events"]] == [upcoming.slug]
    assert body["upcoming_events"][0]["min_price"] == "27.50"
    problem(api().get("/api/v1/artists/nobody/"), 404, "not_found")


def test_venues_list_and_detail_with_upcoming_events() -> None:
    venue = VenueFactory(slug="coliseu", name="Coliseu", city="Porto")
    VenueFactory(slug="aula-magna")
    upcoming = EventFactory(venue=venue)
    EventFactory(venue=venue, status=Event.Status.DRAFT)

    listed = api().get("/api/v1/venues/").json()
    body = api().get("/api/v1/venues/coliseu/").json()

    assert [v["slug"] for v in listed["results"]] == ["aula-magna", "coliseu"]
    assert listed["results"][1] == {"slug": "coliseu", "name": "Coliseu", "city": "Porto", "country": "PT"}
    assert body["address"] == venue.address
    assert [e["slug"] for e in body["upcoming_events"]] == [upcoming.slug]
    problem(api().get("/api/v1/venues/nowhere/"), 404, "not_found")


def test_genres_list() -> None:
    GenreFactory(slug="rock", name="Rock")
    GenreFactory(slug="jazz", name="Jazz")

    assert api().get("/api/v1/genres/").json() == [
        {"slug": "jazz", "name": "Jazz"},
        {"slug": "rock", "name": "Rock"},
    ]


@pytest.mark.parametrize("path", ["/api/v1/artists/", "/api/v1/venues/", "/api/v1/genres/"])
def test_catalogue_list_query_counts_do_not_grow_with_rows(
    django_assert_max_num_queries: Any, path: str
) -> None:
    def add(count: int) -> None:
        for _ in range(count):
            ArtistFactory().genres.add(GenreFactory(), GenreFactory())
            VenueFactory()

    client = api()
    add(3)
    with django_assert_max_num_queries(3):
        assert client.get(path).status_code == 200
    add(22)
    with django_assert_max_num_queries(3):
        assert client.get(path, {"page_size": 100}).status_code == 200


def test_catalogue_detail_query_counts(django_assert_max_num_queries: Any) -> None:
    artist = ArtistFactory(slug="star")
    venue = VenueFactory(slug="coliseu")
    for _ in range(5):
        event = EventFactory(venue=venue)
        LineupFactory(event=event, artist=artist)
        TicketTypeFactory(event=event)

    with django_assert_max_num_queries(4):
        assert len(api().get("/api/v1/artists/star/").json()["upcoming_events"]) == 5
    with django_assert_max_num_queries(3):
        assert len(api().get("/api/v1/venues/coliseu/").json()["upcoming_events"]) == 5

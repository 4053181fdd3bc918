"""The demo catalogue (``events.demo``): the same seed gives the same catalogue and the same planned sales,
a re-run adds nothing, every row respects the catalogue's invariants, and no counter is written without
orders (the sales are made by grasshopper.demo: see grasshopper/tests/test_demo.py, with the command)."""

import sys
import types
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import available_timezones

import pytest

from events.demo import CITIES, VENUES, SeedResult, demo_catalogue_seed
from events.models import Artist, Event, Genre, Lineup, Organizer, TicketType, Venue

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SMALL = {"events": 30, "artists": 40, "seed": 7}

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, object]:
    """Everything a seed decides, in a comparable shape (no ids, no timestamps of insertion)."""
    events = {
        e.slug: (
            e.title,
            e.venue.slug,
            e.organizer.slug,
            e.starts_at,
            e.status,
            e.is_featured,
            tuple(sorted(g.slug for g in e.genres.all())),
            tuple(
                (slot.artist.slug, slot.position, slot.is_headliner, slot.set_time) for slot in e.lineup.all()
            ),
            tuple(
                (t.name, t.price, t.fee, t.currency, t.capacity, t.sold, t.sales_start)
                for t in e.ticket_types.all()
            ),
        )
        for e in Event.objects.select_related("venue", "organizer").prefetch_related(
            "genres", "lineup__artist", "ticket_types"
        )
    }
    artists = dict(Artist.objects.values_list("slug", "name"))
    return {"events": events, "artists": artists}


def _planned(result: SeedResult) -> dict[tuple[str, str], tuple[int, int]]:
    """The planned sales as (event slug, ticket type name) -> (quantity, capacity)."""
    rows = TicketType.objects.select_related("event").in_bulk([sale.ticket_type_id for sale in result.sales])
    return {
        (rows[s.ticket_type_id].event.slug, rows[s.ticket_type_id].name): (
            s.quantity,
            rows[s.ticket_type_id].capacity,
        )
        for s in result.sales
    }


def _delete_catalogue() -> None:
    TicketType.objects.all().delete()
    Lineup.objects.all().delete()
    Event.objects.all().delete()
    Artist.objects.all().delete()
    Venue.objects.all().delete()
    Organizer.objects.all().delete()
    Genre.objects.all().delete()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Organizer, Venue, Genre, Artist, Event, Lineup, TicketType)
    } | {
        "event_genres": Event.genres.through.objects.count(),
        "artist_genres": Artist.genres.through.objects.count(),
    }


@pytest.fixture
def search_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[int]]]:
    """Stand-in for events.search (built in parallel): records which ids the seed asked to refresh."""
    calls: list[tuple[str, list[int]]] = []
    fake = types.ModuleType("events.search")
    fake.search_refresh_events = lambda *, event_ids: calls.append(("events", list(event_ids)))  # type: ignore[attr-defined]
    fake.search_refresh_artists = lambda *, artist_ids: calls.append(("artists", list(artist_ids)))  # type: ignore[attr-defined]
    fake.search_refresh_venues = lambda *, venue_ids: calls.append(("venues", list(venue_ids)))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "events.search", fake)
    return calls


def test_same_seed_same_catalogue(search_calls) -> None:
    first_sales = _planned(demo_catalogue_seed(**SMALL, now=NOW))
    first = _snapshot()
    _delete_catalogue()

    second_sales = _planned(demo_catalogue_seed(**SMALL, now=NOW))

    assert _snapshot() == first
    assert second_sales == first_sales
    assert first_sales
    assert len(first["events"]) == 30  # type: ignore[arg-type]
    assert len(first["artists"]) == 40  # type: ignore[arg-type]


def test_another_seed_another_catalogue(search_calls) -> None:
    demo_catalogue_seed(**SMALL, now=NOW)
    first = set(Event.objects.values_list("slug", flat=True))
    _delete_catalogue()

    demo_catalogue_seed(**(SMALL | {"seed": 8}), now=NOW)

    assert set(Event.objects.values_list("slug", flat=True)) != first


def test_second_run_adds_nothing(search_calls) -> None:
    demo_catalogue_seed(**SMALL, now=NOW)
    counts = _counts()
    refreshed = list(search_calls)

    result = demo_catalogue_seed(**SMALL, now=NOW)

    assert _counts() == counts
    assert not result.created_anything
    assert result.sales == ()  # nothing inserted, nothing to sell
    assert search_calls == refreshed  # nothing new, nothing to refresh
    assert counts["Event"] == 30
    assert counts["Venue"] == len(VENUES)
    assert counts["Organizer"] == 4


def test_more_events_extend_the_catalogue_and_keep_the_first(search_calls) -> None:
    demo_catalogue_seed(events=20, artists=40, seed=7, now=NOW)
    before = _snapshot()

    result = demo_catalogue_seed(events=30, artists=40, seed=7, now=NOW)

    after = _snapshot()
    assert result.events == 10
    # Sales are planned for the ten new events' ticket types only.
    assert {slug for slug, _ in _planned(result)} <= set(after["events"]) - set(before["events"])  # type: ignore[call-overload]
    assert result.artists == 0
    assert {slug: after["events"][slug] for slug in before["events"]} == before["events"]  # type: ignore[index,attr-defined]


def test_search_documents_refreshed_for_exactly_what_was_inserted(search_calls) -> None:
    result = demo_catalogue_seed(**SMALL, now=NOW)

    refreshed = dict(search_calls)
    assert result.events == 30
    assert sorted(refreshed["events"]) == sorted(Event.objects.values_list("pk", flat=True))
    assert sorted(refreshed["artists"]) == sorted(Artist.objects.values_list("pk", flat=True))
    assert sorted(refreshed["venues"]) == sorted(Venue.objects.values_list("pk", flat=True))


def test_seeded_events_are_searchable_without_accents() -> None:
    # The real events.search: the seed computes the documents in its own transaction.
    from events.search import event_search

    demo_catalogue_seed(**SMALL, now=NOW)

    assert not Event.objects.filter(search_text="").exists()
    accented = [
        a for a in Artist.objects.filter(lineup_slots__isnull=False).distinct() if not a.name.isascii()
    ]
    assert accented
    for artist in accented[:5]:
        plain = artist.slug.replace("-", " ")  # "Håkon Ødegård" -> "hakon odegard"
        found = set(event_search(Event.objects.all(), plain).values_list("pk", flat=True))
        assert set(artist.events.values_list("pk", flat=True)) <= found, (artist.name, plain)


def test_inserts_in_bulk(django_assert_max_num_queries, search_calls) -> None:
    # About two dozen statements whatever the size (batches of 1,000): never one per row.
    with django_assert_max_num_queries(30):
        demo_catalogue_seed(**SMALL, now=NOW)


def test_catalogue_invariants(search_calls) -> None:
    result = demo_catalogue_seed(**SMALL, now=NOW)

    # No counter without the orders behind it (inventory_audit): sales are returned, not written.
    assert not TicketType.objects.filter(sold__gt=0).exists()
    assert not TicketType.objects.filter(held__gt=0).exists()
    planned = {sale.ticket_type_id: sale.quantity for sale in result.sales}
    assert len(planned) == len(result.sales)
    assert all(quantity > 0 for quantity in planned.values())
    zones = available_timezones()
    city_zone = {city.name: city.timezone for city in CITIES}
    for event in Event.objects.select_related("venue").prefetch_related("lineup", "ticket_types"):
        assert event.timezone in zones
        assert event.venue.organizer_id in (None, event.organizer_id)  # own venue or a shared one
        assert event.timezone == city_zone[event.venue.city]
        assert event.starts_at > NOW
        assert event.doors_at <= event.starts_at < event.ends_at
        lineup = list(event.lineup.all())
        assert lineup, event.slug
        assert lineup[0].position == 1
        assert lineup[0].is_headliner
        assert [slot.is_headliner for slot in lineup].count(True) == 1
        assert all(event.starts_at <= slot.set_time < event.ends_at for slot in lineup)
        assert max(lineup, key=lambda slot: slot.set_time) == lineup[0]  # the headliner closes the night
        tickets = list(event.ticket_types.all())
        if event.status == Event.Status.PUBLISHED:
            assert tickets, event.slug
        for ticket in tickets:
            assert planned.get(ticket.pk, 0) <= ticket.capacity
            assert ticket.price >= 0
            assert ticket.fee >= 0
            assert ticket.price == ticket.price.quantize(Decimal("0.01"))
            assert ticket.currency == ("GBP" if event.venue.country == "GB" else "EUR")
            if ticket.sales_start:
                assert ticket.sales_start > NOW
                assert ticket.member_presale_start < ticket.sales_start
                assert ticket.pk not in planned
        if event.status in (Event.Status.DRAFT, Event.Status.CANCELLED):
            assert not any(t.pk in planned for t in tickets)
    for venue in Venue.objects.all():
        assert venue.capacity
        assert venue.accessibility_notes
        assert -90 <= venue.latitude <= 90
        assert -180 <= venue.longitude <= 180


def test_small_catalogue_shows_every_kind_of_event(search_calls) -> None:
    result = demo_catalogue_seed(**SMALL, now=NOW)

    statuses = set(Event.objects.values_list("status", flat=True))
    assert statuses == set(Event.Status.values)
    assert Event.objects.filter(is_featured=True, status=Event.Status.PUBLISHED).exists()
    assert not Event.objects.filter(is_featured=True).exclude(status=Event.Status.PUBLISHED).exists()
    published = TicketType.objects.filter(event__status=Event.Status.PUBLISHED)
    assert published.filter(price=0).exists()  # a free show
    published_ids = set(published.values_list("pk", flat=True))
    capacity = dict(published.values_list("pk", "capacity"))
    sales = [
        (s.quantity, capacity[s.ticket_type_id]) for s in result.sales if s.ticket_type_id in published_ids
    ]
    assert any(sold == cap for sold, cap in sales)  # sold out (once grasshopper.demo makes the orders)
    assert any(cap - 8 <= sold < cap for sold, cap in sales)  # nearly
    assert published.filter(sales_start__gt=NOW).exists()  # "Sales start ..."
    assert Event.objects.filter(lineup__position=3).exists()  # headliner and supports
    assert Genre.objects.count() >= 20
    assert len({e.venue.city for e in Event.objects.select_related("venue")}) >= 5
    # Accented names, for showing accent-insensitive search.
    assert Artist.objects.filter(name="Café Quetzal", slug="cafe-quetzal").exists()
    assert all(a.bio for a in Artist.objects.all())

"""The event page and the event list served from their cached parts: edits show at once (tags), seats
within AVAILABILITY_TTL seconds, and what differs per request (nonce, CSRF token, account menu, draft
banner, a signed-in buyer's form) is never shared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import VerifiedUserFactory
from events.cache import AVAILABILITY_TTL
from events.fragments import CSRF_PLACEHOLDER, LIST_TTL
from events.models import Event, TicketType
from events.tests.factories import (
    ArtistFactory,
    EventFactory,
    GenreFactory,
    LineupFactory,
    OrganizerMemberFactory,
    TicketTypeFactory,
    VenueFactory,
)
from grasshopper.tests.pagecheck import Element, parse, script_nonce

pytestmark = pytest.mark.django_db

OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


@pytest.fixture
def committed(django_capture_on_commit_callbacks: OnCommit) -> Callable[[], Any]:
    """``with committed():`` runs the block's on_commit callbacks (the receivers' tag bumps) as a commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def clock() -> Iterator[Any]:
    """Time that moves only when told to (``clock.shift(seconds)``)."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def _page(client: Client, event: Event) -> Any:
    response = client.get(reverse("events:detail", kwargs={"slug": event.slug}))
    assert response.status_code == 200, response.status_code
    return response


def _main(response: Any) -> Element:
    return parse(response.content).find("main")


def _badges(response: Any) -> list[str]:
    return [span.text for span in _main(response).find_all("span") if "badge" in span.attrs.get("class", "")]


def _sell(ticket_type: TicketType, sold: int) -> None:
    # As the inventory services do: a conditional UPDATE, which sends no signal and bumps no tag.
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=sold)


def _csrf_inputs(response: Any) -> list[str]:
    return [
        el.attrs["value"]
        for el in parse(response.content).find_all("input")
        if el.attrs.get("name") == "csrfmiddlewaretoken"
    ]


# --- The event page ---------------------------------------------------------------------------------------


def test_a_cached_event_page_costs_no_query(client: Client, django_assert_max_num_queries: Any) -> None:
    event = EventFactory(title="Cached Night")
    TicketTypeFactory(event=event)
    LineupFactory(event=event)

    with django_assert_max_num_queries(4):  # the seats, the event, its lineup, its genres
        first = _page(client, event)
    with django_assert_max_num_queries(0):  # no session, no user, no event: all from the cache
        second = Client().get(reverse("events:detail", kwargs={"slug": event.slug}))
    assert second.content.count(b"Cached Night") == first.content.count(b"Cached Night") > 0


def test_an_edit_shows_on_the_next_request(client: Client, committed: Callable[[], Any]) -> None:
    event = EventFactory(title="Before")
    slot = LineupFactory(event=event, artist=ArtistFactory(name="Old Name"))
    assert "Before" in _main(_page(client, event)).find("h1").text

    with committed():
        event.title = "After"
        event.save()
    assert _main(_page(client, event)).find("h1").text == "After"

    with committed():  # an artist or a venue edited elsewhere shows on its events' pages
        slot.artist.name = "New Name"
        slot.artist.save()
        event.venue.name = "The New Hall"
        event.venue.save()
    main = _main(_page(client, event))
    assert "New Name" in main.find("ol", {"class": "lineup"}).text
    assert "The New Hall" in main.find("p", {"class": "event-where"}).text

    with committed():  # so does a genre renamed (the genres tag)
        genre = GenreFactory(name="Fado")
        event.genres.add(genre)
    assert "Fado" in _main(_page(client, event)).text
    with committed():
        genre.name = "Fado Vadio"
        genre.save()
    assert "Fado Vadio" in _main(_page(client, event)).text


def test_a_ticket_type_edit_shows_at_once(client: Client, committed: Callable[[], Any]) -> None:
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event, name="Standing")
    assert "Standing" in _main(_page(client, event)).text

    with committed():
        ticket_type.name = "Balcony"
        ticket_type.save()
    assert "Balcony" in _main(_page(client, event)).find("ul", {"class": "ticket-list"}).text


def test_seats_sold_show_within_the_availability_ttl(client: Client, clock: Any) -> None:
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event, capacity=100)
    assert _badges(_page(client, event)) == ["On sale"]

    _sell(ticket_type, 100)
    clock.shift(AVAILABILITY_TTL - 1)
    assert _badges(_page(client, event)) == ["On sale"]  # cached, and still within the promise
    clock.shift(1)
    page = _page(client, event)
    assert _badges(page) == ["Sold out"]
    assert "SoldOut" in page.content.decode()  # the JSON-LD's offer too
    assert not _main(page).find_all("form", {"class": "buy-form"})


def test_an_unchanged_tickets_part_is_confirmed_not_rendered_again(
    client: Client, clock: Any, django_assert_max_num_queries: Any
) -> None:
    event = EventFactory()
    TicketTypeFactory(event=event)
    first = _page(client, event)

    clock.shift(AVAILABILITY_TTL)
    with django_assert_max_num_queries(1):  # the seats, read again
        again = _page(client, event)
    assert _badges(again) == _badges(first)
    with django_assert_max_num_queries(0):
        _page(client, event)


def test_the_csp_nonce_and_the_csrf_token_differ_per_response_of_a_cached_page() -> None:
    event = EventFactory()
    TicketTypeFactory(event=event)
    responses = [_page(Client(), event) for _ in range(3)]

    nonces = [script_nonce(response) for response in responses]
    assert len(set(nonces)) == 3
    for response, nonce in zip(responses, nonces, strict=True):
        scripts = parse(response.content).find_all("script")
        assert scripts
        assert all(script.attrs.get("nonce") == nonce for script in scripts if "nonce" in script.attrs)
    tokens = [token for response in responses for token in _csrf_inputs(response)]
    assert len(tokens) == 3
    assert len(set(tokens)) == 3
    assert all(CSRF_PLACEHOLDER.encode() not in response.content for response in responses)


def test_the_cached_buy_form_carries_a_token_that_passes_the_csrf_check() -> None:
    event = EventFactory()
    TicketTypeFactory(event=event)
    _page(Client(), event)  # someone else fills the cache
    buyer = Client(enforce_csrf_checks=True)
    [token] = _csrf_inputs(_page(buyer, event))

    response = buyer.post(
        reverse("orders:checkout_start"), {"csrfmiddlewaretoken": token, "event": event.slug}
    )

    assert response.status_code != 403
    assert buyer.post(reverse("orders:checkout_start"), {"event": event.slug}).status_code == 403


def test_a_signed_in_buyer_gets_their_own_form_and_menu(client: Client) -> None:
    event = EventFactory()
    TicketTypeFactory(event=event)
    _page(Client(), event)  # the cache now holds the page as visitors who are not signed in see it
    user = VerifiedUserFactory(email="fan@example.com")
    client.force_login(user)

    page = _page(client, event)

    assert "Tickets go to fan@example.com." in _main(page).text
    assert "fan@example.com" in parse(page.content).find("header").text
    assert b"fan@example.com" not in _page(Client(), event).content


def test_drafts_are_not_cached_and_show_their_banner_to_staff_only(
    client: Client, committed: Callable[[], Any]
) -> None:
    event = EventFactory(status=Event.Status.DRAFT)
    member = OrganizerMemberFactory(organizer=event.organizer)
    client.force_login(member.user)

    assert "Draft." in _main(_page(client, event)).text
    assert Client().get(reverse("events:detail", kwargs={"slug": event.slug})).status_code == 404

    with committed():
        event.status = Event.Status.PUBLISHED
        event.save()
    assert "Draft." not in _main(_page(Client(), event)).text
    with committed():
        event.status = Event.Status.DRAFT
        event.save()
    assert Client().get(reverse("events:detail", kwargs={"slug": event.slug})).status_code == 404


def test_a_renamed_slug_is_gone_at_once(client: Client, committed: Callable[[], Any]) -> None:
    event = EventFactory(slug="old-slug")
    _page(client, event)
    with committed():
        event.slug = "new-slug"
        event.save()
    assert client.get("/events/old-slug/").status_code == 404
    assert client.get("/events/new-slug/").status_code == 200


# --- The event list ---------------------------------------------------------------------------------------


def _titles(response: Any) -> list[str]:
    return [h.text for h in parse(response.content).find_all("h3", {"class": "event-card-title"})]


def _card_badges(response: Any) -> list[str]:
    return [
        span.text
        for span in parse(response.content).find_all("span")
        if "badge" in span.attrs.get("class", "").split()
    ]


def test_a_cached_list_costs_no_query(client: Client, django_assert_max_num_queries: Any) -> None:
    for _ in range(3):
        TicketTypeFactory(event=EventFactory())

    with django_assert_max_num_queries(5):  # cities, genres, count, page, lineups
        first = client.get("/events/")
    with django_assert_max_num_queries(0):
        second = client.get("/events/", {"utm_source": "ignored", "q": " "})  # the same list
    assert _titles(first) == _titles(second)
    assert len(_titles(first)) == 3
    assert _card_badges(second) == ["On sale"] * 3


def test_the_list_counts_without_the_ticket_annotations(client: Client) -> None:
    TicketTypeFactory(event=EventFactory())
    with CaptureQueriesContext(connection) as queries:
        client.get("/events/")
    [count] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert "events_tickettype" not in count
    assert "GROUP BY" not in count


def test_the_list_shows_an_edit_at_once_and_seats_within_the_availability_ttl(
    client: Client, committed: Callable[[], Any], clock: Any, settings: Any
) -> None:
    # Local memory: its entries expire by the (travelling) clock, like Redis's do by the real one.
    settings.CACHES = {  # its own LOCATION: local-memory caches with one name share their entries
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "list-edit-and-seats",
        }
    }
    event = EventFactory(title="Old Title")
    ticket_type = TicketTypeFactory(event=event, capacity=50)
    assert _titles(client.get("/events/")) == ["Old Title"]

    with committed():
        event.title = "New Title"
        event.save()
    assert _titles(client.get("/events/")) == ["New Title"]
    assert _card_badges(client.get("/events/", {"q": "new title"})) == ["On sale"]

    _sell(ticket_type, 50)
    assert _card_badges(client.get("/events/")) == ["On sale"]
    clock.shift(AVAILABILITY_TTL)
    assert _card_badges(client.get("/events/")) == ["Sold out"]
    assert _card_badges(client.get("/events/", {"q": "new title"})) == ["Sold out"]
    assert _card_badges(client.get("/events/", {"available": "false"})) == ["Sold out"]


def test_a_list_filtered_by_availability_follows_the_seats(client: Client, clock: Any, settings: Any) -> None:
    settings.CACHES = {  # its own LOCATION: local-memory caches with one name share their entries
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "list-by-availability",
        }
    }
    ticket_type = TicketTypeFactory(event=EventFactory(title="Nearly Gone"), capacity=10)
    assert _titles(client.get("/events/", {"available": "true"})) == ["Nearly Gone"]

    _sell(ticket_type, 10)
    clock.shift(AVAILABILITY_TTL)
    assert _titles(client.get("/events/", {"available": "true"})) == []
    assert AVAILABILITY_TTL < LIST_TTL


def test_signed_in_visitors_get_the_list_uncached(client: Client) -> None:
    TicketTypeFactory(event=EventFactory())
    client.get("/events/")
    client.force_login(VerifiedUserFactory())
    with CaptureQueriesContext(connection) as queries:
        client.get("/events/")
    assert any("events_event" in q["sql"] for q in queries.captured_queries)


def test_htmx_results_and_load_more_are_cached_apart_from_the_page(client: Client) -> None:
    for day in range(15):
        TicketTypeFactory(event=EventFactory(starts_at=timezone.now() + timezone.timedelta(days=day + 1)))
    page = client.get("/events/")
    results = client.get("/events/", headers={"HX-Request": "true", "HX-Target": "event-results"})
    more = client.get("/events/", {"page": "2"}, headers={"HX-Request": "true", "HX-Target": "event-list"})
    again = client.get("/events/")

    assert b"<form" in page.content
    assert b"<form" not in results.content
    assert b'hx-swap-oob="innerHTML"' in results.content
    assert len(_titles(more)) == 3
    assert results["HX-Push-Url"] == "/events/?"
    assert more["HX-Push-Url"] == "/events/?page=2"
    assert again.content.count(b"event-card-title") == 12


def test_the_search_page_is_cached_per_query(client: Client, committed: Callable[[], Any]) -> None:
    from events.search import search_rebuild

    with committed():
        LineupFactory(
            event=EventFactory(title="Tribute", venue=VenueFactory(city="Lisbon")),
            artist=ArtistFactory(name="Radiohead"),
        )
        LineupFactory(event=EventFactory(title="Other"), artist=ArtistFactory(name="Björk"))
    search_rebuild()
    assert _titles(client.get("/events/", {"q": "radiohed"})) == ["Tribute"]
    assert _titles(client.get("/events/", {"q": "bjork"})) == ["Other"]
    assert _titles(client.get("/events/", {"q": "radiohed"})) == ["Tribute"]


def test_the_pages_work_uncached_when_the_cache_is_down(
    client: Client, settings: Any, committed: Callable[[], Any]
) -> None:
    from grasshopper.lib.cache import cache_reset_backoff

    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    with committed():  # the search documents are written after commit
        event = EventFactory(title="Still Here")
        TicketTypeFactory(event=event)
    try:
        assert _main(_page(client, event)).find("h1").text == "Still Here"
        assert _badges(_page(client, event)) == ["On sale"]
        assert _titles(client.get("/events/")) == ["Still Here"]
        assert _titles(client.get("/events/", {"q": "still"})) == ["Still Here"]
    finally:
        cache_reset_backoff()

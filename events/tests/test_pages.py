"""The catalogue's pages read as HTML: home, the event list and its filters, event, artist, venue pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import SuperuserFactory, VerifiedUserFactory
from events.models import Event, TicketType
from events.search import search_rebuild
from events.tests.factories import (
    ArtistFactory,
    EventFactory,
    GenreFactory,
    LineupFactory,
    OrganizerMemberFactory,
    TicketTypeFactory,
    VenueFactory,
)
from grasshopper.tests.pagecheck import Element, inline_code_problems, parse, script_nonce

pytestmark = pytest.mark.django_db

LIST_URL = "/events/"
# A Wednesday, noon UTC: today, this weekend and this month are all different.
WEDNESDAY = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def _sell(ticket_type: TicketType, *, sold: int, held: int = 0) -> TicketType:
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=sold, held=held)
    ticket_type.refresh_from_db()
    return ticket_type


def _main(response) -> Element:
    assert response.status_code == 200, response.status_code
    return parse(response.content).find("main")


def _titles(response) -> list[str]:
    """Event titles on the page (or in an htmx fragment), in order."""
    document = parse(response.content)
    return [h.text for h in document.find_all("h3", {"class": "event-card-title"})]


def _notices(response) -> list[str]:
    return [li.text for li in parse(response.content).find_all("li") if "notice" in li.attrs.get("class", "")]


def _event_at(when: datetime, **kwargs) -> Event:
    event = EventFactory(starts_at=when, **kwargs)
    if "no_tickets" not in kwargs:
        TicketTypeFactory(event=event)
    return event


# --- Home --------------------------------------------------------------------------------------------------


def test_home_shows_featured_and_soonest_on_sale_events_as_cards(client: Client) -> None:
    venue = VenueFactory(name="Lux Frágil", city="Lisbon")
    starts = timezone.now().replace(microsecond=0) + timedelta(days=10)
    featured = EventFactory(title="Big Night", is_featured=True, venue=venue, starts_at=starts)
    TicketTypeFactory(event=featured, price=Decimal("25.00"), fee=Decimal("2.50"))
    soon = EventFactory(title="Free Jazz Sunday", starts_at=starts + timedelta(days=1))
    TicketTypeFactory(event=soon, price=Decimal("0"), fee=Decimal("0"))
    not_yet = EventFactory(title="Announced Later", starts_at=starts + timedelta(days=2))
    TicketTypeFactory(event=not_yet, sales_start=timezone.now() + timedelta(days=3))

    main = _main(client.get("/"))

    featured_section = main.find("section", {"aria-labelledby": "featured-title"})
    upcoming_section = main.find("section", {"aria-labelledby": "upcoming-title"})
    assert [h.text for h in featured_section.find_all("h3")] == ["Big Night"]
    assert [h.text for h in upcoming_section.find_all("h3")] == ["Free Jazz Sunday"]
    card = featured_section.find("article", {"class": "event-card"})
    assert card.find("a").attrs["href"] == reverse("events:detail", kwargs={"slug": featured.slug})
    lisbon = starts.astimezone(ZoneInfo("Europe/Lisbon"))
    assert card.find("time").attrs["datetime"] == lisbon.isoformat()
    assert card.find("time").text == f"{lisbon:%a} {lisbon.day} {lisbon:%b %Y · %H:%M}"
    assert "Lux Frágil, Lisbon" in card.text
    assert card.find("span", {"class": "event-card-price"}).text == "from €27.50"
    assert card.find("span", {"class": "badge badge-on_sale"}).text == "On sale"
    assert (
        card.find("div", {"class": "event-card-media event-card-placeholder"}).attrs["aria-hidden"] == "true"
    )
    assert upcoming_section.find("span", {"class": "event-card-price"}).text == "Free"
    assert upcoming_section.find("a", {"class": "see-all"}).attrs["href"] == LIST_URL
    assert "No events are on sale yet." not in main.text


def test_home_search_form_targets_the_event_list(client: Client) -> None:
    form = _main(client.get("/")).find("search").find("form")
    assert form.attrs["action"] == LIST_URL
    assert form.find("input", {"name": "q"}).attrs["type"] == "search"


# --- /events/: list and filters ----------------------------------------------------------------------------


def test_event_list_renders_cards_form_and_a_polite_result_count(client: Client) -> None:
    _event_at(timezone.now() + timedelta(days=3), title="Alpha")
    _event_at(timezone.now() + timedelta(days=4), title="Beta")
    EventFactory(title="Hidden draft", status=Event.Status.DRAFT)
    EventFactory(title="Called off", status=Event.Status.CANCELLED)

    response = client.get(LIST_URL)

    main = _main(response)
    assert [h.text for h in main.find_all("h1")] == ["Events"]
    assert _titles(response) == ["Alpha", "Beta"]
    status = main.find("div", {"id": "results-status"})
    assert status.attrs["role"] == "status"
    assert status.attrs["aria-live"] == "polite"
    assert status.text == "2 events found."
    form = main.find("form", {"id": "event-filters"})
    assert form.attrs["method"] == "get"
    assert form.attrs["action"] == LIST_URL
    assert form.attrs["hx-get"] == LIST_URL
    assert form.attrs["hx-trigger"] == "change, submit"
    assert form.attrs["hx-target"] == "#event-results"
    assert form.attrs["hx-push-url"] == "true"
    # Every control has a label.
    for control in form.find_all("input") + form.find_all("select"):
        assert form.find("label", {"for": control.attrs["id"]}), control.attrs
    assert inline_code_problems(parse(response.content), script_nonce(response)) == []


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("today", ["Tonight"]),
        ("weekend", ["Saturday show"]),
        ("month", ["Tonight", "Saturday show", "Late June"]),
    ],
)
def test_date_presets_narrow_to_today_this_weekend_this_month(
    client: Client, preset: str, expected: list[str]
) -> None:
    with time_machine.travel(WEDNESDAY, tick=False):
        _event_at(datetime(2026, 6, 10, 20, 0, tzinfo=UTC), title="Tonight")
        _event_at(datetime(2026, 6, 13, 20, 0, tzinfo=UTC), title="Saturday show")
        _event_at(datetime(2026, 6, 25, 20, 0, tzinfo=UTC), title="Late June")
        _event_at(datetime(2026, 7, 5, 20, 0, tzinfo=UTC), title="July")

        assert len(_titles(client.get(LIST_URL))) == 4
        response = client.get(LIST_URL, {"date": preset})

    assert _titles(response) == expected
    selected = parse(response.content).find("select", {"name": "date"}).find("option", {"value": preset})
    assert "selected" in selected.attrs


def test_date_range_narrows_between_two_days(client: Client) -> None:
    with time_machine.travel(WEDNESDAY, tick=False):
        _event_at(datetime(2026, 6, 10, 20, 0, tzinfo=UTC), title="Tonight")
        _event_at(datetime(2026, 6, 13, 20, 0, tzinfo=UTC), title="Saturday show")
        _event_at(datetime(2026, 6, 25, 20, 0, tzinfo=UTC), title="Late June")

        response = client.get(LIST_URL, {"date_from": "2026-06-11", "date_to": "2026-06-25"})

    assert _titles(response) == ["Saturday show", "Late June"]


def test_city_filter_narrows_and_the_select_lists_cities_with_events(client: Client) -> None:
    _event_at(timezone.now() + timedelta(days=3), title="In Lisbon", venue=VenueFactory(city="Lisbon"))
    _event_at(timezone.now() + timedelta(days=4), title="In Porto", venue=VenueFactory(city="Porto"))

    response = client.get(LIST_URL, {"city": "porto"})  # any case

    assert _titles(response) == ["In Porto"]
    options = parse(response.content).find("select", {"name": "city"}).find_all("option")
    assert [o.text for o in options] == ["Any city", "Lisbon", "Porto"]
    assert "selected" in options[2].attrs
    assert _notices(response) == []


def test_genre_filter_narrows(client: Client) -> None:
    jazz = GenreFactory(name="Jazz", slug="jazz")
    techno = GenreFactory(name="Techno", slug="techno")
    _event_at(timezone.now() + timedelta(days=3), title="Jazz night").genres.add(jazz)
    _event_at(timezone.now() + timedelta(days=4), title="Rave").genres.add(techno)

    response = client.get(LIST_URL, {"genre": "jazz"})

    assert _titles(response) == ["Jazz night"]
    options = parse(response.content).find("select", {"name": "genre"}).find_all("option")
    assert [(o.attrs["value"], o.text) for o in options] == [
        ("", "Any genre"),
        ("jazz", "Jazz"),
        ("techno", "Techno"),
    ]


@pytest.mark.parametrize(("price", "expected"), [("free", ["Free gig"]), ("paid", ["Paid gig"])])
def test_price_filter_narrows_to_free_or_paid(client: Client, price: str, expected: list[str]) -> None:
    free = EventFactory(title="Free gig", starts_at=timezone.now() + timedelta(days=3))
    TicketTypeFactory(event=free, price=Decimal("0"), fee=Decimal("0"))
    _event_at(timezone.now() + timedelta(days=4), title="Paid gig")

    assert _titles(client.get(LIST_URL, {"price": price})) == expected


def test_available_filter_keeps_only_events_with_tickets_left(client: Client) -> None:
    _event_at(timezone.now() + timedelta(days=3), title="Plenty left")
    sold_out = EventFactory(title="Sold out gig", starts_at=timezone.now() + timedelta(days=4))
    _sell(TicketTypeFactory(event=sold_out, capacity=10), sold=10)

    everything = client.get(LIST_URL)
    response = client.get(LIST_URL, {"available": "true"})

    assert _titles(everything) == ["Plenty left", "Sold out gig"]
    assert _titles(response) == ["Plenty left"]
    assert "checked" in parse(response.content).find("input", {"name": "available"}).attrs
    badges = [
        b.text for b in parse(everything.content).find_all("span") if "badge" in b.attrs.get("class", "")
    ]
    assert badges == ["On sale", "Sold out"]


def test_sort_orders_soonest_newest_and_price(client: Client) -> None:
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=3)):
        cheap_late = EventFactory(title="Cheap late", starts_at=now + timedelta(days=9))
    with time_machine.travel(now - timedelta(days=1)):
        dear_soon = EventFactory(title="Dear soon", starts_at=now + timedelta(days=2))
    with time_machine.travel(now - timedelta(days=2)):
        mid = EventFactory(title="Mid", starts_at=now + timedelta(days=5))
    TicketTypeFactory(event=cheap_late, price=Decimal("5.00"), fee=Decimal("0.50"))
    TicketTypeFactory(event=dear_soon, price=Decimal("80.00"), fee=Decimal("6.00"))
    TicketTypeFactory(event=mid, price=Decimal("20.00"), fee=Decimal("2.00"))
    no_price = EventFactory(title="No tickets yet", starts_at=now + timedelta(days=1))

    assert _titles(client.get(LIST_URL)) == [no_price.title, "Dear soon", "Mid", "Cheap late"]
    assert _titles(client.get(LIST_URL, {"sort": "soonest"}))[1:] == ["Dear soon", "Mid", "Cheap late"]
    assert _titles(client.get(LIST_URL, {"sort": "newest"})) == [
        no_price.title,
        "Dear soon",
        "Mid",
        "Cheap late",
    ]
    assert _titles(client.get(LIST_URL, {"sort": "price"})) == [
        "Cheap late",
        "Mid",
        "Dear soon",
        no_price.title,
    ]
    # "Best match" without a search is soonest first, and the menu says so.
    best = client.get(LIST_URL, {"sort": "relevance"})
    assert _titles(best) == [no_price.title, "Dear soon", "Mid", "Cheap late"]
    assert "selected" in parse(best.content).find("option", {"value": "soonest"}).attrs


def test_cards_say_each_event_s_ticket_state(client: Client) -> None:
    now = timezone.now()
    _event_at(now + timedelta(days=1), title="Plenty")
    _sell(TicketTypeFactory(event=EventFactory(title="Few", starts_at=now + timedelta(days=2))), sold=88)
    _sell(TicketTypeFactory(event=EventFactory(title="Gone", starts_at=now + timedelta(days=3))), sold=100)
    later = datetime(2031, 3, 2, 12, 0, tzinfo=UTC)
    TicketTypeFactory(event=EventFactory(title="Later", starts_at=now + timedelta(days=4)), sales_start=later)
    _event_at(now + timedelta(days=5), title="Moved", status=Event.Status.POSTPONED)
    EventFactory(title="Unpriced", starts_at=now + timedelta(days=6))

    cards = parse(client.get(LIST_URL).content).find_all("article", {"class": "event-card"})

    states = {
        card.find("h3").text: next(
            s.text for s in card.find_all("span") if "badge" in s.attrs.get("class", "")
        )
        for card in cards
    }
    assert states == {
        "Plenty": "On sale",
        "Few": "12 left",
        "Gone": "Sold out",
        "Later": "Sales start 2 Mar",
        "Moved": "Postponed",
        "Unpriced": "Tickets soon",
    }


def test_htmx_filter_request_returns_only_the_results_partial_and_pushes_a_clean_url(client: Client) -> None:
    _event_at(timezone.now() + timedelta(days=3), title="In Lisbon", venue=VenueFactory(city="Lisbon"))
    _event_at(timezone.now() + timedelta(days=4), title="In Porto", venue=VenueFactory(city="Porto"))

    response = client.get(
        LIST_URL,
        {"q": "", "date": "", "city": "Porto", "genre": "", "sort": "soonest"},
        headers={"HX-Request": "true", "HX-Target": "event-results"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert "<form" not in body  # the filters are not re-rendered
    assert _titles(response) == ["In Porto"]
    assert response.headers["HX-Push-Url"] == "/events/?city=Porto&sort=soonest"
    # The count is swapped into the live region that stays on the page.
    status = parse(body).find("div", {"id": "results-status"})
    assert status.attrs["hx-swap-oob"] == "innerHTML"
    assert status.text == "1 event found."


def test_htmx_history_restore_gets_the_whole_page(client: Client) -> None:
    _event_at(timezone.now() + timedelta(days=3), title="Alpha")

    response = client.get(
        LIST_URL, {"city": "Lisbon"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()
    assert "HX-Request" in response.headers["Vary"]


def test_search_narrows_and_sorts_by_best_match(client: Client) -> None:
    _event_at(timezone.now() + timedelta(days=3), title="Techno all night")
    _event_at(timezone.now() + timedelta(days=4), title="Jazz brunch", description="Some jazz.")
    _event_at(timezone.now() + timedelta(days=2), title="Rock show", description="With a jazz encore.")
    search_rebuild()  # the documents are refreshed after commit, which a test transaction never reaches

    response = client.get(LIST_URL, {"q": "jazz"})

    assert _titles(response) == ["Jazz brunch", "Rock show"]  # title matches rank above description
    sort = parse(response.content).find("select", {"name": "sort"})
    assert "selected" in sort.find("option", {"value": "relevance"}).attrs
    assert _titles(client.get(LIST_URL, {"q": "jazz", "sort": "soonest"})) == ["Rock show", "Jazz brunch"]
    assert "“jazz”" in parse(response.content).find("title").text


def test_load_more_appends_the_next_page_and_a_new_button(client: Client) -> None:
    for day in range(1, 16):
        _event_at(timezone.now() + timedelta(days=day), title=f"Show {day:02d}")

    first = client.get(LIST_URL, {"city": "Lisbon"})
    more_link = parse(first.content).find("nav", {"id": "event-pager"}).find("a")
    assert more_link.attrs["href"] == "/events/?city=Lisbon&page=2"
    assert more_link.attrs["hx-get"] == "/events/?city=Lisbon&page=2"
    assert more_link.attrs["hx-target"] == "#event-list"
    assert more_link.attrs["hx-swap"] == "beforeend"
    assert more_link.attrs["hx-push-url"] == "true"
    assert _titles(first) == [f"Show {day:02d}" for day in range(1, 13)]

    more = client.get(more_link.attrs["hx-get"], headers={"HX-Request": "true", "HX-Target": "event-list"})

    fragment = parse(more.content)
    assert _titles(more) == ["Show 13", "Show 14", "Show 15"]
    assert fragment.children[0].tag == "li"
    assert fragment.children[0].attrs["data-page-start"] == "2"
    pager = fragment.find("nav", {"id": "event-pager"})
    assert pager.attrs["hx-swap-oob"] == "true"
    assert pager.find_all("a") == []  # no third page
    assert fragment.find("div", {"id": "results-status"}).text == "15 events found, showing 1 to 15."
    assert more.headers["HX-Push-Url"] == "/events/?city=Lisbon&page=2"

    # Without JavaScript the same link is a whole page, with a way back to the first.
    plain = client.get("/events/?city=Lisbon&page=2")
    assert _titles(plain) == ["Show 13", "Show 14", "Show 15"]
    main = _main(plain)
    assert (
        main.find("p", {"class": "pager-previous"}).find("a").attrs["href"] == "/events/?city=Lisbon&page=1"
    )
    assert main.find("div", {"id": "results-status"}).text == "15 events found, showing 13 to 15."


def test_unknown_and_malformed_filters_are_ignored_with_a_notice(client: Client) -> None:
    _event_at(timezone.now() + timedelta(days=3), title="Still listed")

    response = client.get(
        LIST_URL,
        {
            "city": "Atlantis",
            "genre": "polka",
            "date": "someday",
            "date_from": "not-a-date",
            "price": "cheap",
            "available": "maybe",
            "sort": "random",
            "page": "two",
        },
    )

    assert _titles(response) == ["Still listed"]
    assert _notices(response) == [
        "We ignored an unknown date option “someday”.",
        "We ignored an unknown start date “not-a-date”.",
        "We ignored an unknown price option “cheap”.",
        "We ignored an unknown availability option “maybe”.",
        "We ignored an unknown sort order “random”.",
        "We ignored an unknown city “Atlantis”.",
        "We ignored an unknown genre “polka”.",
        "We ignored a page number we could not read: “two”.",
    ]
    # The notices are inside the polite live region.
    status = _main(response).find("div", {"id": "results-status"})
    assert "We ignored an unknown city “Atlantis”." in status.text


def test_a_query_over_200_characters_shows_a_message_and_no_results(client: Client) -> None:
    _event_at(timezone.now() + timedelta(days=3), title="Not shown")

    response = client.get(LIST_URL, {"q": "x" * 201})

    main = _main(response)
    assert _titles(response) == []
    assert "Your search is too long. Please use at most 200 characters." in main.text
    assert "That search is too long to run." in main.text
    assert main.find("input", {"name": "q"}).attrs["maxlength"] == "200"


def test_a_page_past_the_end_shows_the_last_page_with_a_notice(client: Client) -> None:
    for day in range(1, 15):
        _event_at(timezone.now() + timedelta(days=day), title=f"Show {day:02d}")

    response = client.get(LIST_URL, {"page": "99"})

    assert _titles(response) == ["Show 13", "Show 14"]
    assert _notices(response) == ["There is no page 99: this is the last page of results."]
    # Appending past the end ("Load more" on a stale page) adds nothing rather than repeating a page.
    more = client.get(LIST_URL, {"page": "99"}, headers={"HX-Request": "true", "HX-Target": "event-list"})
    assert more.status_code == 200
    assert _titles(more) == []


def test_a_page_past_the_end_of_nothing_is_the_empty_state(client: Client) -> None:
    main = _main(client.get(LIST_URL, {"page": "5"}))
    assert "No upcoming events yet." in main.text
    assert _notices(client.get(LIST_URL, {"page": "5"})) == []

    main = _main(client.get(LIST_URL, {"page": "5", "price": "free"}))
    assert "No events match these filters." in main.text


# --- Event page --------------------------------------------------------------------------------------------


def _full_event() -> Event:
    """An event in summer Lisbon (UTC+1) with a lineup, genres and three ticket types in three states."""
    jazz = GenreFactory(name="Jazz", slug="jazz")
    venue = VenueFactory(
        name="Hot Clube",
        address="Praça da Alegria 48",
        postal_code="1250-004",
        city="Lisbon",
        latitude=Decimal("38.719100"),
        longitude=Decimal("-9.145600"),
    )
    starts = datetime(2031, 7, 4, 20, 30, tzinfo=UTC)
    event = EventFactory(
        title="Summer Jazz Night",
        slug="summer-jazz-night",
        venue=venue,
        starts_at=starts,
        doors_at=starts - timedelta(minutes=90),
        ends_at=starts + timedelta(hours=3),
        age_limit=18,
        refund_policy="Refunds up to 7 days before the show.",
        organizer__name="Hot Clube Produções",
    )
    event.genres.add(jazz)
    support = ArtistFactory(name="Support Trio", slug="support-trio")
    headliner = ArtistFactory(name="Maria Band", slug="maria-band")
    LineupFactory(event=event, artist=support, position=1, set_time=starts)
    LineupFactory(
        event=event, artist=headliner, position=2, is_headliner=True, set_time=starts + timedelta(hours=1)
    )
    _sell(
        TicketTypeFactory(
            event=event,
            name="Early bird",
            price=Decimal("15.00"),
            fee=Decimal("1.50"),
            capacity=50,
            position=1,
        ),
        sold=50,
    )
    _sell(
        TicketTypeFactory(
            event=event,
            name="Standard",
            price=Decimal("25.00"),
            fee=Decimal("2.50"),
            capacity=100,
            position=2,
        ),
        sold=88,
    )
    TicketTypeFactory(
        event=event,
        name="Late",
        price=Decimal("30.00"),
        fee=Decimal("0"),
        position=3,
        sales_start=datetime(2031, 7, 1, 9, 0, tzinfo=UTC),
    )
    TicketTypeFactory(event=event, name="Secret", is_visible=False)
    return event


def test_event_page_shows_times_lineup_venue_info_and_ticket_states(client: Client) -> None:
    event = _full_event()

    response = client.get(reverse("events:detail", kwargs={"slug": event.slug}))

    main = _main(response)
    assert main.find("h1").text == "Summer Jazz Night"
    # 20:30 UTC is 21:30 in Lisbon in July (WEST, UTC+1).
    when = main.find("p", {"class": "event-when"}).find("time")
    assert when.attrs["datetime"] == "2031-07-04T21:30:00+01:00"
    assert when.text == "Friday 4 July 2031, 21:30"
    facts = main.find("section", {"aria-labelledby": "when-title"}).text
    assert "Doors 20:00" in facts
    assert "Starts 21:30" in facts
    assert "Ends Sat 5 Jul, 00:30" in facts  # after midnight: the day is named
    assert "Europe/Lisbon (WEST)" in facts
    # Headliner first, with links to the artist pages and set times in local time.
    slots = main.find("ol", {"class": "lineup"}).find_all("li")
    assert [s.find("a").text for s in slots] == ["Maria Band", "Support Trio"]
    assert slots[0].find("a").attrs["href"] == "/artists/maria-band/"
    assert "Headliner" in slots[0].text
    assert "on stage 22:30" in slots[0].text
    assert "on stage 21:30" in slots[1].text
    venue = main.find("section", {"aria-labelledby": "venue-title"})
    assert "Praça da Alegria 48" in venue.text
    assert "1250-004 Lisbon, PT" in venue.text
    maps = next(a for a in venue.find_all("a") if a.text.startswith("Open in maps"))
    assert maps.attrs["href"].startswith("https://www.openstreetmap.org/?mlat=38.719100&mlon=-9.145600")
    info = main.find("section", {"aria-labelledby": "info-title"}).text
    assert "Age limit 18+" in info
    assert "Genres Jazz" in info
    assert "Organizer Hot Clube Produções" in info
    assert "Refunds up to 7 days before the show." in info
    tickets = main.find("ul", {"class": "ticket-list"}).find_all("li")
    assert [t.find("h3").text for t in tickets] == ["Early bird", "Standard", "Late"]
    assert [t.find("p", {"class": "ticket-price"}).text for t in tickets] == ["€16.50", "€27.50", "€30.00"]
    assert tickets[1].find("span", {"class": "ticket-fee"}).text == "incl. €2.50 fee"
    states = [
        t.find("span", {"class": f"badge badge-{code}"}).text
        for t, code in zip(tickets, ["sold_out", "few_left", "not_yet"], strict=True)
    ]
    assert states == ["Sold out", "12 left", "Sales start Tue 1 Jul, 10:00"]
    assert "Secret" not in main.text
    # Only the buyable ticket type ("12 left") gets a quantity choice; one button reserves. The sold-out one
    # gets the waitlist's join form (waitlist/_item.html).
    assert [b.text.strip() for b in main.find_all("button")] == [
        "Reserve tickets",
        "Join the waitlist for Early bird",
    ]
    calendar = next(a for a in main.find_all("a") if a.text == "Add to calendar (.ics)")
    assert calendar.attrs["href"] == "/events/summer-jazz-night/calendar.ics"
    assert not main.find_all("p", {"class": "banner banner-cancelled"})
    assert inline_code_problems(parse(response.content), script_nonce(response)) == []


def test_unknown_event_is_404(client: Client) -> None:
    assert client.get("/events/no-such-thing/").status_code == 404
    assert client.get("/events/no-such-thing/calendar.ics").status_code == 404


def test_a_draft_is_404_for_the_public_and_other_users(client: Client) -> None:
    draft = EventFactory(status=Event.Status.DRAFT)
    url = reverse("events:detail", kwargs={"slug": draft.slug})

    assert client.get(url).status_code == 404
    assert client.get(url + "calendar.ics").status_code == 404
    client.force_login(VerifiedUserFactory())
    assert client.get(url).status_code == 404
    client.force_login(OrganizerMemberFactory().user)  # staff of another organizer
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("who", ["member", "superuser"])
def test_a_draft_shows_a_banner_to_its_organizer_staff_and_superusers(client: Client, who: str) -> None:
    draft = EventFactory(status=Event.Status.DRAFT, title="Secret show")
    user = OrganizerMemberFactory(organizer=draft.organizer).user if who == "member" else SuperuserFactory()
    client.force_login(user)

    main = _main(client.get(reverse("events:detail", kwargs={"slug": draft.slug})))

    assert main.find("h1").text == "Secret show"
    assert main.find("p", {"class": "banner banner-draft"}).text.startswith("Draft.")


def test_a_cancelled_event_keeps_its_page_with_a_banner_and_nothing_on_sale(client: Client) -> None:
    event = EventFactory(status=Event.Status.CANCELLED)
    TicketTypeFactory(event=event)

    main = _main(client.get(reverse("events:detail", kwargs={"slug": event.slug})))

    assert main.find("p", {"class": "banner banner-cancelled"}).text.startswith("This event is cancelled.")
    assert main.find("span", {"class": "badge badge-unavailable"}).text == "Not on sale"


def test_a_postponed_event_has_a_banner(client: Client) -> None:
    event = EventFactory(status=Event.Status.POSTPONED)

    main = _main(client.get(reverse("events:detail", kwargs={"slug": event.slug})))

    assert main.find("p", {"class": "banner banner-postponed"}).text.startswith("This event is postponed.")
    assert "Tickets are not on sale yet." in main.text


# --- Artist and venue pages --------------------------------------------------------------------------------


def test_artist_page_shows_bio_genres_links_and_upcoming_events(client: Client) -> None:
    artist = ArtistFactory(
        name="Maria Band",
        bio="Fado from Alfama.",
        website="https://maria.example",
        spotify_url="https://open.spotify.com/artist/x",
    )
    artist.genres.add(GenreFactory(name="Fado", slug="fado"))
    upcoming = _event_at(timezone.now() + timedelta(days=5), title="Maria live")
    LineupFactory(event=upcoming, artist=artist)
    past = EventFactory(
        title="Old show", starts_at=timezone.now() - timedelta(days=5), ends_at=None, doors_at=None
    )
    LineupFactory(event=past, artist=artist)
    _event_at(timezone.now() + timedelta(days=6), title="Someone else")

    response = client.get(reverse("events:artist", kwargs={"slug": artist.slug}))

    main = _main(response)
    assert main.find("h1").text == "Maria Band"
    assert "Fado from Alfama." in main.text
    assert main.find("a", {"class": "tag"}).text == "Fado"
    links = {a.text: a.attrs["href"] for a in main.find("ul", {"class": "profile-links"}).find_all("a")}
    assert links == {"Website": "https://maria.example", "Spotify": "https://open.spotify.com/artist/x"}
    assert _titles(response) == ["Maria live"]
    assert client.get("/artists/nobody/").status_code == 404


def test_venue_page_shows_address_maps_link_access_capacity_and_upcoming_events(client: Client) -> None:
    venue = VenueFactory(
        name="Coliseu",
        city="Porto",
        capacity=3000,
        accessibility_notes="Step-free access on Rua Passos Manuel.",
    )
    _event_at(timezone.now() + timedelta(days=5), title="At Coliseu", venue=venue)
    _event_at(timezone.now() + timedelta(days=6), title="Elsewhere")

    response = client.get(reverse("events:venue", kwargs={"slug": venue.slug}))

    main = _main(response)
    assert main.find("h1").text == "Coliseu"
    assert venue.address in main.find("address").text
    assert (
        next(a for a in main.find_all("a") if a.text.startswith("Open in maps"))
        .attrs["href"]
        .startswith("https://www.openstreetmap.org/?mlat=")
    )
    assert "Step-free access on Rua Passos Manuel." in main.text
    assert "Capacity: 3000 people" in main.text
    assert _titles(response) == ["At Coliseu"]
    assert client.get("/venues/nowhere/").status_code == 404


# --- Query counts: constant in the number of rows ----------------------------------------------------------


def _catalogue(n: int) -> Event:
    genre = GenreFactory(name="Rock", slug="rock")
    first = None
    for i in range(n):
        event = EventFactory(
            starts_at=timezone.now() + timedelta(days=i + 1), venue=VenueFactory(city=f"City {i % 5}")
        )
        event.genres.add(genre)
        LineupFactory(event=event, is_headliner=True)
        LineupFactory(event=event)
        TicketTypeFactory(event=event)
        TicketTypeFactory(event=event, name="VIP", price=Decimal("60.00"))
        first = first or event
    assert first is not None
    return first


# /events/: cities, genres, count, page of events, lineups. An event page: event, lineup, tickets, genres.
LIST_QUERIES = 5
EVENT_QUERIES = 4


@pytest.mark.parametrize("n", [3, 25])
def test_event_list_query_count_does_not_grow_with_events(
    client: Client, django_assert_max_num_queries, n: int
) -> None:
    _catalogue(n)

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(LIST_URL, {"genre": "rock", "sort": "price"})
    assert len(_titles(response)) == min(n, 12)
    with django_assert_max_num_queries(LIST_QUERIES):
        client.get(LIST_URL, {"page": "2"}, headers={"HX-Request": "true", "HX-Target": "event-list"})


@pytest.mark.parametrize("n", [3, 25])
def test_event_page_query_count_does_not_grow_with_lineup_and_tickets(
    client: Client, django_assert_max_num_queries, n: int
) -> None:
    event = EventFactory()
    for i in range(n):
        LineupFactory(event=event, is_headliner=i == 0)
        TicketTypeFactory(event=event, name=f"Tier {i}")
        event.genres.add(GenreFactory())

    with django_assert_max_num_queries(EVENT_QUERIES):
        response = client.get(reverse("events:detail", kwargs={"slug": event.slug}))
    assert len(parse(response.content).find("ul", {"class": "ticket-list"}).find_all("li")) == n


@pytest.mark.parametrize("n", [3, 25])
def test_home_artist_and_venue_query_counts_do_not_grow(
    client: Client, django_assert_max_num_queries, n: int
) -> None:
    first = _catalogue(n)
    Event.objects.update(is_featured=True)
    artist = first.lineup.first().artist
    for event in Event.objects.exclude(pk=first.pk):
        LineupFactory(event=event, artist=artist)
        event.venue = first.venue
        event.save(update_fields=["venue"])

    with django_assert_max_num_queries(4):  # featured + lineups, soonest + lineups
        client.get("/")
    with django_assert_max_num_queries(4):  # artist, genres, events, lineups
        client.get(reverse("events:artist", kwargs={"slug": artist.slug}))
    with django_assert_max_num_queries(3):  # venue, events, lineups
        client.get(reverse("events:venue", kwargs={"slug": first.venue.slug}))

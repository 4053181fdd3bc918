"""The catalogue in a real browser: htmx filtering and "Load more", keyboard use, axe (WCAG 2.1 A/AA), CSP.

Set GH_SHOTS_DIR to also save screenshots of every page (cat-*.png) for a human to look at.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from playwright.sync_api import expect

from accounts.models import Membership
from accounts.tests.factories import VerifiedUserFactory
from events.models import Event, TicketType
from events.tests.factories import (
    ArtistFactory,
    EventFactory,
    GenreFactory,
    LineupFactory,
    TicketTypeFactory,
    VenueFactory,
)
from grasshopper.testing import assert_accessible, assert_console_clean, collect_console, shot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.browser

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
SHOTS_DIR = os.environ.get("GH_SHOTS_DIR")


def _assert_accessible(page: Page) -> None:
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def _assert_console_clean(console: list[str]) -> None:
    assert [line for line in console if "Content Security Policy" in line] == []
    assert [line for line in console if line.startswith(("error", "pageerror"))] == []


def _shot(page: Page, name: str) -> None:
    if SHOTS_DIR:
        Path(SHOTS_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS_DIR) / f"cat-{name}.png"), full_page=True)


def _titles(page: Page) -> list[str]:
    return page.locator("#event-results .event-card-title").all_inner_texts()


def _sell(ticket_type: TicketType, sold: int) -> None:
    TicketType.objects.filter(pk=ticket_type.pk).update(sold=sold)


def _catalogue() -> Event:
    """A small, realistic catalogue: three cities, genres, lineups, ticket types in every state."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    rock = GenreFactory(name="Rock", slug="rock")
    jazz = GenreFactory(name="Jazz", slug="jazz")
    electronic = GenreFactory(name="Electronic", slug="electronic")
    fado = GenreFactory(name="Fado", slug="fado")
    coliseu = VenueFactory(
        name="Coliseu dos Recreios",
        slug="coliseu-dos-recreios",
        address="Rua das Portas de Santo Antão 96",
        postal_code="1150-269",
        city="Lisbon",
        capacity=4000,
        accessibility_notes=(
            "Step-free entrance on the left of the main doors. Wheelchair spaces in the stalls."
        ),
        latitude=Decimal("38.715800"),
        longitude=Decimal("-9.140300"),
    )
    hot_clube = VenueFactory(name="Hot Clube", address="Praça da Alegria 48", city="Lisbon", capacity=120)
    hard_club = VenueFactory(
        name="Hard Club",
        address="Mercado Ferreira Borges",
        city="Porto",
        latitude=Decimal("41.142300"),
        longitude=Decimal("-8.615300"),
    )
    roundhouse = VenueFactory(
        name="Roundhouse",
        address="Chalk Farm Road",
        postal_code="NW1 8EH",
        city="London",
        country="GB",
        latitude=Decimal("51.543300"),
        longitude=Decimal("-0.151900"),
    )
    artists = {
        name: ArtistFactory(name=name, slug=slugify(name), bio=bio)
        for name, bio in [
            ("Linda Martini", "Lisbon post-rock since 2003: loud guitars, quiet moments."),
            ("Capitão Fausto", "Five friends from Lisbon playing sunny psychedelic pop."),
            ("Salvador Sobral", "Jazz singer and songwriter."),
            ("Moullinex", "Disco-house producer and live act from Lisbon."),
            ("Ana Moura", "One of fado's great voices."),
            ("Bruno Pernadas", "Jazz, pop and everything in between."),
        ]
    }
    artists["Linda Martini"].genres.add(rock)
    artists["Linda Martini"].website = "https://lindamartini.example"
    artists["Linda Martini"].spotify_url = "https://open.spotify.com/artist/example"
    artists["Linda Martini"].save()

    def event(title: str, days: int, venue, genres, lineup, tickets, **kwargs) -> Event:
        starts = (now + timedelta(days=days)).replace(hour=20)
        made = EventFactory(
            title=title,
            slug=slugify(title),
            venue=venue,
            starts_at=starts,
            timezone="Europe/London" if venue.city == "London" else "Europe/Lisbon",
            **kwargs,
        )
        made.genres.add(*genres)
        for position, (name, headliner, minutes) in enumerate(lineup, start=1):
            LineupFactory(
                event=made,
                artist=artists[name],
                position=position,
                is_headliner=headliner,
                set_time=starts + timedelta(minutes=minutes),
            )
        for position, (name, price, fee, capacity, sold, extra) in enumerate(tickets):
            ticket = TicketTypeFactory(
                event=made,
                name=name,
                price=Decimal(price),
                fee=Decimal(fee),
                capacity=capacity,
                position=position,
                **extra,
            )
            if sold:
                _sell(ticket, sold)
        return made

    headline = event(
        "Linda Martini ao vivo",
        6,
        coliseu,
        [rock],
        [("Linda Martini", True, 90), ("Capitão Fausto", False, 0)],
        [
            ("Early bird", "18.00", "1.80", 200, 200, {}),
            ("Standard", "24.00", "2.40", 1500, 1488, {}),
            ("Balcony", "30.00", "2.50", 300, 0, {"description": "Seated, first balcony"}),
        ],
        is_featured=True,
        age_limit=16,
        refund_policy="Full refund up to 14 days before the show.",
        description="The post-rock heroes return to the Coliseu for one night only.",
    )
    event(
        "Salvador Sobral trio",
        3,
        hot_clube,
        [jazz],
        [("Salvador Sobral", True, 30)],
        [("Standard", "20.00", "1.50", 120, 30, {})],
        is_featured=True,
    )
    event(
        "Moullinex all night",
        9,
        hard_club,
        [electronic],
        [("Moullinex", True, 60)],
        [
            ("Standard", "15.00", "1.50", 800, 100, {}),
            ("Late release", "20.00", "1.50", 200, 0, {"sales_start": now + timedelta(days=2)}),
        ],
    )
    event(
        "Fado na Mouraria",
        1,
        hot_clube,
        [fado],
        [("Ana Moura", True, 0)],
        [("Free entry", "0", "0", 100, 20, {})],
    )
    event(
        "Bruno Pernadas in London",
        20,
        roundhouse,
        [jazz],
        [("Bruno Pernadas", True, 45)],
        [("Standard", "22.00", "3.00", 1000, 1000, {})],
    )
    event(
        "Capitão Fausto summer",
        40,
        coliseu,
        [rock],
        [("Capitão Fausto", True, 60)],
        [("Standard", "25.00", "2.50", 2000, 0, {"sales_start": now + timedelta(days=5)})],
    )
    event(
        "Linda Martini Porto",
        12,
        hard_club,
        [rock],
        [("Linda Martini", True, 60)],
        [("Standard", "22.00", "2.20", 800, 300, {})],
        status=Event.Status.POSTPONED,
    )
    for day in range(14):  # enough club nights for a second page
        event(
            f"Club night {day + 1}",
            50 + day,
            hard_club,
            [electronic],
            [("Moullinex", True, 0)],
            [("Door", "10.00", "1.00", 300, 0, {})],
        )
    return headline


def test_event_list_filters_in_place_and_loads_more_with_the_keyboard(
    live_server: LiveServer, page: Page, browser_console: list[str]
) -> None:
    _catalogue()
    page.goto(f"{live_server.url}/events/", wait_until="load")
    assert page.locator("#results-status").inner_text() == "21 events found, showing 1 to 12."
    _assert_accessible(page)
    _shot(page, "list-desktop")
    page.evaluate("window.__samePage = true")  # gone if the browser navigates

    # A filter change (city) fetches the results only, in place, and the URL follows.
    with page.expect_response(lambda r: "city=Porto" in r.url):
        page.select_option("#filter-city", "Porto")
    page.wait_for_url("**/events/?city=Porto&sort=soonest")
    expect(page.locator("#results-status")).to_have_text("16 events found, showing 1 to 12.")
    assert _titles(page)[:2] == ["Moullinex all night", "Linda Martini Porto"]
    assert page.evaluate("window.__samePage") is True

    # Keyboard only: Tab reaches the checkbox from the control before it, Space toggles it.
    page.focus("#filter-sort")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "filter-available"
    with page.expect_response(lambda r: "available=true" in r.url):
        page.keyboard.press("Space")
    page.wait_for_url("**/events/?city=Porto&available=true&sort=soonest")
    expect(page.locator("#results-status")).to_have_text("16 events found, showing 1 to 12.")
    assert "Linda Martini Porto" in _titles(page)  # postponed still has seats left
    assert page.evaluate("window.__samePage") is True

    # "Load more" with the keyboard: the next page is appended, focus moves to its first event.
    page.focus("#filter-available")
    with page.expect_response(lambda r: "available=" not in r.url):
        page.keyboard.press("Space")
    page.wait_for_url("**/events/?city=Porto&sort=soonest")
    expect(page.locator("#event-list > li")).to_have_count(12)
    more = page.get_by_role("button", name="Load more events")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#event-list > li")).to_have_count(16)
    page.wait_for_url("**/events/?city=Porto&sort=soonest&page=2")
    expect(page.locator('#event-list > li[data-page-start="2"] a')).to_be_focused()
    expect(page.locator("#results-status")).to_have_text("16 events found, showing 1 to 16.")
    assert page.get_by_role("button", name="Load more events").count() == 0
    assert page.evaluate("window.__samePage") is True

    _assert_accessible(page)
    _assert_console_clean(browser_console)


def test_event_list_works_without_javascript(live_server: LiveServer, browser: Browser) -> None:
    _catalogue()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/events/", wait_until="load")
        page.select_option("#filter-genre", "jazz")
        page.get_by_role("button", name="Show events").click()
        page.wait_for_url("**/events/?*genre=jazz*")
        assert _titles(page) == ["Salvador Sobral trio", "Bruno Pernadas in London"]
    finally:
        context.close()


def test_catalogue_pages_are_accessible_and_csp_clean(
    live_server: LiveServer, page: Page, browser: Browser, browser_console: list[str]
) -> None:
    headline = _catalogue()

    for name, path in [
        ("home", "/"),
        ("event", f"/events/{headline.slug}/"),
        ("artist", "/artists/linda-martini/"),
        ("venue", "/venues/coliseu-dos-recreios/"),
        ("list-filtered", "/events/?city=Atlantis&genre=rock&sort=price"),
    ]:
        response = page.goto(f"{live_server.url}{path}", wait_until="load")
        assert response is not None
        assert response.status == 200, path
        _assert_accessible(page)
        _shot(page, name)
    assert page.locator(".notice").inner_text() == "We ignored an unknown city “Atlantis”."

    page.goto(f"{live_server.url}/events/{headline.slug}/", wait_until="load")
    assert page.locator("h1").inner_text() == "Linda Martini ao vivo"
    assert page.locator(".ticket-type .badge").all_inner_texts() == ["Sold out", "12 left", "On sale"]
    _assert_console_clean(browser_console)

    # Phone size: the list and an event page.
    mobile = browser.new_context(viewport={"width": 390, "height": 844})
    phone = mobile.new_page()
    phone.on("console", lambda message: browser_console.append(f"{message.type}: {message.text}"))
    try:
        phone.goto(f"{live_server.url}/events/", wait_until="load")
        _assert_accessible(phone)
        _shot(phone, "list-mobile")
        phone.goto(f"{live_server.url}/events/{headline.slug}/", wait_until="load")
        _assert_accessible(phone)
        _shot(phone, "event-mobile")
        # Nothing wider than the screen.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        mobile.close()

    # Dark colour scheme: the badges and placeholders have their own colours; axe checks their contrast.
    dark = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    night = dark.new_page()
    try:
        night.goto(f"{live_server.url}/events/", wait_until="load")
        _assert_accessible(night)
        _shot(night, "list-dark")
        night.goto(f"{live_server.url}/events/{headline.slug}/", wait_until="load")
        _assert_accessible(night)
        _shot(night, "event-dark")
    finally:
        dark.close()
    _assert_console_clean(browser_console)


def test_an_event_in_the_members_presale_for_a_visitor_and_for_a_member(
    live_server: LiveServer, page: Page, browser: Browser, browser_console: list[str]
) -> None:
    """A ticket type in its members' presale: the card and the event page tell a visitor when the public
    sale opens (nothing to buy, "Join Grasshopper Plus"); a signed-in member gets the buy form and
    reserves."""
    now = timezone.now().replace(second=0, microsecond=0)
    event = EventFactory(title="Capitão Fausto presale night", slug="capitao-fausto-presale-night")
    LineupFactory(event=event, artist=ArtistFactory(name="Capitão Fausto"), is_headliner=True)
    public_start = now + timedelta(days=2)
    TicketTypeFactory(
        event=event,
        name="Presale standing",
        price=Decimal("25.00"),
        fee=Decimal("2.50"),
        capacity=200,
        sales_start=public_start,
        member_presale_start=now - timedelta(hours=1),
    )
    local = timezone.localtime(public_start, ZoneInfo(event.timezone))
    member = VerifiedUserFactory(email="member@example.com", full_name="Inês Plus")
    Membership.objects.create(
        user=member,
        status=Membership.Status.ACTIVE,
        stripe_subscription_id="sub_presale_member",
        current_period_end=now + timedelta(days=20),
    )

    # A visitor: the card in the list says it is a members' presale, and when everyone else may buy.
    page.goto(f"{live_server.url}/events/", wait_until="load")
    card = page.locator(".event-card", has_text=event.title)
    expect(card.locator(".badge")).to_have_text(f"Members' presale — public sale from {local:%-d %b, %H:%M}")
    expect(card.locator(".badge")).to_have_class(re.compile(r"\bbadge-presale\b"))
    expect(card.locator(".event-card-price")).to_have_text("from €27.50")
    assert_accessible(page)
    shot(page, "presale-list")

    # The event page: the ticket type with its public start, no quantity to choose, an invitation to join.
    card.get_by_role("link", name=event.title).click()
    page.wait_for_url(f"**/events/{event.slug}/")
    ticket = page.locator(".ticket-type", has_text="Presale standing")
    expect(ticket.locator(".badge")).to_have_text(
        f"Members' presale — opens to everyone on {local:%a %-d %b, %H:%M}"
    )
    expect(page.get_by_label("Presale standing: number of tickets")).to_have_count(0)
    expect(page.get_by_role("button", name="Reserve tickets")).to_have_count(0)
    notice = page.locator(".buy-presale")
    expect(notice).to_contain_text("Grasshopper Plus members can buy Presale standing now")
    expect(notice.get_by_role("link", name="Join Grasshopper Plus")).to_be_visible()
    assert_accessible(page)
    shot(page, "presale-event-guest")
    assert_console_clean(browser_console)

    # A member: the same page offers the presale tickets, and reserving them opens the checkout.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        member_page = context.new_page()
        collect_console(member_page, browser_console)
        sign_in(context, live_server, member)
        member_page.goto(f"{live_server.url}{reverse('events:detail', kwargs={'slug': event.slug})}")
        expect(member_page.locator(".buy-presale")).to_contain_text(
            "As a Grasshopper Plus member you can buy Presale standing now, before sales open to everyone."
        )
        expect(member_page.locator(".buy-presale").get_by_role("link")).to_have_count(0)
        expect(member_page.locator(".buy-form")).to_contain_text("Tickets go to member@example.com.")
        assert_accessible(member_page)
        shot(member_page, "presale-event-member")

        member_page.get_by_label("Presale standing: number of tickets").select_option("2")
        member_page.get_by_role("button", name="Reserve tickets").click()
        member_page.wait_for_url(re.compile(r"/orders/\w+/checkout/"))
        expect(member_page.get_by_role("heading", level=1)).to_have_text("Checkout")
        expect(member_page.get_by_role("button", name="Pay €55.00 with card")).to_be_enabled()
        assert_accessible(member_page)
        shot(member_page, "presale-member-checkout")
    finally:
        context.close()
    # The member's hold, read through the user (events' tests do not import orders: the layer contract).
    order = member.orders.get()  # type: ignore[attr-defined]
    assert (order.status, order.total) == ("pending", Decimal("55.00"))
    assert_console_clean(browser_console)

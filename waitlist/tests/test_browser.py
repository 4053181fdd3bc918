"""The waitlist in a real browser: a guest joins a sold-out event's waitlist from the event page (htmx),
confirms by the emailed link and sees their place; a signed-in fan joins at once, sees their place on the
event page and on /waitlist/, gets an offer when a seat frees, and pays it through the offline Stripe flow
to the confirmation. axe (WCAG 2.1 A/AA) on every page, no CSP errors on the console.

Screenshots go to GH_SHOTS_DIR (default /tmp/gh) as waitlist-*.png.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from events.models import Event, OrganizerMember
from events.services import event_update
from events.tests.factories import EventFactory, OrganizerMemberFactory, TicketTypeFactory
from grasshopper.testing import assert_accessible, assert_console_clean, shot, sign_in
from orders.models import Order
from orders.services import order_cancel
from orders.tests.factories import place_order
from waitlist import signing
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.services import entry_join

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

    from orders.stripe_fake import FakeStripe

pytestmark = pytest.mark.browser


@pytest.fixture
def sold_out_event() -> tuple[Any, Order]:
    """ "Standing" sold out: its one seat is held by somebody's pending order."""
    event = EventFactory(title="Linda Martini at the Coliseu")
    standing = TicketTypeFactory(
        event=event, name="Standing", price=Decimal("25.00"), fee=Decimal("2.50"), capacity=1, max_per_order=4
    )
    blocking = place_order(standing, 1, buyer=None)
    return event, blocking


@pytest.fixture
def offline(fake_stripe: FakeStripe, settings: Any, live_server: LiveServer) -> FakeStripe:
    """``make run``'s offline mode, served by the live server: sessions point at its test payment page."""
    settings.DEBUG = True
    settings.STRIPE_OFFLINE = True
    settings.SITE_URL = live_server.url
    return fake_stripe


def test_a_guest_joins_from_the_event_page_and_confirms_by_the_emailed_link(
    live_server: LiveServer,
    page: Page,
    browser_console: list[str],
    sold_out_event: tuple[Any, Order],
    settings: Any,
) -> None:
    settings.SITE_URL = live_server.url
    event, _ = sold_out_event
    page.goto(f"{live_server.url}/events/{event.slug}/", wait_until="load")
    block = page.locator(".waitlist-item")
    expect(block.get_by_role("button", name="Join the waitlist")).to_be_visible()
    assert_accessible(page)
    shot(page, "waitlist-event-join")

    block.get_by_label("Number of tickets").select_option("2")
    block.get_by_label("Your email").fill("fan@example.com")
    block.get_by_role("button", name="Join the waitlist").click()
    # htmx swaps the block in place; the message is announced by the live region.
    expect(block.locator(".waitlist-state")).to_contain_text("Check your email.")
    expect(block.locator(".waitlist-state")).to_be_focused()
    expect(page.locator("#messages")).to_contain_text("we sent a link to fan@example.com")
    assert_accessible(page)
    shot(page, "waitlist-event-check-email")

    [message] = mail.outbox
    link = re.search(r"https?://\S+(/waitlist/confirm/\S+/)", message.body)
    assert link, message.body
    page.goto(f"{live_server.url}{link[1]}", wait_until="load")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your place on the waitlist")
    assert_accessible(page)
    shot(page, "waitlist-confirm")
    page.get_by_role("button", name="Confirm my place").click()
    expect(page.locator(".waitlist-state")).to_contain_text("You are 1st in line for 2 tickets")
    assert_accessible(page)

    page.goto(f"{live_server.url}/events/{event.slug}/", wait_until="load")
    expect(page.locator(".waitlist-item .waitlist-state")).to_contain_text(
        "You are 1st in line for 2 tickets"
    )
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.WAITING
    assert_console_clean(browser_console)


def test_a_fan_joins_gets_an_offer_and_pays_it_through_the_normal_checkout(
    offline: FakeStripe,
    live_server: LiveServer,
    page: Page,
    browser_console: list[str],
    sold_out_event: tuple[Any, Order],
) -> None:
    event, blocking = sold_out_event
    behind = UserFactory()
    fan = UserFactory()
    sign_in(page.context, live_server, fan)

    page.goto(f"{live_server.url}/events/{event.slug}/", wait_until="load")
    block = page.locator(".waitlist-item")
    expect(block.get_by_label("Your email")).to_have_count(0)  # signed in: tickets go to the account
    block.get_by_role("button", name="Join the waitlist").click()
    expect(block.locator(".waitlist-state")).to_contain_text("You are 1st in line for 1 ticket")
    expect(block.get_by_role("button", name="Leave the waitlist")).to_be_visible()
    assert_accessible(page)
    shot(page, "waitlist-event-position")

    # Somebody else joins behind; the fan's place shows on /waitlist/ too.
    other = Client()
    other.force_login(behind)
    other.post("/waitlist/join/", {"ticket_type": event.ticket_types.get().pk, "quantity": 1})
    page.goto(f"{live_server.url}/waitlist/", wait_until="load")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your waitlists")
    expect(page.locator(".waitlist-entry .waitlist-state")).to_contain_text("You are 1st in line")
    assert_accessible(page)
    shot(page, "waitlist-mine")

    # The seat comes back: it is offered to the fan, first in line, before anyone else can buy it.
    order_cancel(order=blocking, actor=None)
    offer = WaitlistOffer.objects.get(status=WaitlistOffer.Status.LIVE)
    assert offer.entry.user_id == fan.pk
    cache.clear()  # what everyone sees (seats, "waitlist active") is up to AVAILABILITY_TTL seconds old
    page.goto(f"{live_server.url}/events/{event.slug}/", wait_until="load")
    expect(page.locator(".waitlist-active")).to_have_text(
        "Waitlist active — freed seats go to the people waiting first."
    )
    expect(page.locator(".waitlist-item .waitlist-state")).to_contain_text("Tickets are held for you")
    assert_accessible(page)
    shot(page, "waitlist-event-offer")

    page.goto(f"{live_server.url}/waitlist/", wait_until="load")
    expect(page.locator(".waitlist-entry .waitlist-state")).to_contain_text("Tickets are held for you")
    assert_accessible(page)
    shot(page, "waitlist-mine-offer")
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_url(re.compile(rf"/orders/{offer.order.code}/checkout/"))
    pay = page.get_by_role("button", name="Pay €27.50 with card")
    expect(pay).to_be_enabled()
    pay.click()
    page.wait_for_url(re.compile(r"/_fakestripe/checkout/cs_test_\w+/$"))
    page.get_by_role("button", name="Pay €27.50", exact=True).click()
    page.wait_for_url(re.compile(rf"/orders/{offer.order.code}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You're going to Linda Martini at the Coliseu")
    assert_accessible(page)
    assert_console_clean(browser_console)

    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.ACCEPTED
    assert offer.order.status == Order.Status.PAID
    assert offer.entry.status == WaitlistEntry.Status.ACCEPTED


def _timer_seconds(page: Page) -> int:
    minutes, seconds = page.locator("#hold-timer").inner_text().split(":")
    return int(minutes) * 60 + int(seconds)


def test_a_waitlist_offers_checkout_cannot_extend_the_hold_and_says_why(
    live_server: LiveServer,
    page: Page,
    browser_console: list[str],
    sold_out_event: tuple[Any, Order],
) -> None:
    """The order of a waitlist offer is held only as long as the offer: its checkout has no "Extend my
    hold" and says why. An ordinary order's checkout has the extension, and it works once: the countdown
    jumps by the extension."""
    event, blocking = sold_out_event
    standing = event.ticket_types.get()
    fan = UserFactory(email="fan@example.com")
    entry_join(ticket_type=standing, quantity=1, user=fan)
    order_cancel(order=blocking, actor=None)
    offer = WaitlistOffer.objects.get(status=WaitlistOffer.Status.LIVE)
    assert offer.entry.user_id == fan.pk
    sign_in(page.context, live_server, fan)

    page.goto(f"{live_server.url}/waitlist/", wait_until="load")
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_url(re.compile(rf"/orders/{offer.order.code}/checkout/"))
    hold = page.locator("section.hold")
    expect(hold.get_by_role("heading", level=2)).to_have_text("Your seats are held")
    expect(page.locator("#hold-timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
    expect(hold.get_by_role("button", name="Extend my hold")).to_have_count(0)
    expect(hold.locator(".hint")).to_have_text(
        "These tickets were offered to you from the waitlist and are held only until the offer ends (the "
        "next person in line is waiting for them): this hold cannot be extended."
    )
    expect(page.get_by_role("button", name="Pay €27.50 with card")).to_be_enabled()
    assert_accessible(page)
    shot(page, "waitlist-offer-checkout")

    # An ordinary order of the same buyer, on another event: the extension is there, once.
    other = TicketTypeFactory(
        event=EventFactory(title="Capitão Fausto at the Aula Magna"),
        name="Seated",
        price=Decimal("30.00"),
        fee=Decimal("3.00"),
        capacity=50,
    )
    order = place_order(other, 1, buyer=fan)
    page.goto(
        f"{live_server.url}{reverse('orders:checkout', kwargs={'code': order.code})}", wait_until="load"
    )
    extend = page.get_by_role("button", name="Extend my hold")
    expect(extend).to_be_visible()
    expect(page.locator("section.hold .hint")).to_have_count(0)
    before = _timer_seconds(page)
    assert 14 * 60 <= before <= 15 * 60, before
    assert_accessible(page)
    shot(page, "order-checkout-extendable")

    extend.click()
    page.wait_for_load_state("load")
    order.refresh_from_db()
    assert order.hold_extended
    expect(page.locator("#messages")).to_contain_text("Your seats are held until")
    after = _timer_seconds(page)
    assert after >= before + 4 * 60, (before, after)  # the countdown moved on by the 5 minutes added
    expect(page.get_by_role("button", name="Extend my hold")).to_have_count(0)
    expect(page.locator("section.hold .hint")).to_have_text("You have used your one extension.")
    assert_accessible(page)
    shot(page, "order-checkout-extended")
    assert_console_clean(browser_console)


def _cancel(event: Any) -> None:
    """As the organizer does it (the admin's and the API's path): the event's waitlists close."""
    manager = OrganizerMemberFactory(organizer=event.organizer, role=OrganizerMember.Role.MANAGER).user
    event_update(actor=manager, event=event, changes={"status": Event.Status.CANCELLED})


def test_the_waitlist_page_shows_an_entry_of_a_cancelled_event_as_closed(
    live_server: LiveServer,
    page: Page,
    browser_console: list[str],
    sold_out_event: tuple[Any, Order],
) -> None:
    event, _ = sold_out_event
    fan = UserFactory(email="fan@example.com")
    entry = entry_join(ticket_type=event.ticket_types.get(), quantity=2, user=fan)
    _cancel(event)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.CLOSED
    sign_in(page.context, live_server, fan)

    page.goto(f"{live_server.url}/waitlist/", wait_until="load")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your waitlists")
    assert_accessible(page)
    shot(page, "waitlist-mine-closed")
    assert_console_clean(browser_console)
    item = page.locator(".waitlist-entry", has_text="Linda Martini at the Coliseu")
    expect(item.locator(".waitlist-state")).to_have_text(
        "The event is cancelled: its waitlist is closed, and nothing was charged.", timeout=1000
    )
    expect(item).to_contain_text("2 \u00d7 Standing")
    expect(item.get_by_role("button", name=re.compile("Leave the waitlist"))).to_have_count(0)


def test_a_guests_leave_link_shows_the_entry_of_a_cancelled_event_as_closed(
    live_server: LiveServer,
    page: Page,
    browser_console: list[str],
    sold_out_event: tuple[Any, Order],
) -> None:
    """Where the closed state does show today: the "leave the waitlist" link of a guest's emails."""
    event, _ = sold_out_event
    entry = entry_join(ticket_type=event.ticket_types.get(), quantity=2, user=None, email="guest@example.com")
    token = signing.entry_token_make(entry=entry, purpose=signing.LEAVE)
    _cancel(event)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.CLOSED

    page.goto(f"{live_server.url}{reverse('waitlist:leave_by_token', kwargs={'token': token})}")
    expect(page.get_by_role("heading", level=1)).to_have_text("You are not on this waitlist")
    expect(page.locator(".waitlist-state")).to_have_text(
        "The event is cancelled: its waitlist is closed, and nothing was charged."
    )
    expect(page.get_by_role("button", name="Leave the waitlist")).to_have_count(0)
    assert_accessible(page)
    shot(page, "waitlist-leave-link-closed")

    page.get_by_role("link", name="Back to the event").click()
    page.wait_for_url(f"**/events/{event.slug}/")
    expect(page.locator(".banner-cancelled")).to_contain_text("This event is cancelled.")
    expect(page.get_by_role("button", name="Join the waitlist")).to_have_count(0)
    expect(page.get_by_role("button", name="Reserve tickets")).to_have_count(0)
    assert_accessible(page)
    shot(page, "waitlist-event-cancelled")
    assert_console_clean(browser_console)

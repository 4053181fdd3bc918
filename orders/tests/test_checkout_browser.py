"""The checkout in a real browser: quantities on the event page, the hold timer and its warning, the free
flow to the confirmation; axe (WCAG 2.1 A/AA) and no CSP errors on the checkout and confirmation pages.

Screenshots (desktop and mobile) go to GH_SHOTS_DIR (default /tmp/gh) as order-*.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from events.tests.factories import EventFactory, TicketTypeFactory
from grasshopper.testing import assert_accessible, assert_console_clean, shot
from orders.models import Order
from orders.services import OrderLineInput, order_create
from orders.signing import guest_token_make

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.browser

TIMER = re.compile(r"^\d{1,2}:\d\d$")


@pytest.fixture
def event():
    event = EventFactory(title="Linda Martini at the Coliseu")
    TicketTypeFactory(event=event, name="Standing", capacity=200, max_per_order=4)
    TicketTypeFactory(
        event=event, name="Guest list", price=Decimal("0"), fee=Decimal("0"), capacity=20, max_per_order=2
    )
    return event


def test_checkout_and_free_flow(
    live_server: LiveServer, page: Page, browser: Browser, browser_console: list[str], event
) -> None:
    # Paid tickets: the event page form holds the seats and opens the checkout with its timer.
    page.goto(f"{live_server.url}/events/{event.slug}/", wait_until="load")
    assert_accessible(page)
    shot(page, "order-event-form-desktop")
    page.get_by_label("Standing: number of tickets").select_option("2")
    page.get_by_label("Your email").fill("guest@example.com")
    page.get_by_role("button", name="Reserve tickets").click()
    page.wait_for_url(re.compile(r"/orders/\w+/checkout/\?t="))
    timer = page.locator("#hold-timer")
    expect(timer).to_have_text(TIMER)
    first = timer.inner_text()
    assert first.startswith(("15:", "14:")), first
    expect(page.locator("#hold-warning")).to_be_hidden()
    expect(page.get_by_role("button", name="Extend my hold")).to_be_visible()
    expect(page.get_by_role("button", name="Pay €55.00 with card")).to_be_enabled()
    page.wait_for_timeout(1200)
    assert timer.inner_text() != first  # it counts down
    assert_accessible(page)
    shot(page, "order-checkout-desktop")
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING
    assert order.email == "guest@example.com"

    # Free tickets: straight to the confirmation, a QR code per ticket.
    page.goto(f"{live_server.url}/events/{event.slug}/", wait_until="load")
    page.get_by_label("Guest list: number of tickets").select_option("2")
    page.get_by_label("Your email").fill("guest@example.com")
    page.get_by_role("button", name="Reserve tickets").click()
    page.wait_for_url(re.compile(r"/orders/\w+/\?t="))
    expect(page.get_by_role("heading", level=1)).to_have_text("You're going to Linda Martini at the Coliseu")
    expect(page.locator(".ticket-card svg.ticket-qr")).to_have_count(2)
    expect(page.get_by_role("button", name="Download tickets (PDF)")).to_be_visible()
    assert_accessible(page)
    shot(page, "order-confirmation-desktop")
    confirmation_url = page.url
    assert_console_clean(browser_console)

    mobile = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = mobile.new_page()
        phone.on("console", lambda message: browser_console.append(f"{message.type}: {message.text}"))
        phone.goto(confirmation_url, wait_until="load")
        shot(phone, "order-confirmation-mobile")
        pending = Order.objects.get(status=Order.Status.PENDING)
        token = guest_token_make(code=pending.code)
        phone.goto(f"{live_server.url}{reverse('orders:checkout', kwargs={'code': pending.code})}?t={token}")
        expect(phone.locator("#hold-timer")).to_have_text(TIMER)
        assert_accessible(phone)
        shot(phone, "order-checkout-mobile")
        # Nothing is wider than the phone's screen.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        mobile.close()
    assert_console_clean(browser_console)


def test_warning_shows_when_less_than_two_minutes_are_left(
    live_server: LiveServer, page: Page, browser_console: list[str], event
) -> None:
    standing = event.ticket_types.get(name="Standing")
    order = order_create(
        event_id=event.pk,
        lines=[OrderLineInput(ticket_type_id=standing.pk, quantity=1)],
        buyer=None,
        email="late@example.com",
    )
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() + timedelta(seconds=90))
    url = reverse("orders:checkout", kwargs={"code": order.code})
    page.goto(f"{live_server.url}{url}?t={guest_token_make(code=order.code)}", wait_until="load")
    expect(page.locator("#hold-timer")).to_have_text(re.compile(r"^1:[0-2]\d$"))
    warning = page.locator("#hold-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Less than 2 minutes left")
    assert_accessible(page)
    shot(page, "order-checkout-warning-desktop")

    # The 1-minute milestone is announced (politely) when it passes; extending works once.
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() + timedelta(seconds=62))
    page.reload(wait_until="load")
    expect(page.locator("#hold-announce")).to_have_text("1 minute left to complete your order.", timeout=6000)
    page.get_by_role("button", name="Extend my hold").click()
    page.wait_for_load_state("load")
    expect(page.locator("#messages")).to_contain_text("held until")
    expect(page.get_by_role("button", name="Extend my hold")).to_have_count(0)
    expect(page.locator("#hold-warning")).to_be_hidden()
    assert_console_clean(browser_console)

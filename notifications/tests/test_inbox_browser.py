"""The inbox in a real browser: keyboard to the bell, open the inbox, mark one and then all read (htmx),
and the bell's count drops; axe (WCAG 2.1 A/AA) finds nothing and the CSP blocks nothing.

Screenshots go to GH_SHOTS_DIR (default /tmp/gh): inbox.png (the page), inbox-header.png (the header
with the bell), inbox-read.png (after mark all read), inbox-mobile.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from grasshopper.testing import assert_accessible, assert_console_clean, shot, sign_in
from notifications.models import Notification
from notifications.tests.inbox_helpers import inbox_add

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

pytestmark = pytest.mark.browser

MAX_TABS = 25


@pytest.fixture
def alice() -> User:
    user = UserFactory(email="alice@example.com")
    now = timezone.now()
    inbox_add(
        user,
        "Your tickets for Linda Martini",
        read=True,
        created=now - timedelta(days=3),
        body="2 Standing tickets, Coliseu dos Recreios, 14 March 2027 at 21:00.",
        link="/orders/ABCD234567/",
    )
    inbox_add(
        user,
        "Payment failed for order KQ7M2XPL3R",
        created=now - timedelta(hours=5),
        body="Your card was declined. Your seats are held until 18:45.",
        link="/orders/KQ7M2XPL3R/",
    )
    inbox_add(
        user,
        "Refund issued: €27.50",
        created=now - timedelta(hours=2),
        body="We refunded one Standing ticket for Linda Martini.",
        link="/orders/ABCD234567/",
    )
    inbox_add(
        user,
        "Time changed: Linda Martini",
        created=now - timedelta(minutes=10),
        body="Now starts at 21:30 (doors 20:00), same venue.",
        link="/events/linda-martini/",
    )
    return user


def test_keyboard_to_the_bell_open_inbox_mark_read(
    live_server: LiveServer, page: Page, browser_console: list[str], alice: User
) -> None:
    bob = UserFactory(email="bob@example.com")
    inbox_add(bob, "Bob's own news")
    sign_in(page.context, live_server, alice)
    page.goto(f"{live_server.url}/events/", wait_until="load")

    # Keyboard only: Tab from the top of the page reaches the bell, named with the count.
    bell = page.locator("#notification-bell-link")
    expect(bell).to_have_attribute("aria-label", "Notifications, 3 unread")
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "notification-bell-link":
            break
    else:
        pytest.fail("Tab never reached the notifications bell")
    expect(page.get_by_role("link", name="Notifications, 3 unread")).to_be_focused()
    shot(page, "inbox-header", selector="header.site-header")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/account/notifications/$"))

    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.locator(".inbox-item")).to_have_count(4)
    expect(page.locator(".inbox-item.is-unread")).to_have_count(3)
    expect(page.get_by_text("Bob's own news")).to_have_count(0)
    expect(page.locator("#inbox-summary")).to_have_text("3 unread")
    assert_accessible(page)
    shot(page, "inbox")

    # Mark one read (htmx): the list is swapped, focus stays on that item, the bell refreshes.
    newest = Notification.objects.get(user=alice, title="Time changed: Linda Martini")
    page.get_by_role("button", name="Mark as read: Time changed: Linda Martini").press("Enter")
    expect(page.locator(".inbox-item.is-unread")).to_have_count(2)
    expect(page.locator(f"#notification-{newest.pk}")).to_be_focused()
    expect(bell).to_have_attribute("aria-label", "Notifications, 2 unread")
    expect(page.locator("#messages")).to_contain_text("Notification marked as read.")

    # Mark all read: the count drops to nothing; focus goes to the heading, the message is announced.
    page.get_by_role("button", name="Mark all as read").press("Enter")
    expect(page.locator("#inbox-summary")).to_have_text("All read")
    expect(page.locator(".inbox-item.is-unread")).to_have_count(0)
    expect(bell).to_have_attribute("aria-label", "Notifications, 0 unread")
    expect(page.locator(".bell-badge")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page.locator("#messages")).to_contain_text("All notifications are marked as read.")
    assert page.url.endswith("/account/notifications/")  # swapped in place, no reload
    assert Notification.objects.filter(user=alice, read_at__isnull=True).count() == 0
    assert Notification.objects.filter(user=bob, read_at__isnull=True).count() == 1
    assert_accessible(page)
    shot(page, "inbox-read")

    # The preference form works from the same page (a plain form post).
    page.get_by_label("Email me news and offers").uncheck()
    page.get_by_role("button", name="Save email preferences").click()
    page.wait_for_load_state("load")
    expect(page.locator("#messages")).to_contain_text("You will no longer get news and offers by email.")
    expect(page.get_by_label("Email me news and offers")).not_to_be_checked()
    assert_console_clean(browser_console)


def test_inbox_on_a_phone_and_without_javascript(
    live_server: LiveServer, browser: Browser, browser_console: list[str], alice: User
) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    no_js = browser.new_context(java_script_enabled=False)
    try:
        page = phone.new_page()
        page.on("console", lambda message: browser_console.append(f"{message.type}: {message.text}"))
        sign_in(phone, live_server, alice)
        page.goto(f"{live_server.url}/account/notifications/", wait_until="load")
        expect(page.locator(".inbox-item")).to_have_count(4)
        assert_accessible(page)
        shot(page, "inbox-mobile")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # Without JavaScript the same buttons are plain form posts: back to the page, one fewer unread.
        plain = no_js.new_page()
        sign_in(no_js, live_server, alice)
        plain.goto(f"{live_server.url}/account/notifications/", wait_until="load")
        plain.get_by_role("button", name="Mark as read: Refund issued: €27.50").click()
        plain.wait_for_load_state("load")
        expect(plain.locator("#inbox-summary")).to_have_text("2 unread")
        expect(plain.locator("#notification-bell-link")).to_have_attribute(
            "aria-label", "Notifications, 2 unread"
        )
        plain.get_by_role("button", name="Mark all as read").click()
        plain.wait_for_load_state("load")
        expect(plain.locator("#inbox-summary")).to_have_text("All read")
        expect(plain.locator("#notification-bell-link")).to_have_attribute(
            "aria-label", "Notifications, 0 unread"
        )
    finally:
        phone.close()
        no_js.close()
    assert_console_clean(browser_console)


def test_unsubscribe_page_from_the_email(
    live_server: LiveServer, page: Page, browser_console: list[str]
) -> None:
    from notifications.models import Preference
    from notifications.services_inbox import unsubscribe_token

    bob = UserFactory(email="bob@example.com")
    page.goto(f"{live_server.url}/email/unsubscribe/{unsubscribe_token(user=bob)}/", wait_until="load")
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe from news and offers?")
    assert_accessible(page)
    shot(page, "unsubscribe")
    assert not Preference.objects.filter(user=bob).exists()  # looking is not unsubscribing

    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    assert Preference.objects.get(user=bob).marketing_email is False
    assert_accessible(page)
    assert_console_clean(browser_console)

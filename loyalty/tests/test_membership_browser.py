"""Grasshopper Plus in a real browser, offline mode as ``make run`` has it: the membership section of
/account/loyalty/, "Join" -> the join page -> the offline test payment page -> "Pay" -> back, a member
(the webhooks did it) -> "Cancel at period end". axe (WCAG 2.1 A/AA) on every page, no CSP errors.

Screenshots go to GH_SHOTS_DIR (default /tmp/gh): membership.png (the section of a member),
membership-join.png (the join page), membership-cancelling.png.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Membership
from accounts.selectors import membership_active
from accounts.tests.factories import VerifiedUserFactory
from grasshopper.testing import (
    assert_accessible,
    assert_console_clean,
    collect_console,
    console_errors,
    shot,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser
    from pytest_django.live_server_helper import LiveServer

    from orders.stripe_fake import FakeStripe

pytestmark = pytest.mark.browser


def test_join_offline_then_cancel_at_period_end(
    live_server: LiveServer,
    browser: Browser,
    browser_console: list[str],
    fake_stripe: FakeStripe,
    settings: Any,
) -> None:
    settings.DEBUG = True
    settings.STRIPE_OFFLINE = True
    settings.SITE_URL = live_server.url  # where the offline Checkout page lives
    user = VerifiedUserFactory(email="plus@example.com", full_name="Inês Plus")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    collect_console(page, browser_console)
    sign_in(context, live_server, user)

    page.goto(f"{live_server.url}{reverse('loyalty:account')}", wait_until="load")
    section = page.locator("section#membership")
    expect(section.get_by_role("heading", level=2)).to_have_text("Grasshopper Plus")
    assert_accessible(page)
    section.get_by_role("button", name="Join Grasshopper Plus").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Join Grasshopper Plus")
    assert_accessible(page)
    shot(page, "membership-join")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Pay €4.99 a month")
    page.get_by_role("button", name="Pay €4.99").click()

    expect(page.locator("#messages")).to_contain_text("Your membership is active")
    section = page.locator("section#membership")
    expect(section).to_contain_text("You are a member.")
    assert membership_active(user=user)
    assert_accessible(page)
    shot(page, "membership")

    section.get_by_role("button", name="Cancel at period end").click()
    expect(page.locator("#messages")).to_contain_text("Your membership will not renew")
    expect(page.locator("section#membership")).to_contain_text("Your membership ends on")
    assert Membership.objects.get(user=user).cancel_at_period_end
    assert_accessible(page)
    shot(page, "membership-cancelling", selector="section#membership")

    assert_console_clean(browser_console)
    context.close()


def test_the_event_page_in_the_members_presale(
    live_server: LiveServer, browser: Browser, browser_console: list[str]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from orders.tests.factories import ticket_type_on_sale

    now = timezone.now()
    tt = ticket_type_on_sale(
        name="Presale standing",
        sales_start=now + timedelta(days=2),
        member_presale_start=now - timedelta(hours=1),
    )
    member = VerifiedUserFactory(email="member@example.com")
    Membership.objects.create(
        user=member,
        status=Membership.Status.ACTIVE,
        stripe_subscription_id="sub_b",
        current_period_end=now + timedelta(days=20),
    )
    url = f"{live_server.url}{reverse('events:detail', kwargs={'slug': tt.event.slug})}"
    for who in ("guest", "member"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("console", lambda message: browser_console.append(f"{message.type}: {message.text}"))
        if who == "member":
            sign_in(context, live_server, member)
        page.goto(url, wait_until="load")
        badge = page.locator(".ticket-type .badge")
        select = page.get_by_label("Presale standing: number of tickets")
        if who == "guest":
            expect(badge).to_contain_text("Members' presale — opens to everyone on")
            expect(select).to_have_count(0)
            expect(page.locator(".buy-presale")).to_contain_text("Join Grasshopper Plus")
        else:
            expect(badge).to_have_text("20 left (members' presale)")  # theirs, not the shared note
            expect(select).to_have_count(1)
            expect(page.locator(".buy-presale")).to_contain_text("As a Grasshopper Plus member you can buy")
        assert_accessible(page)
        shot(page, f"membership-presale-{who}", selector="aside.event-aside")
        context.close()
    assert console_errors(browser_console) == []

"""Loyalty in a real browser: the /account/loyalty/ page (balance, tier progress, next expiry, history, the
other modules' sections), and paying part of an order with points at checkout (the total drops, the
points come off, removing them gives them back). axe (WCAG 2.1 A/AA) on every page, no CSP errors.

Screenshots go to GH_SHOTS_DIR (default /tmp/gh): loyalty.png (the account page), loyalty-mobile.png,
loyalty-checkout.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from playwright.sync_api import expect

from accounts.tests.factories import SuperuserFactory, VerifiedUserFactory
from events.tests.factories import EventFactory, TicketTypeFactory
from grasshopper.testing import assert_accessible, assert_console_clean, collect_console, shot, sign_in
from loyalty import services
from loyalty.models import LedgerEntry, LoyaltyAccount, Referral
from loyalty.tests.factories import paid_order, priced_ticket_type
from loyalty.tests.referral_helpers import code_of, referred
from orders.models import Order
from orders.tests.factories import place_order

if TYPE_CHECKING:
    from playwright.sync_api import Browser
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

pytestmark = pytest.mark.browser


@pytest.fixture
def fan(settings: Any) -> User:
    """A buyer with a history: two paid orders long ago and lately, a staff gift, some points spent."""
    settings.LOYALTY_POINTS_PER_UNIT = 10
    settings.LOYALTY_TIER_THRESHOLDS = {"silver": 1000, "gold": 3000}
    user = VerifiedUserFactory(email="fan@example.com", full_name="Rita Fan")
    start = timezone.now() - timedelta(days=340)
    with time_machine.travel(start, tick=False):
        tt = TicketTypeFactory(
            event=EventFactory(title="Linda Martini at the Coliseu"), price=Decimal("30.00"), fee=Decimal("0")
        )
        paid_order(user, tt, 2)  # 600 points, expiring in 25 days
    with time_machine.travel(start + timedelta(days=300), tick=False):
        services.points_adjust(
            user=user, points=250, reason="Sorry for the late doors at Musicbox", actor=None
        )
        tt = TicketTypeFactory(
            event=EventFactory(title="Capitão Fausto"), price=Decimal("25.00"), fee=Decimal("0")
        )
        paid_order(user, tt, 2)  # 500 points: silver
    return user


def test_loyalty_page(
    live_server: LiveServer, browser: Browser, browser_console: list[str], fan: User
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    collect_console(page, browser_console)
    sign_in(context, live_server, fan)

    page.goto(f"{live_server.url}{reverse('loyalty:account')}", wait_until="load")

    expect(page.get_by_role("heading", level=1)).to_have_text("Loyalty points")
    expect(page.locator(".loyalty-balance .loyalty-figure")).to_contain_text("1350 points")
    expect(page.locator(".loyalty-tier .loyalty-figure")).to_contain_text("Silver")
    expect(page.get_by_label("1900 more points to Gold")).to_have_attribute("value", "5")
    expect(page.locator(".loyalty-expiry")).to_contain_text("600 points")
    expect(page.locator(".loyalty-expiry")).to_contain_text("soon")
    history = page.get_by_role("table")
    expect(history.locator("tbody tr")).to_have_count(3)
    expect(history).to_contain_text("Sorry for the late doors at Musicbox")
    assert_accessible(page)
    shot(page, "loyalty")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload(wait_until="load")
    assert_accessible(page)
    shot(page, "loyalty-mobile")
    assert_console_clean(browser_console)
    context.close()


def test_redeeming_points_at_checkout(
    live_server: LiveServer, browser: Browser, browser_console: list[str], fan: User
) -> None:
    tt = TicketTypeFactory(
        event=EventFactory(title="Linda Martini at the Coliseu"), price=Decimal("20.00"), fee=Decimal("0")
    )
    order = place_order(tt, 2, buyer=fan)  # 40.00: points may pay 20.00 = 2000 points; the balance is 1350
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    collect_console(page, browser_console)
    sign_in(context, live_server, fan)

    page.goto(
        f"{live_server.url}{reverse('orders:checkout', kwargs={'code': order.code})}", wait_until="load"
    )
    points = page.get_by_label("Points to use")
    expect(points).to_have_value("1350")
    expect(page.locator("#redeem-points-help")).to_contain_text("Use up to 1350 here, worth €13.50")
    assert_accessible(page)

    points.fill("1000")
    page.get_by_role("button", name="Use points").click()
    expect(page.locator("#messages")).to_contain_text("1000 points used")
    expect(page.get_by_role("button", name="Pay €30.00 with card")).to_be_visible()
    expect(page.locator(".order-lines tfoot")).to_contain_text("\u2212€10.00")  # a minus sign
    assert LoyaltyAccount.objects.get(user=fan).balance == 350
    assert_accessible(page)
    shot(page, "loyalty-checkout")

    page.get_by_role("button", name="Remove points from this order").click()
    expect(page.locator("#messages")).to_contain_text("back in your balance")
    expect(page.get_by_role("button", name="Pay €40.00 with card")).to_be_visible()
    assert LoyaltyAccount.objects.get(user=fan).balance == 1350
    assert Order.objects.get(pk=order.pk).total == Decimal("40.00")
    assert_accessible(page)
    assert_console_clean(browser_console)
    context.close()


def test_points_expiring_within_30_days_are_announced_on_the_account_page(
    live_server: LiveServer, browser: Browser, browser_console: list[str], fan: User
) -> None:
    """The 600 points of the first order expire in 25 days: the "Expiring next" card says how many, when,
    and that it is soon; the later batches are not mentioned."""
    first = LedgerEntry.objects.filter(user=fan, expires_at__isnull=False).order_by("expires_at").first()
    assert first is not None
    assert timezone.now() + timedelta(days=24) < first.expires_at < timezone.now() + timedelta(days=26)
    day = date_format(timezone.localtime(first.expires_at), "j F Y")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    collect_console(page, browser_console)
    sign_in(context, live_server, fan)

    page.goto(f"{live_server.url}{reverse('loyalty:account')}", wait_until="load")
    card = page.locator(".loyalty-expiry")
    expect(card.get_by_role("heading", level=3)).to_have_text("Expiring next")
    expect(card.locator(".loyalty-figure")).to_have_text("600 points")
    note = card.locator(".loyalty-note")
    expect(note).to_have_text(f"600 points expire on {day}, soon: use them at checkout.")
    expect(note).to_have_class(re.compile(r"\bloyalty-note-warning\b"))
    expect(note.locator("time")).to_have_attribute("datetime", re.compile(rf"^{first.expires_at:%Y-%m-%d}"))
    assert_accessible(page)
    shot(page, "loyalty-expiring-soon", selector=".loyalty-summary")

    # On a phone the cards stack and the notice stays readable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload(wait_until="load")
    expect(page.locator(".loyalty-expiry .loyalty-note")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
    shot(page, "loyalty-expiring-soon-mobile", selector=".loyalty-summary")
    assert_console_clean(browser_console)
    context.close()


def test_the_referral_admin_lists_rewarded_and_refused_referrals_and_shows_one(
    live_server: LiveServer, browser: Browser, browser_console: list[str], settings: Any
) -> None:
    """A superuser's referral admin: Ana's first referral rewarded (both sides' points), her second
    refused by the monthly limit; the rewarded one's page with its ledger rows."""
    settings.LOYALTY_POINTS_PER_UNIT = 10
    settings.REFERRAL_REFERRER_POINTS = 500
    settings.REFERRAL_REFEREE_REWARD = "points"
    settings.REFERRAL_REFEREE_POINTS = 250
    settings.REFERRAL_REWARDS_PER_MONTH = 1
    ana = VerifiedUserFactory(email="ana@example.com", full_name="Ana Silva")
    tt = priced_ticket_type("20.00")
    bea, rewarded = referred(ana, email="bea@example.com", full_name="Bea Costa")
    first = paid_order(bea, tt)
    cid, refused = referred(ana, email="cid@example.com", full_name="Cid Rocha")
    paid_order(cid, tt)
    rewarded.refresh_from_db()
    refused.refresh_from_db()
    assert (rewarded.status, refused.status) == (Referral.Status.REWARDED, Referral.Status.REJECTED)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    collect_console(page, browser_console)
    sign_in(context, live_server, SuperuserFactory(email="boss@example.com"))

    page.goto(f"{live_server.url}{reverse('admin:loyalty_referral_changelist')}", wait_until="load")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    bea_row = rows.filter(has_text="bea@example.com")
    expect(bea_row).to_contain_text("Rewarded")
    expect(bea_row).to_contain_text("referrer +500 points, referee +250 points")
    expect(bea_row).to_contain_text(code_of(ana))
    expect(bea_row.get_by_role("link", name=first.code)).to_be_visible()
    cid_row = rows.filter(has_text="cid@example.com")
    expect(cid_row).to_contain_text("Rejected")
    expect(cid_row).to_contain_text("monthly_limit")
    assert_accessible(page)
    shot(page, "referral-admin-list")

    # Filtered by status: only the refused one.
    page.goto(
        f"{live_server.url}{reverse('admin:loyalty_referral_changelist')}?status__exact=rejected",
        wait_until="load",
    )
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody tr")).to_contain_text("cid@example.com")

    page.goto(
        f"{live_server.url}{reverse('admin:loyalty_referral_change', args=[rewarded.pk])}", wait_until="load"
    )
    expect(page.locator("body")).to_contain_text("bea@example.com")
    ledger = page.locator("table", has_text="Description")
    expect(ledger.locator("tbody tr")).to_have_count(2)
    expect(ledger).to_contain_text("+500")
    expect(ledger).to_contain_text("+250")
    expect(page.get_by_role("link", name="In the ledger")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Save"))).to_have_count(0)  # read-only
    assert_accessible(page)
    shot(page, "referral-admin-detail")
    assert_console_clean(browser_console)
    context.close()

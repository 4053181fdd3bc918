"""The referral section of /account/loyalty/ in a real browser: the share link and code, "Copy link" (the
clipboard gets the link, a screen reader hears it), each referral's status; axe (WCAG 2.1 A/AA) finds
nothing in the section and the CSP blocks nothing. And a visitor following a link lands on the sign-up page
with the invitation said.

Screenshot to GH_SHOTS_DIR (default /tmp/gh): referrals.png (the section).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from accounts.tests.factories import VerifiedUserFactory
from loyalty.tests.factories import paid_order, priced_ticket_type
from loyalty.tests.referral_helpers import code_of, referred
from orders.services import order_mark_paid
from orders.tests.factories import place_order

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

    from accounts.models import User

pytestmark = pytest.mark.browser

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
SHOTS_DIR = Path(os.environ.get("GH_SHOTS_DIR", "/tmp/gh"))  # noqa: S108  # screenshots for people, not secrets


@pytest.fixture
def ana(settings: Any, live_server: LiveServer) -> User:
    """A referrer with four referrals: rewarded, first order paid and waiting for its card, signed up,
    refused by an abuse rule."""
    settings.SITE_URL = live_server.url
    settings.REFERRAL_REWARDS_PER_MONTH = 1
    user = VerifiedUserFactory(email="ana@example.com", full_name="Ana Silva")
    tt = priced_ticket_type("30.00")
    bea, _ = referred(user, full_name="Bea Costa")
    paid_order(bea, tt)
    carla, _ = referred(user, full_name="Carla Dias")
    order = place_order(tt, 1, buyer=carla)
    order_mark_paid(order=order, provider="stripe", reference="cs_waiting")  # its charge not known yet
    referred(user, full_name="", email="duarte@example.org")
    eva, _ = referred(user, full_name="Eva Melo")
    paid_order(eva, tt)  # over the monthly limit of 1
    return user


def _sign_in(page: Page, live_server: LiveServer, user: User) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_referral_section_shows_link_and_statuses_copies_and_is_accessible(
    page: Page, browser_console: list[str], live_server: LiveServer, ana: User
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    _sign_in(page, live_server, ana)

    page.goto(f"{live_server.url}/account/loyalty/#referrals")

    section = page.locator("#referrals")
    expect(section.get_by_role("heading", name="Invite friends")).to_be_visible()
    link = f"{live_server.url}/r/{code_of(ana)}/"
    expect(section.get_by_label("Your invitation link")).to_have_value(link)
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(section).to_contain_text("Rewarded")
    expect(section).to_contain_text("First order paid: reward on its way")
    expect(section).to_contain_text("Signed up: rewarded when their first order is paid")
    expect(section).to_contain_text("Not eligible for a reward")
    expect(section).to_contain_text("du…@example.org")

    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(SHOTS_DIR / "referrals.png"))

    results = Axe().run(page, context="#referrals", options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()

    copy = section.get_by_role("button", name="Copy link")
    copy.click()
    expect(section.get_by_role("button", name="Copied")).to_be_visible()
    expect(section.get_by_role("status")).to_have_text("Invitation link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert [line for line in browser_console if "Content Security Policy" in line] == []
    assert [line for line in browser_console if line.startswith(("error", "pageerror"))] == []


def test_a_visitor_following_a_link_lands_on_sign_up_with_the_invitation(
    page: Page, live_server: LiveServer, ana: User
) -> None:
    page.goto(f"{live_server.url}/r/{code_of(ana)}/")

    assert page.url.endswith("/accounts/signup/")
    expect(page.get_by_text("Ana invited you to Grasshopper")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["gh_referral"]["httpOnly"]

"""allauth's pages in a real browser: axe (WCAG 2.1 A/AA) finds nothing, the CSP blocks nothing.

Debian's chromium through Playwright (fixtures in the root conftest.py) against live_server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from axe_playwright_python.sync_playwright import Axe

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


def assert_accessible_and_csp_clean(page: Page, console: list[str]) -> None:
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()
    assert [line for line in console if "Content Security Policy" in line] == []


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_account_pages_are_accessible(
    live_server: LiveServer, page: Page, browser_console: list[str], path: str
) -> None:
    response = page.goto(f"{live_server.url}{path}", wait_until="load")

    assert response is not None
    assert response.status == 200
    assert page.title().endswith("· Grasshopper")
    assert_accessible_and_csp_clean(page, browser_console)


def test_signup_errors_are_accessible_and_announced(
    live_server: LiveServer, page: Page, browser_console: list[str]
) -> None:
    page.goto(f"{live_server.url}/accounts/signup/", wait_until="load")
    form = page.locator("main form")
    form.get_by_label("Email").fill("someone@example.com")
    form.get_by_label("Password:", exact=True).fill("short")
    form.get_by_label("Password (again)").fill("different")
    form.get_by_role("button", name="Sign Up").click()
    page.wait_for_load_state("load")

    assert page.title().startswith("Error:")
    assert page.get_by_role("alert").is_visible()
    assert_accessible_and_csp_clean(page, browser_console)

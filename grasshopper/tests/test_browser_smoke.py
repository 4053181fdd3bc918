"""The first pages in a real browser: accessibility (axe, WCAG 2.1 A/AA), keyboard use, CSP.

Debian's chromium through Playwright (fixtures in the root conftest.py) against pytest-django's
live_server. pytest-socket allows loopback only, which is all this needs: Playwright talks to its driver
and chromium over pipes, and chromium fetches pages from live_server on 127.0.0.1/localhost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from axe_playwright_python.sync_playwright import Axe

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.browser

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


def _assert_accessible(page: Page) -> None:
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def _csp_complaints(console: list[str]) -> list[str]:
    return [line for line in console if "Content Security Policy" in line]


def _assert_styles_and_htmx_loaded(page: Page) -> None:
    # Blocked CSS or JS would not always say so on the console; look at their effect too.
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    sheets = page.evaluate("[...document.styleSheets].map(s => s.href && new URL(s.href).pathname)")
    assert sheets == ["/static/vendor/pico-2.1.1/pico.min.css", "/static/css/site.css"]
    # Pico's root font stack is applied, and site.css hides the skip link until it is focused.
    assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")
    assert page.locator("a.skip-link").bounding_box()["width"] <= 1


def test_home_page_is_accessible_keyboard_usable_and_csp_clean(
    live_server: LiveServer, page: Page, browser_console: list[str]
) -> None:
    response = page.goto(f"{live_server.url}/", wait_until="load")

    assert response is not None
    assert response.status == 200
    assert page.title() == "Grasshopper · Tickets for live music"
    _assert_styles_and_htmx_loaded(page)
    assert _csp_complaints(browser_console) == []
    assert [line for line in browser_console if line.startswith(("error", "pageerror"))] == []

    _assert_accessible(page)

    # Tab once: the skip link takes focus and comes into view.
    page.keyboard.press("Tab")
    skip_link = page.locator("a.skip-link")
    assert skip_link.evaluate("link => link === document.activeElement")
    assert skip_link.is_visible()
    box = skip_link.bounding_box()
    assert box is not None
    assert box["width"] > 50
    assert box["height"] > 10
    assert box["x"] >= 0
    assert box["y"] >= 0
    assert skip_link.inner_text() == "Skip to main content"

    # Enter follows it: focus moves to <main>, so the next Tab starts inside the content.
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'main'")
    assert page.evaluate("document.activeElement.id") == "main"


def test_404_page_is_accessible_and_csp_clean(
    live_server: LiveServer, page: Page, browser_console: list[str]
) -> None:
    response = page.goto(f"{live_server.url}/this-does-not-exist/", wait_until="load")

    assert response is not None
    assert response.status == 404
    assert page.locator("h1").inner_text() == "We can't find that page"
    _assert_styles_and_htmx_loaded(page)
    assert _csp_complaints(browser_console) == []

    _assert_accessible(page)

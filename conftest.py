"""Fixtures shared by every app's tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.core.cache import cache

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Rate limits and cached pages live in the cache; every test starts from an empty one."""
    cache.clear()


# --- Browser tests (marker `browser`): Playwright's sync API driving Debian's chromium ---------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, one per test module. Never downloaded (no `playwright install`).

    Playwright's sync API keeps an asyncio loop running on the main thread while it is started, and
    Django then refuses database calls from that thread (pytest-django's flushes, factories). The
    escape hatch DJANGO_ALLOW_ASYNC_UNSAFE is set only while Playwright runs, so that the other
    tests keep Django's check; module scope keeps that window small.
    """
    if shutil.which(CHROMIUM) is None:
        message = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def browser_console() -> list[str]:
    """What the page said on its console ("<type>: <text>") and its uncaught errors ("pageerror: ...")."""
    return []


@pytest.fixture
def page(browser: Browser, browser_console: list[str]) -> Iterator[Page]:
    """A fresh browser context (no cookies) at desktop size, with its console collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("console", lambda message: browser_console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: browser_console.append(f"pageerror: {error}"))
    yield page
    context.close()

"""Helpers of the tests: for the browser tests (marker `browser`) sign a user in, check a page with axe, read
the console, take screenshots for people to look at; for the concurrency tests, race threads on real
transactions (``run_threads``).

The `browser`, `page` and `browser_console` fixtures are in the root conftest.py."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.db import connection
from django.test import Client

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page
    from pytest_django.live_server_helper import LiveServer

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
SHOTS_DIR = Path(os.environ.get("GH_SHOTS_DIR", "/tmp/gh"))  # noqa: S108  # for people to look at  # nosec B108


def sign_in(context: BrowserContext, live_server: LiveServer, user: Any) -> None:
    """The session of a signed-in user, as a cookie (the sign-in pages have their own browser tests)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def assert_accessible(page: Page) -> None:
    """axe (WCAG 2.1 A and AA) finds no violation on the page as it is now."""
    results = Axe().run(page, options=AXE_OPTIONS)
    if results.violations_count:
        raise AssertionError(results.generate_report())


def collect_console(page: Page, console: list[str]) -> None:
    """Append what ``page`` says on its console ("<type>: <text>") and its uncaught errors to ``console``."""
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))


def csp_errors(console: list[str]) -> list[str]:
    """The console lines of requests or scripts the Content Security Policy blocked."""
    return [line for line in console if "Content Security Policy" in line]


def console_errors(console: list[str]) -> list[str]:
    """The console's errors and the page's uncaught errors."""
    return [line for line in console if line.startswith(("error", "pageerror"))]


def assert_console_clean(console: list[str]) -> None:
    """Nothing blocked by the CSP, no error on the console."""
    if csp_errors(console) or console_errors(console):
        raise AssertionError(f"CSP: {csp_errors(console)}; errors: {console_errors(console)}")


def shot(page: Page, name: str, *, selector: str | None = None) -> None:
    """Save ``<name>.png`` in GH_SHOTS_DIR (default /tmp/gh): the whole page, or only ``selector``."""
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    if selector:
        page.locator(selector).screenshot(path=str(SHOTS_DIR / f"{name}.png"))
    else:
        page.screenshot(path=str(SHOTS_DIR / f"{name}.png"), full_page=True)


def run_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together (a barrier), each on its own database
    connection, closed at the end. Returns each thread's result or the exception it raised, in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:  # collected and asserted on by the test
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results

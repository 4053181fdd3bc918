"""Fixtures shared by every app's tests."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
import stripe
from django.core.cache import cache

if TYPE_CHECKING:
    from django.http import HttpResponse
    from djstripe.models import WebhookEndpoint
    from playwright.sync_api import Browser, Page

    from orders.stripe_fake import FakeStripe

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


@pytest.fixture(autouse=True)
def _celery_join_allowed() -> None:
    """Celery marks "inside a task" with ONE process-wide flag, set and restored around every eager task.
    Concurrency tests run eager tasks (on_commit emails) in several threads at once; interleaved restores
    can leave the flag set after they end, and a later test's ``result.get()`` then raises "Never call
    result.get() within a task!". No test runs inside a task: start each with the flag cleared."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


# --- Stripe: the in-process fake (orders/stripe_fake.py) instead of the network -------------------------


class _NoNetworkStripeTransport(stripe.HTTPClient):
    """What every test gets unless it asks for ``fake_stripe``: Stripe unreachable, at once (no retries,
    no socket), exactly as production sees a network failure (``PaymentProviderError``)."""

    name = "no-network"

    def request(self, method: str, url: str, headers: Any, post_data: Any = None, **kwargs: Any) -> Any:
        error = stripe.APIConnectionError(
            f"Tests do not reach Stripe ({method.upper()} {url}): use the fake_stripe fixture."
        )
        error.should_retry = False
        raise error

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self.request(*args, **kwargs)

    def close(self) -> None:
        return None


@pytest.fixture(autouse=True)
def _stripe_unreachable() -> Iterator[None]:
    from orders import gateway

    previous = gateway.installed_transport()
    gateway.install_transport(_NoNetworkStripeTransport())
    yield
    gateway.install_transport(previous)


@pytest.fixture
def fake_stripe(_stripe_unreachable: None) -> Iterator[FakeStripe]:
    """A fresh in-memory Stripe account, answering every Stripe call of this test: our gateway's and
    dj-stripe's (``stripe.default_http_client``). Its ``requests`` / ``request_log`` show what was sent;
    its simulators (``pay``, ``decline``, ``refund``...) return the events to give to ``stripe_deliver``."""
    from orders import gateway
    from orders.stripe_fake import FakeStripe

    fake = FakeStripe()
    previous = gateway.installed_transport()
    gateway.install_transport(fake.transport)
    yield fake
    gateway.install_transport(previous)


@pytest.fixture
def stripe_webhook_endpoint(db: None) -> WebhookEndpoint:
    """dj-stripe's endpoint row (test mode) whose URL and secret ``stripe_deliver`` uses."""
    import uuid

    from django.conf import settings
    from djstripe.models import WebhookEndpoint

    endpoint_uuid = uuid.uuid4()
    return WebhookEndpoint.objects.create(
        id="we_test_grasshopper",
        livemode=False,
        secret="whsec_test_" + uuid.uuid4().hex,  # nosec B106
        djstripe_uuid=endpoint_uuid,
        url=f"https://testserver/stripe/webhook/{endpoint_uuid}/",
        enabled_events=["*"],
        status="enabled",
        api_version=settings.STRIPE_API_VERSION,
        djstripe_validation_method="verify_signature",
    )


@pytest.fixture
def stripe_deliver(
    fake_stripe: FakeStripe, stripe_webhook_endpoint: WebhookEndpoint
) -> Callable[..., HttpResponse]:
    """``stripe_deliver(event) -> response``: sign ``event`` as Stripe does (``t=..,v1=HMAC-SHA256`` with
    the endpoint's secret) and POST it over HTTPS to the real dj-stripe URL, through Django's test client.

    Keywords for the unhappy paths: ``secret=`` (sign with another secret), ``timestamp=`` (a stale
    signature), ``signature=`` (the raw header; ``None`` sends none), ``body=`` (raw text instead of the
    event's JSON)."""
    from django.test import Client
    from django.urls import reverse

    from orders.stripe_fake import webhook_signature_header

    url = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": stripe_webhook_endpoint.djstripe_uuid})
    unset = object()

    def deliver(
        event: dict[str, Any],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        signature: Any = unset,
        body: str | None = None,
    ) -> HttpResponse:
        payload = json.dumps(event) if body is None else body
        if signature is unset:
            signature = webhook_signature_header(
                payload, secret or stripe_webhook_endpoint.secret, timestamp=timestamp
            )
        headers = {} if signature is None else {"Stripe-Signature": signature}
        return Client().post(url, data=payload, content_type="application/json", secure=True, headers=headers)

    return deliver


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

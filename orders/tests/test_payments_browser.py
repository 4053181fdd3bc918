"""Paying in a real browser: the whole offline flow (event page -> checkout -> Pay -> the offline test
payment page -> Pay -> confirmation with the ticket, confirmed by a signed webhook through dj-stripe); the
"confirming…" page following the webhook by itself (htmx); and the Pay form's redirect to Stripe's hosted
page getting past the CSP. axe (WCAG 2.1 A/AA) on every page, no CSP errors on the console.

Screenshots go to GH_SHOTS_DIR (default /tmp/gh) as pay-*.png.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, SuperuserFactory
from events.models import Event
from events.tests.factories import EventFactory, TicketTypeFactory
from grasshopper.testing import assert_accessible, assert_console_clean, csp_errors, shot
from orders.models import Order, Payment, Ticket
from orders.services import OrderLineInput, order_create
from orders.services_payments import event_refund_job_set, payment_checkout_start
from orders.signing import guest_token_make
from orders.tests.payments_helpers import buy_and_pay, deliver_all

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route
    from pytest_django.live_server_helper import LiveServer

    from orders.stripe_fake import FakeStripe
    from orders.tests.payments_helpers import Deliver

pytestmark = pytest.mark.browser


@pytest.fixture
def event() -> Any:
    event = EventFactory(title="Linda Martini at the Coliseu")
    TicketTypeFactory(
        event=event,
        name="Standing",
        price=Decimal("25.00"),
        fee=Decimal("2.50"),
        capacity=200,
        max_per_order=4,
    )
    return event


@pytest.fixture
def offline(fake_stripe: FakeStripe, settings: Any, live_server: LiveServer) -> FakeStripe:
    """``make run``'s offline mode, served by the live server: sessions point at its test payment page."""
    settings.DEBUG = True
    settings.STRIPE_OFFLINE = True
    settings.SITE_URL = live_server.url
    return fake_stripe


def test_offline_flow_from_the_event_page_to_the_tickets(
    offline: FakeStripe, live_server: LiveServer, page: Page, browser_console: list[str], event: Any
) -> None:
    page.goto(f"{live_server.url}/events/{event.slug}/", wait_until="load")
    page.get_by_label("Standing: number of tickets").select_option("1")
    page.get_by_label("Your email").fill("guest@example.com")
    page.get_by_role("button", name="Reserve tickets").click()
    page.wait_for_url(re.compile(r"/orders/\w+/checkout/\?t="))
    pay = page.get_by_role("button", name="Pay €27.50 with card")
    expect(pay).to_be_enabled()
    expect(page.locator("#pay-note")).to_contain_text("Stripe's secure page")
    assert_accessible(page)
    shot(page, "pay-checkout")

    pay.click()
    page.wait_for_url(re.compile(r"/_fakestripe/checkout/cs_test_\w+/$"))
    expect(page.locator(".fakestripe-banner")).to_contain_text(
        "Test payment page — no real money (offline mode)"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay €27.50")
    expect(page.get_by_role("button", name="Decline card")).to_be_visible()
    expect(page.get_by_role("button", name="Let it expire")).to_be_visible()
    assert_accessible(page)
    shot(page, "pay-offline-checkout")

    page.get_by_role("button", name="Pay €27.50", exact=True).click()
    page.wait_for_url(re.compile(r"/orders/\w+/\?t=.*paying=1"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You're going to Linda Martini at the Coliseu")
    expect(page.locator(".ticket-card svg.ticket-qr")).to_have_count(1)
    assert_accessible(page)
    shot(page, "pay-confirmation")
    assert_console_clean(browser_console)

    order = Order.objects.get()
    assert order.status == Order.Status.PAID
    assert Payment.objects.get(order=order).status == Payment.Status.SUCCEEDED
    assert Ticket.objects.filter(order=order, status=Ticket.Status.VALID).count() == 1


def test_confirming_page_moves_on_by_itself_when_the_webhook_arrives(
    fake_stripe: FakeStripe,
    stripe_deliver: Deliver,
    live_server: LiveServer,
    page: Page,
    browser_console: list[str],
    event: Any,
) -> None:
    standing = event.ticket_types.get()
    order = order_create(
        event_id=event.pk,
        lines=[OrderLineInput(ticket_type_id=standing.pk, quantity=2)],
        buyer=None,
        email="guest@example.com",
    )
    link = f"/orders/{order.code}/?t={guest_token_make(code=order.code)}"
    payment_checkout_start(
        order=order, success_url=f"{live_server.url}{link}&paying=1", cancel_url=f"{live_server.url}{link}"
    )
    session_id = str(Payment.objects.get(order=order).stripe_checkout_session_id)
    events = fake_stripe.pay(checkout_session_id=session_id)  # paid at Stripe; the webhook is late

    page.goto(f"{live_server.url}{link}&paying=1", wait_until="load")
    status = page.get_by_role("status").filter(has_text="Payment received, confirming…")
    expect(status).to_be_visible()
    expect(page.get_by_role("link", name="Check again")).to_be_visible()
    assert_accessible(page)
    shot(page, "pay-confirming")

    deliver_all(stripe_deliver, events)

    # htmx asks every 2 seconds and follows HX-Redirect to the confirmation.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "You're going to Linda Martini at the Coliseu", timeout=8000
    )
    expect(page.locator(".ticket-card")).to_have_count(2)
    assert_console_clean(browser_console)


def test_the_pay_forms_redirect_to_stripes_hosted_page_passes_the_csp(
    fake_stripe: FakeStripe,
    live_server: LiveServer,
    page: Page,
    browser_console: list[str],
    event: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chrome checks the redirect that answers a form's POST against the form page's ``form-action``: the
    checkout page lists https://checkout.stripe.com there. Stripe itself is stubbed (no network here)."""
    stub = "<!doctype html><html lang=en><title>Stripe Checkout (stub)</title><h1>Stripe stub</h1></html>"

    def stripe_stub(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=stub)

    page.route(re.compile(r"^https://checkout\.stripe\.com/"), stripe_stub)
    standing = event.ticket_types.get()

    def checkout_page() -> None:
        order = order_create(
            event_id=event.pk,
            lines=[OrderLineInput(ticket_type_id=standing.pk, quantity=1)],
            buyer=None,
            email="guest@example.com",
        )
        token = guest_token_make(code=order.code)
        page.goto(f"{live_server.url}/orders/{order.code}/checkout/?t={token}", wait_until="load")

    checkout_page()
    page.get_by_role("button", name="Pay €27.50 with card").click()
    page.wait_for_url(re.compile(r"^https://checkout\.stripe\.com/c/pay/cs_test_"))
    expect(page.get_by_role("heading", name="Stripe stub")).to_be_visible()
    assert_console_clean(browser_console)

    # Without Stripe in form-action the browser refuses the redirect: the entry is needed, not decoration.
    monkeypatch.setattr("orders.views._form_action_sources", lambda: [])
    checkout_page()
    page.get_by_role("button", name="Pay €27.50 with card").click()
    page.wait_for_timeout(1500)
    assert not page.url.startswith("https://checkout.stripe.com")
    assert any("form-action" in line for line in csp_errors(browser_console)), browser_console


# --- the admin: refund by ticket, and a refund job's progress -----------------------------------------------


def _sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/admin/", wait_until="load")
    form = page.locator("main form")
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/admin/", wait_until="load")


def test_admin_refund_by_ticket_and_refund_job_progress_in_the_browser(
    fake_stripe: FakeStripe,
    stripe_deliver: Deliver,
    live_server: LiveServer,
    page: Page,
    browser_console: list[str],
    event: Any,
    settings: Any,
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    boss = SuperuserFactory()
    order = buy_and_pay(fake_stripe, stripe_deliver, event.ticket_types.get(), 3)
    first, second, _ = order.tickets.order_by("id")
    _sign_in(page, live_server, boss.email)

    page.goto(
        f"{live_server.url}{reverse('admin:orders_order_change', args=[order.pk])}", wait_until="networkidle"
    )
    shot(page, "pay-admin-order")
    page.get_by_role("link", name="Refund", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/orders/order/\d+/refund/$"), wait_until="networkidle")
    page.get_by_label("Only the tickets below").check()
    page.get_by_label(f"#{first.pk} Standing").check()
    page.get_by_label(f"#{second.pk} Standing").check()
    page.get_by_label("Reason").fill("Two friends cannot come")
    shot(page, "pay-admin-refund")
    page.get_by_role("button", name="Refund").click()
    page.wait_for_url(re.compile(r"/admin/orders/order/\d+/change/$"), wait_until="networkidle")
    expect(page.get_by_text("Refunded 55.00 EUR for 2 tickets")).to_be_visible()
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED

    # A refund job running for a cancelled event: its panel asks again every 2 s (htmx, shipped with unfold).
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)
    event_refund_job_set(event_id=event.pk, done=1, total=4)
    page.goto(
        f"{live_server.url}{reverse('admin:events_event_change', args=[event.pk])}", wait_until="networkidle"
    )
    panel = page.locator("#refund-job")
    expect(panel).to_have_text("Refunding: 1 of 4 paid orders processed…")
    shot(page, "pay-admin-refund-job")
    event_refund_job_set(event_id=event.pk, done=4, total=4, finished=True)
    expect(panel).to_have_text("Done: 4 of 4 paid orders processed.", timeout=8000)
    assert csp_errors(browser_console) == []

"""What the emails say and carry: times in the event's time zone, the tickets (QR codes, PDF, .ics) on the
confirmation, absolute links (a guest's signed), and a footer that says why the email came (plus a
one-click unsubscribe link on marketing email)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
import time_machine
from django.conf import settings
from django.core import mail
from PIL import Image

from accounts.tests.factories import UserFactory
from notifications import kinds
from notifications.emails import email_build
from notifications.models import Notification, OutboxEmail, Preference
from notifications.services import notify, order_notify
from notifications.services_inbox import unsubscribe_url
from notifications.tests.outbox_helpers import (
    attachment_parts,
    event_at,
    html_of,
    paid_order,
    ticket_type_for,
)
from orders import holds
from orders.holds import HoldLimit, hold_limit_register
from orders.models import Order, Payment, Refund
from orders.signing import guest_token_check
from orders.tests.factories import place_order
from orders.tests.htmlquery import soup

pytestmark = pytest.mark.django_db

# Saturday 13 July 2030: summer time in Lisbon (UTC+1) and New York (UTC-4).
STARTS = datetime(2030, 7, 13, 19, 35, tzinfo=UTC)
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _pinned_time() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sent(django_capture_on_commit_callbacks: Any) -> Any:
    """Run the after-commit sends of what happens inside ``with sent():``."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def confirmation_for(order: Order) -> Any:
    messages = [m for m in mail.outbox if order.code in m.subject or order.email in m.to]
    assert len(messages) == 1, [m.subject for m in mail.outbox]
    return messages[0]


# --- Time zones -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "doors", "subject_time", "zone_name"),
    [
        ("Europe/Lisbon", "Saturday 13 July 2030, 20:35", "19:50", "Sat 13 Jul, 20:35", "Lisbon"),
        ("America/New_York", "Saturday 13 July 2030, 15:35", "14:50", "Sat 13 Jul, 15:35", "New York"),
    ],
)
def test_times_are_shown_in_the_events_time_zone(
    sent: Any, zone: str, start: str, doors: str, subject_time: str, zone_name: str
) -> None:
    event = event_at(STARTS, timezone=zone, title="Midnight Bloom")
    event.doors_at = STARTS - timedelta(minutes=45)  # 18:50 UTC
    event.save(update_fields=["doors_at"])
    with sent():
        order = paid_order(ticket_type_for(event), 1, buyer=UserFactory())

    message = confirmation_for(order)
    html = html_of(message)
    assert message.subject == f"Your tickets for Midnight Bloom, {subject_time}"
    for part in (message.body, soup(html).get_text()):
        assert f"{start} (doors {doors}), {zone_name} time" in part
        assert "19:35" not in part  # the UTC time never shows
        assert "18:50" not in part


def test_an_event_change_shows_old_and_new_times_in_the_events_zone(sent: Any) -> None:
    event = event_at(STARTS, timezone="Europe/Lisbon")
    order = paid_order(ticket_type_for(event), 1, buyer=UserFactory())
    moved = STARTS + timedelta(days=1, hours=1)
    with sent():
        notify(
            kind="event_changed",
            reference="test",
            email=order.email,
            context={"order_id": order.pk, "changes": {"starts_at": [STARTS.isoformat(), moved.isoformat()]}},
        )
    message = mail.outbox[-1]
    assert message.subject == f"Change to {event.title}: now starts Sunday 14 July 2030, 21:35"
    assert "Starts: Sunday 14 July 2030, 21:35 (was Saturday 13 July 2030, 20:35)" in message.body
    page = soup(html_of(message))
    assert page.select_one(".change-old").get_text() == "Saturday 13 July 2030, 20:35"
    assert page.select_one(".change-new").get_text() == "Sunday 14 July 2030, 21:35"


# --- The confirmation carries the tickets -----------------------------------------------------------------


def qr_modules(png: bytes, *, size: int, border: int = 4) -> list[list[bool]]:
    """Read a QR code image back into its dark/light modules (sampling each module's centre)."""
    image = Image.open(BytesIO(png)).convert("L")
    scale = image.width // (size + 2 * border)
    assert image.width == image.height == (size + 2 * border) * scale
    return [
        [
            image.getpixel(((border + x) * scale + scale // 2, (border + y) * scale + scale // 2)) < 128
            for x in range(size)
        ]
        for y in range(size)
    ]


def test_the_confirmation_has_the_qr_codes_the_pdf_and_the_calendar_entry(sent: Any) -> None:
    event = event_at(STARTS, title="Midnight Bloom")
    with sent():
        order = paid_order(ticket_type_for(event), 2, buyer=UserFactory())

    message = confirmation_for(order)
    parts = attachment_parts(message)
    by_type: dict[str, list[Any]] = {}
    for part in parts:
        by_type.setdefault(part.get_content_type(), []).append(part)

    pdf = by_type["application/pdf"]
    assert [p.get_filename() for p in pdf] == [f"tickets-{order.code}.pdf"]
    assert pdf[0].get_payload(decode=True).startswith(b"%PDF-")

    ics = by_type["text/calendar"]
    assert [p.get_filename() for p in ics] == [f"{event.slug}.ics"]
    calendar = ics[0].get_payload(decode=True).decode()
    assert "SUMMARY:Midnight Bloom" in calendar
    assert "DTSTART:20300713T193500Z" in calendar

    # One inline PNG per ticket, referenced by the HTML, each encoding exactly that ticket's secret.
    images = by_type["image/png"]
    tickets = list(order.tickets.order_by("id"))
    assert len(images) == len(tickets) == 2
    page = soup(html_of(message))
    sources = [img.element.get("src") for img in page.select("img.ticket-qr")]
    for ticket, image, src in zip(tickets, images, sources, strict=True):
        assert image["Content-Disposition"].startswith("inline")
        assert src == f"cid:{image['Content-ID'].strip('<>')}"
        expected = segno.make(ticket.secret, error="m")
        matrix = [[bool(bit) for bit in row] for row in expected.matrix]
        assert qr_modules(image.get_payload(decode=True), size=len(matrix)) == matrix
    assert [n.get_text(strip=True) for n in page.select(".ticket-holder")] == ["Ana", "Rui"]


def test_the_html_is_inlined_for_mail_clients(sent: Any) -> None:
    with sent():
        order = paid_order(ticket_type_for(event_at(STARTS)), 1, buyer=UserFactory())
    html = html_of(confirmation_for(order))
    page = soup(html)
    assert page.select("style") == []
    button = page.select_one("a.button")
    assert "background: #1b6e46" in button.element.get("style")


# --- Links ------------------------------------------------------------------------------------------------


def test_a_guests_email_links_to_the_signed_order_page(sent: Any) -> None:
    with sent():
        order = paid_order(ticket_type_for(event_at(STARTS)), 1)  # a guest: no buyer

    message = confirmation_for(order)
    link = soup(html_of(message)).select_one("a.button").element.get("href")
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == settings.SITE_URL
    assert parts.path == f"/orders/{order.code}/"
    token = parse_qs(parts.query)["t"][0]
    assert guest_token_check(token=token, code=order.code)
    assert not guest_token_check(token=token, code="SOMEOTHER1")
    assert f"Your tickets: {link}" in message.body
    assert not Notification.objects.exists()  # a guest has no inbox


def test_a_signed_in_buyers_email_links_to_the_plain_order_page(sent: Any) -> None:
    buyer = UserFactory()
    with sent():
        order = paid_order(ticket_type_for(event_at(STARTS)), 1, buyer=buyer)

    message = confirmation_for(order)
    html = html_of(message)
    expected = f"{settings.SITE_URL}/orders/{order.code}/"
    assert soup(html).select_one("a.button").element.get("href") == expected
    assert f"Your tickets: {expected}\n" in message.body
    assert "?t=" not in html
    assert "?t=" not in message.body
    assert Notification.objects.get(user=buyer).link == f"/orders/{order.code}/"


# --- Footers: why you get it; marketing can be switched off ------------------------------------------------


@pytest.fixture
def newsletter() -> Iterator[kinds.Kind]:
    """A marketing kind for these tests only (the real ones come with loyalty's newsletters)."""
    kind = kinds.register(
        kinds.Kind(
            key="test_newsletter",
            template="message",
            subject=lambda c: c["headline"],
            title=lambda c: c["headline"],
            body=lambda c: c["text"],
            load=kinds.load_message,
            link=kinds.message_link,
            reason=kinds.REASON_MARKETING,
            marketing=True,
        )
    )
    yield kind
    kinds.unregister(kind.key)


def newsletter_to(user: Any, *, email: str | None = None) -> OutboxEmail | None:
    return notify(
        kind="test_newsletter",
        reference="newsletter:2030-07",
        user=user,
        email=email,
        context={"headline": "Summer shows", "text": "New dates in July.", "action_url": "https://x.test/"},
    )


def test_a_transactional_footer_says_why_and_offers_no_unsubscribe(sent: Any) -> None:
    with sent():
        order = paid_order(ticket_type_for(event_at(STARTS)), 1, buyer=UserFactory())
    message = confirmation_for(order)
    footer = soup(html_of(message)).select_one(".footer").get_text(" ", strip=True)
    assert "because you ordered tickets on Grasshopper" in footer
    assert "cannot be switched off" in footer
    assert "nsubscribe" not in footer
    assert "because you ordered tickets on Grasshopper" in message.body
    assert "List-Unsubscribe" not in message.extra_headers
    assert (
        message.extra_headers["Message-ID"]
        == f"<outbox-{OutboxEmail.objects.get().pk}.order_confirmed@grasshopper.localhost>"
    )


def test_a_marketing_email_has_the_unsubscribe_link_in_its_footer(sent: Any, newsletter: kinds.Kind) -> None:
    user = UserFactory()
    with sent():
        newsletter_to(user)

    [message] = mail.outbox
    url = unsubscribe_url(user=user)
    footer = soup(html_of(message)).select_one(".footer")
    assert [a.element.get("href") for a in footer.select("a") if a.get_text() == "Unsubscribe"] == [url]
    assert "because you asked for news from Grasshopper" in footer.get_text()
    assert f"Unsubscribe from news and offers (one click): {url}" in message.body
    assert message.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_marketing_email_respects_the_opt_out_and_never_goes_to_guests(
    sent: Any, newsletter: kinds.Kind
) -> None:
    opted_out = UserFactory()
    Preference.objects.create(user=opted_out, marketing_email=False)
    with sent():
        assert newsletter_to(opted_out) is None
        assert newsletter_to(None, email="guest@example.com") is None
    assert mail.outbox == []
    assert not OutboxEmail.objects.exists()
    # The inbox still shows it: only the email is switched off.
    assert Notification.objects.get(user=opted_out).title == "Summer shows"


def test_transactional_email_ignores_the_marketing_opt_out(sent: Any) -> None:
    buyer = UserFactory()
    Preference.objects.create(user=buyer, marketing_email=False)
    with sent():
        order = paid_order(ticket_type_for(event_at(STARTS)), 1, buyer=buyer)
    assert confirmation_for(order).to == [buyer.email]


# --- Every kind renders -------------------------------------------------------------------------------------


def test_every_kind_renders_a_subject_text_and_html() -> None:
    event = event_at(STARTS, title="Midnight Bloom")
    ticket_type = ticket_type_for(event)
    paid = paid_order(ticket_type, 2, buyer=UserFactory())
    pending = place_order(ticket_type, 1)
    payment = Payment.objects.create(
        order=pending,
        kind=Payment.Kind.CHECKOUT,
        amount=pending.total,
        currency="EUR",
        idempotency_key="test:pay:1",
        status=Payment.Status.FAILED,
        failure_message="Your card was declined.",
    )
    refund = Refund.objects.create(
        order=paid,
        source=Refund.Source.STAFF,
        amount=Decimal("27.50"),
        currency="EUR",
        idempotency_key="test:r:1",
    )
    later = (STARTS + timedelta(hours=2)).isoformat()
    contexts = {
        "order_confirmed": {"order_id": paid.pk},
        "payment_failed": {"order_id": pending.pk, "payment_id": payment.pk},
        "hold_expiring": {"order_id": pending.pk},
        "order_expired": {"order_id": pending.pk},
        "refund_issued": {"order_id": paid.pk, "refund_id": refund.pk},
        "refund_failed": {"order_id": paid.pk, "refund_id": refund.pk},
        "order_unfulfillable": {"order_id": paid.pk},
        "event_changed": {
            "order_id": paid.pk,
            "changes": {
                "starts_at": [STARTS.isoformat(), later],
                "venue": ["Hall 1, Lisbon", "Hall 2, Porto"],
            },
        },
        "event_cancelled": {"order_id": paid.pk},
        "event_reminder": {"order_id": paid.pk},
    }
    # Loyalty's kinds name no event: each is rendered by its own tests (referral_rewarded in
    # test_referral_messages.py, loyalty_tier_changed in test_tier_notification.py, loyalty_points_expiring
    # in test_points_expiring_messages.py). The waitlist's need an entry or an offer:
    # notifications/tests/test_waitlist_messages.py renders each.
    own_tests = {"referral_rewarded", "loyalty_tier_changed", "loyalty_points_expiring"}
    own_tests |= {"waitlist_joined", "waitlist_offer", "waitlist_offer_lapsed", "waitlist_closed"}
    assert set(contexts) == set(kinds.REGISTRY) - own_tests  # a new kind gets a line here
    for key, context in contexts.items():
        outbox = OutboxEmail.objects.create(
            kind=key, reference=f"test:{key}", to="a@example.com", context=context
        )
        message = email_build(outbox=outbox)
        html = html_of(message)
        assert "Midnight Bloom" in message.subject or "order" in message.subject.lower(), key
        assert "Midnight Bloom" in message.body, key
        for text in (message.subject, message.body, soup(html).get_text()):
            assert "None" not in text, (key, text)
            assert "{{" not in text, key
        assert soup(html).select_one("h1").get_text(strip=True), key
    assert "€27.50" in email_build(outbox=OutboxEmail.objects.get(kind="refund_issued")).subject


def test_inbox_entries_use_the_kinds_title_and_body() -> None:
    buyer = UserFactory()
    order = paid_order(ticket_type_for(event_at(STARTS, title="Midnight Bloom")), 2, buyer=buyer)
    entry = Notification.objects.get(user=buyer, kind="order_confirmed")
    assert entry.title == "Your tickets for Midnight Bloom"
    assert (
        entry.body
        == f"Order {order.code}: 2 tickets for Saturday 13 July 2030, 20:35 at {order.event.venue.name}."
    )
    order_notify(kind="order_confirmed", order=order)  # announced again: still one entry
    assert Notification.objects.filter(user=buyer).count() == 1


def test_the_hold_warning_offers_the_extension_only_when_the_buyer_can_still_take_it() -> None:
    pending = place_order(ticket_type_for(event_at(STARTS)), 1)

    def warning() -> str:
        OutboxEmail.objects.filter(kind="hold_expiring").delete()
        outbox = OutboxEmail.objects.create(
            kind="hold_expiring", reference="test:hold", to="a@example.com", context={"order_id": pending.pk}
        )
        return str(email_build(outbox=outbox).body)

    assert "extend the hold once" in warning()
    # A rule such as the waitlist's (an offer's order never outlives the offer) leaves no time to add.
    hold_limit_register(
        key="test.no_time",
        rule=lambda order: HoldLimit(until=order.expires_at, message="Offer ends") if order.pk else None,
    )
    try:
        assert "extend" not in warning()
    finally:
        holds._RULES.pop("test.no_time", None)
    Order.objects.filter(pk=pending.pk).update(hold_extended=True)
    assert "extend" not in warning()

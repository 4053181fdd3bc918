"""Helpers for the outbox and email tests: events at a known time, paid orders, and reading sent mail."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import Message
from typing import Any

from django.core import mail
from django.core.mail import EmailMultiAlternatives

from accounts.models import User
from events.models import Event, TicketType
from events.tests.factories import EventFactory, TicketTypeFactory
from orders.models import Order
from orders.services import order_mark_paid
from orders.tests.factories import place_order


def event_at(starts_at: datetime, *, timezone: str = "Europe/Lisbon", **kwargs: Any) -> Event:
    """A published event starting at ``starts_at`` (aware, UTC), doors an hour before, no end."""
    return EventFactory(
        starts_at=starts_at,
        doors_at=starts_at - timedelta(hours=1),
        ends_at=None,
        timezone=timezone,
        **kwargs,
    )


def ticket_type_for(event: Event, **kwargs: Any) -> TicketType:
    return TicketTypeFactory(event=event, **kwargs)


def paid_order(
    ticket_type: TicketType, quantity: int = 2, *, buyer: User | None = None, now: datetime | None = None
) -> Order:
    """``order_create`` + ``order_mark_paid``: what a real purchase does (order_paid is sent)."""
    order = place_order(ticket_type, quantity, buyer=buyer, now=now, holder_names=["Ana", "Rui"][:quantity])
    return order_mark_paid(order=order, provider="test", reference=f"test:{order.code}", now=now)


def html_of(message: EmailMultiAlternatives) -> str:
    html = [content for content, mimetype in message.alternatives if mimetype == "text/html"]
    assert len(html) == 1, "one HTML alternative"
    return str(html[0])


def sent_to(address: str) -> list[EmailMultiAlternatives]:
    return [m for m in mail.outbox if address in m.to]  # type: ignore[misc]


def attachment_parts(message: EmailMultiAlternatives) -> list[Message]:
    """Every non-body part of the MIME message as it goes over the wire."""
    parts = []
    for part in message.message().walk():
        if part.is_multipart():
            continue
        if part.get_content_type() in ("text/plain", "text/html") and part.get_filename() is None:
            continue
        parts.append(part)
    return parts

"""Rendering an outbox row into the email that is sent.

One layout (``notifications/email/base.html`` and ``base.txt``) for every kind: a plain-text part and an
HTML part with its CSS inlined (``css-inline``: mail clients drop ``<style>``). Times are shown in the
event's own time zone (the whole rendering runs in it). Links are absolute (``settings.SITE_URL``), a
guest's order link signed (``notifications.links``). The footer says why the recipient gets the message;
a marketing message adds the one-click unsubscribe link (and the ``List-Unsubscribe`` headers).

The order confirmation carries the tickets: each QR code inline as a PNG (``cid:``: mail clients block
data URLs and SVG), the tickets' PDF (``orders.pdf``) and the event as an ``.ics``.
"""

from __future__ import annotations

import io
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import css_inline
import segno
from anymail.message import attach_inline_image
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from events.ics import event_ics
from notifications import kinds, links
from notifications.models import OutboxEmail
from notifications.services_inbox import unsubscribe_url
from orders.models import Ticket
from orders.pdf import tickets_pdf_render


def sender_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "grasshopper.localhost"


def message_id(outbox: OutboxEmail) -> str:
    """The same for every attempt at one outbox row, so that a copy sent twice is recognised as one."""
    return f"<outbox-{outbox.pk}.{outbox.kind}@{sender_domain()}>"


def ticket_qr_png(*, secret: str) -> bytes:
    """A ticket's QR code as PNG: the same code as on the page and in the PDF (the secret only)."""
    buffer = io.BytesIO()
    segno.make(secret, error="m").save(buffer, kind="png", scale=6, border=4, light="#fff")
    return buffer.getvalue()


def email_context(*, outbox: OutboxEmail, kind: kinds.Kind) -> dict[str, Any]:
    """The template context: the kind's loaded objects plus the layout's values."""
    context = kind.load(outbox.context)
    unsubscribe = ""
    if kind.marketing and outbox.user is not None:
        unsubscribe = unsubscribe_url(user=outbox.user)  # signed, one click (the inbox surfaces own it)
    context.update(
        kind=kind,
        link=kind.link(context, True),
        reason=kind.reason,
        marketing=kind.marketing,
        unsubscribe_url=unsubscribe,
        site_name=settings.SITE_NAME,
        site_url=settings.SITE_URL,
        recipient=outbox.to,
    )
    if "event" in context:
        context["event_url"] = links.event_url(context["event"])
        # "Lisbon time", "New York time": the zone the times are shown in, as people say it.
        context["zone_name"] = context["event"].timezone.rpartition("/")[2].replace("_", " ")
    return context


def email_build(*, outbox: OutboxEmail) -> EmailMultiAlternatives:
    """The message for ``outbox``, ready to ``send()`` (nothing is sent here)."""
    kind = kinds.get(outbox.kind)
    context = email_context(outbox=outbox, kind=kind)
    event = context.get("event")
    zone = ZoneInfo(event.timezone) if event is not None else timezone.get_current_timezone()
    headers = {"Message-ID": message_id(outbox)}
    if context["unsubscribe_url"]:
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    with timezone.override(zone):
        subject = " ".join(kind.subject(context).split())  # one line, whatever the data holds
        context["subject"] = subject
        message = EmailMultiAlternatives(
            subject=subject, to=[outbox.to], from_email=settings.DEFAULT_FROM_EMAIL, headers=headers
        )
        tickets: list[Ticket] = context.get("tickets", []) if kind.attach_tickets else []
        context["ticket_rows"] = [
            {
                "ticket": ticket,
                "number": number,
                "qr_cid": attach_inline_image(
                    message,
                    ticket_qr_png(secret=ticket.secret),
                    filename=f"ticket-{number}.png",
                    idstring=f"ticket-{number}",
                    domain=sender_domain(),
                ),
            }
            for number, ticket in enumerate(tickets, start=1)
        ]
        message.body = render_to_string(f"notifications/email/{kind.template}.txt", context)
        html = render_to_string(f"notifications/email/{kind.template}.html", context)
    message.attach_alternative(css_inline.inline(html, load_remote_stylesheets=False), "text/html")
    if tickets:
        order = context["order"]
        pdf = tickets_pdf_render(order=order, tickets=tickets, base_url=f"{settings.SITE_URL}/")
        message.attach(f"tickets-{order.code}.pdf", pdf, "application/pdf")
        ics = event_ics(event=order.event, url=links.event_url(order.event))
        message.attach(f"{order.event.slug}.ics", ics, "text/calendar")
    return message

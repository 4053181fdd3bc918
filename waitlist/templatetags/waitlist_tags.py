"""The event page's waitlist block, ``{% load waitlist_panel from waitlist_tags %}{% waitlist_panel page %}``,
and the small filters the waitlist's templates use.

A template tag, like loyalty's checkout forms, because the event page belongs to events, which never
imports the waitlist (DESIGN.md section 1). It runs in the page's uncached shell on every request: the
visitor's entry and position are never part of the cached HTML (see ``waitlist.pages``).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from events.pages import EventPage
from orders.models import Order
from orders.signing import guest_token_make
from waitlist.pages import panel_items_for_page

register = template.Library()


@register.inclusion_tag("waitlist/_panel.html", takes_context=True)
def waitlist_panel(context: template.Context, page: EventPage) -> dict[str, Any]:
    request = context["request"]
    items = panel_items_for_page(rows=page.tickets, event_id=page.event.pk, request=request)
    return {
        "items": items,
        "event": page.event,
        "request": request,
        "user": request.user,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def ordinal(value: int | None) -> str:
    """1 -> "1st", 2 -> "2nd", 3 -> "3rd", 11 -> "11th", 22 -> "22nd"."""
    if value is None:
        return ""
    number = int(value)
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@register.filter
def checkout_url(order: Order) -> str:
    """The offer's checkout page: a guest's carries the signed guest link (the order is in their name)."""
    url = reverse("orders:checkout", kwargs={"code": order.code})
    if order.buyer_id is None:
        url += f"?t={guest_token_make(code=order.code)}"
    return url

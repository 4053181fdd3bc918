"""The ticket quantity form, for the event page: ``{% load checkout %}{% buy_form page %}``."""

from dataclasses import replace
from datetime import datetime
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

from accounts.selectors import membership_active
from events.pages import EventPage, TicketRow
from orders.forms import BuyForm

register = template.Library()


@register.inclusion_tag("orders/_buy_form.html", takes_context=True)
def buy_form(context: template.Context, page: EventPage) -> dict[str, Any]:
    request = context["request"]
    # Members' presale (issue 7): ticket types members may buy before everyone else. Shown to all (the
    # guest form is cached: it depends on the rows only); a signed-in member gets them in the form.
    now = timezone.now()
    presale = [row for row in page.tickets if _in_presale(row, now)]
    member = bool(presale) and request.user.is_authenticated and membership_active(user=request.user, now=now)
    rows = page.tickets
    if member:
        rows = [
            replace(row, state=replace(row.state, can_buy=True)) if row in presale else row for row in rows
        ]
    form = BuyForm.for_page(rows=rows, event_slug=page.event.slug, guest=not request.user.is_authenticated)
    return {
        "form": form,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "user": request.user,
        "presale": presale,
        "member": member,
        "membership_name": settings.MEMBERSHIP_NAME,
    }


def _in_presale(row: TicketRow, now: datetime) -> bool:
    ticket_type = row.ticket_type
    return (
        row.state.code == "not_yet"
        and row.state.available > 0
        and ticket_type.member_presale_start is not None
        and ticket_type.sales_start is not None
        and ticket_type.member_presale_start <= now < ticket_type.sales_start
    )

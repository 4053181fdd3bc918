"""The ticket quantity form, for the event page: ``{% load checkout %}{% buy_form page %}``; and whether the
checkout page may offer the hold extension (``hold_extension_refused``)."""

from dataclasses import replace
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

from events.pages import EventPage
from events.selectors import ticket_type_states_for_user
from orders.forms import BuyForm
from orders.holds import HoldLimit, order_hold_extension_refused
from orders.models import Order

register = template.Library()


@register.inclusion_tag("orders/_buy_form.html", takes_context=True)
def buy_form(context: template.Context, page: EventPage) -> dict[str, Any]:
    request = context["request"]
    # Members' presale (issue 7): ticket types members may buy before everyone else, in the state
    # "presale" for all (the guest form is cached: it depends on the rows only). A signed-in member gets
    # them buyable in the form: their state for this user (events.selectors, where the rule lives).
    presale = [row for row in page.tickets if row.state.code == "presale"]
    rows = page.tickets
    member = False
    if presale and request.user.is_authenticated:
        states = ticket_type_states_for_user(
            ticket_types=[row.ticket_type for row in presale],
            event=page.event,
            user=request.user,
            now=timezone.now(),
        )
        member = any(state.can_buy for state in states.values())
        rows = [replace(row, state=states[row.ticket_type.pk]) if row in presale else row for row in rows]
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


@register.simple_tag
def hold_extension_refused(order: Order) -> HoldLimit | None:
    """``{% hold_extension_refused order as refused %}``: the limit that leaves the hold no time to add
    (a waitlist offer's), to say why instead of offering the extension; None otherwise."""
    return order_hold_extension_refused(order=order)

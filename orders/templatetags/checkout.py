"""The ticket quantity form, for the event page: ``{% load checkout %}{% buy_form page %}``."""

from typing import Any

from django import template

from events.pages import EventPage
from orders.forms import BuyForm

register = template.Library()


@register.inclusion_tag("orders/_buy_form.html", takes_context=True)
def buy_form(context: template.Context, page: EventPage) -> dict[str, Any]:
    request = context["request"]
    form = BuyForm.for_page(
        rows=page.tickets, event_slug=page.event.slug, guest=not request.user.is_authenticated
    )
    return {"form": form, "request": request, "csrf_token": context.get("csrf_token"), "user": request.user}

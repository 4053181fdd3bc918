"""The bell in the site header and a guard for the links notifications carry."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.http import url_has_allowed_host_and_scheme

from notifications.selectors import notification_unread_count

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict[str, Any]:
    """``{% notification_bell %}``: the header's bell with the signed-in user's unread count (one COUNT on
    a partial index). Render it only for signed-in users, so anonymous pages stay the same for all."""
    user = context.get("user")
    return {"unread_count": notification_unread_count(user=user) if user is not None else 0}


@register.filter
def inbox_link(link: str) -> str:
    """The notification's link if it stays on this site (``/orders/ABCD/``), else "" (no link shown)."""
    if link and link.startswith("/") and url_has_allowed_host_and_scheme(link, allowed_hosts=None):
        return link
    return ""

"""The links our messages carry. In an email every link is absolute (``settings.SITE_URL``); an inbox entry
keeps a site-relative one. A guest's order link carries the signed guest token (``orders.signing``): the
only secret any of our URLs ever holds. A signed-in buyer's link is the plain order page, which asks them
to sign in."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from events.models import Event
from orders.models import Order
from orders.signing import guest_token_make

# The order pages a message may point to (orders.urls names).
ORDER_PAGES = frozenset({"confirmation", "checkout"})


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def order_path(order: Order, *, page: str = "confirmation") -> str:
    """The order page's site-relative path, never with a token (for the signed-in buyer's inbox)."""
    if page not in ORDER_PAGES:
        raise ValueError(f"Not an order page: {page}")
    return reverse(f"orders:{page}", kwargs={"code": order.code})


def order_url(order: Order, *, page: str = "confirmation") -> str:
    """The absolute order page for an email: a guest's order signed with its guest token."""
    path = order_path(order, page=page)
    if order.buyer_id is None:
        path += f"?t={guest_token_make(code=order.code)}"
    return absolute(path)


def event_path(event: Event) -> str:
    return reverse("events:detail", kwargs={"slug": event.slug})


def event_url(event: Event) -> str:
    return absolute(event_path(event))

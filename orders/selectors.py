"""Reads of orders, shaped for the pages and the API (query counts independent of the number of rows)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from accounts.models import User
from grasshopper.lib.exceptions import NotFound
from orders.models import Order, OrderLine, Ticket


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "No such order."


def _shaped() -> QuerySet[Order]:
    lines: Prefetch[Any] = Prefetch(
        "lines", queryset=OrderLine.objects.select_related("ticket_type").order_by("id")
    )
    tickets: Prefetch[Any] = Prefetch(
        "tickets", queryset=Ticket.objects.select_related("ticket_type").order_by("id")
    )
    return Order.objects.select_related("event__venue").prefetch_related(lines, tickets)


def order_get_by_code(*, code: str) -> Order:
    """The order with this code, lines, tickets, event and venue loaded (staff and webhooks: no owner
    check); raises ``order_not_found``."""
    order = _shaped().filter(code=code).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_get_for_buyer(*, code: str, user: User | AnonymousUser) -> Order:
    """The signed-in ``user``'s order with this code, shaped like ``order_get_by_code``. Someone else's
    order and a guest's order raise ``order_not_found`` too: nothing tells them apart (nothing leaks)."""
    if not user.is_authenticated:
        raise OrderNotFound()
    order = _shaped().filter(code=code, buyer=user).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_list_for_user(*, user: User | AnonymousUser) -> QuerySet[Order]:
    """The user's orders, newest first, with lines (+ ticket types), tickets, event and venue loaded;
    empty for anonymous users."""
    if not user.is_authenticated:
        return Order.objects.none()
    return _shaped().filter(buyer=user).order_by("-created", "-id")

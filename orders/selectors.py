"""Reads of orders, shaped for the pages and the API (query counts independent of the number of rows)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from accounts.models import User
from grasshopper.lib.exceptions import NotFound
from orders.models import Order, OrderLine, Payment, Ticket


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


def order_shape_in_memory(*, order: Order, lines: list[OrderLine], tickets: list[Ticket]) -> None:
    """Give an order its lines, tickets and (no) adjustments as if ``_shaped()`` had prefetched them, from
    rows the caller has just written (``order_create_or_replay``): showing a new order costs no query.
    The lines must carry their ``ticket_type`` and the order its ``event``. Django keeps prefetched rows
    in ``_prefetched_objects_cache``, keyed by the relation's name, as querysets whose result cache is
    filled (what ``prefetch_related_objects`` does); ``.all()`` then reads from it."""
    rows: dict[str, list[Any]] = {
        "lines": sorted(lines, key=lambda line: line.pk),
        "tickets": sorted(tickets, key=lambda ticket: ticket.pk),
        "adjustments": [],
    }
    cache = {}
    for name, objects in rows.items():
        queryset = getattr(order, name).all()  # lazy: no query
        queryset._result_cache = objects
        queryset._prefetch_done = True
        cache[name] = queryset
    order._prefetched_objects_cache = cache  # type: ignore[attr-defined]


def order_rows_in_memory(*, order: Order) -> tuple[list[OrderLine], list[Ticket]] | None:
    """The lines and tickets ``order_shape_in_memory`` gave ``order`` (or a prefetch loaded), in id order;
    None when they are not in memory and reading them would cost queries."""
    cache = getattr(order, "_prefetched_objects_cache", {})
    if "lines" not in cache or "tickets" not in cache:
        return None
    return list(cache["lines"]), list(cache["tickets"])


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


# --- Payments (the checkout page's payment state) -----------------------------------------------------------


def order_payment_latest(*, order: Order) -> Payment | None:
    """The order's most recent payment attempt, web or mobile (None: never tried to pay). The checkout page
    reads it to say "Payment received, confirming…" or why the last card was declined."""
    return Payment.objects.filter(order_id=order.pk).order_by("-created", "-id").first()

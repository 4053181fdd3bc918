"""Loyalty reacting to the orders app's facts (orders.signals), connected in ``LoyaltyConfig.ready()``.

Each receiver calls one service, inside the orders transaction that sent the fact (the order row is locked
by then; the services lock the user's loyalty account next): the points move, or nothing does.

- ``order_paid`` -> the buyer earns points (``points_earn_for_order``; once per order).
- ``order_refunded`` -> points earned on the refunded part are taken back, points spent on it given back.
- ``order_expired`` / ``order_cancelled`` -> points spent on the order are given back.
"""

from __future__ import annotations

from typing import Any

from loyalty import services
from orders.models import Order, Refund
from orders.signals import order_cancelled, order_expired, order_paid, order_refunded


def on_order_paid(sender: Any, order: Order, **kwargs: Any) -> None:
    services.points_earn_for_order(order=order)


def on_order_refunded(sender: Any, order: Order, refund: Refund, **kwargs: Any) -> None:
    services.points_reverse_for_refund(order=order, refund=refund)


def on_order_ended(sender: Any, order: Order, **kwargs: Any) -> None:
    services.points_return_for_order(order=order)


def connect() -> None:
    order_paid.connect(on_order_paid, sender=Order, dispatch_uid="loyalty.points_earn")
    order_refunded.connect(on_order_refunded, sender=Order, dispatch_uid="loyalty.points_reverse")
    order_expired.connect(on_order_ended, sender=Order, dispatch_uid="loyalty.points_return.expired")
    order_cancelled.connect(on_order_ended, sender=Order, dispatch_uid="loyalty.points_return.cancelled")

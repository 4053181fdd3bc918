"""The orders app reacting to its own facts: when an order stops waiting for money (its hold lapsed, it was
cancelled, or it was paid another way), its open Stripe Checkout Sessions / PaymentIntents are closed
through the API after commit (``orders.services_payments.payments_close_open_schedule``): our hold is
shorter than a session's 30-minute minimum life. Connected in ``OrdersConfig.ready()``.
"""

from __future__ import annotations

from typing import Any

from orders.models import Order
from orders.services_payments import payments_close_open_schedule
from orders.signals import order_cancelled, order_expired, order_paid, order_total_changed


def close_open_payments(sender: object, order: Order, **kwargs: Any) -> None:
    payments_close_open_schedule(order=order)


def connect() -> None:
    for signal, name in (
        (order_expired, "expired"),
        (order_cancelled, "cancelled"),
        (order_paid, "paid"),
        (order_total_changed, "total_changed"),
    ):
        signal.connect(close_open_payments, sender=Order, dispatch_uid=f"orders.close_open_payments.{name}")

"""Celery tasks of the orders app: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from orders.services import orders_expire_due


@shared_task(name="orders.expire_due")
def orders_expire_due_task() -> int:
    """Expire lapsed holds (beat, every minute). Safe to run twice or concurrently: SKIP LOCKED and the
    status re-check under the lock make a second run a no-op. Correctness does not depend on it."""
    return orders_expire_due()

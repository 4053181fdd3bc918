"""Celery tasks of the orders app: thin, each calls one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from orders.exceptions import PaymentProviderError
from orders.services import orders_expire_due
from orders.services_payments import (
    event_refund_all,
    event_refund_job_set,
    payments_close_open,
    payments_reconcile_stuck,
    refund_send,
)
from orders.services_stripe import stripe_webhook_triggers_prune


@shared_task(name="orders.expire_due")
def orders_expire_due_task() -> int:
    """Expire lapsed holds (beat, every minute). Safe to run twice or concurrently: SKIP LOCKED and the
    status re-check under the lock make a second run a no-op. Correctness does not depend on it."""
    return orders_expire_due()


@shared_task(name="orders.stripe_webhook_triggers_prune")
def stripe_webhook_triggers_prune_task() -> int:
    """Delete raw Stripe webhook requests older than STRIPE_WEBHOOK_TRIGGER_RETENTION_DAYS (beat, hourly)."""
    return stripe_webhook_triggers_prune()


# --- Payments (orders.services_payments) ----------------------------------------------------------------


@shared_task(name="orders.payments_reconcile_stuck")
def payments_reconcile_stuck_task() -> int:
    """Settle payments stuck open (a lost webhook, a failed expiry) by asking Stripe (beat, every 5
    minutes). Safe to run twice: every step is idempotent."""
    return payments_reconcile_stuck()


@shared_task(
    name="orders.payments_close_open",
    autoretry_for=(PaymentProviderError,),
    retry_backoff=True,
    max_retries=5,
)
def payments_close_open_task(*, order_id: int) -> int:
    """Expire / cancel at Stripe the open payments of an order that stopped waiting for money (after
    commit). Stripe unreachable: retried; reconciliation catches whatever is left."""
    return payments_close_open(order_id=order_id)


@shared_task(
    name="orders.refund_send",
    autoretry_for=(PaymentProviderError,),
    retry_backoff=True,
    max_retries=5,
)
def refund_send_task(*, refund_id: int) -> None:
    """Ask Stripe to return a recorded refund's money (after commit). Idempotent (Stripe idempotency key,
    status guard); Stripe unreachable: retried, then reconciliation resends it."""
    refund_send(refund_id=refund_id)


@shared_task(name="orders.event_refund_all", bind=True)
def event_refund_all_task(self: Any, *, event_id: int, actor_id: int | None) -> int:
    """Refund every paid order of a cancelled event. Progress {done, total} goes to the task's result meta
    (state PROGRESS) and to the cache key ``orders:refund_job:<event_id>`` (``event_refund_job_get``)."""
    from accounts.models import User
    from events.models import Event

    event = Event.objects.get(pk=event_id)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None

    last = {"done": 0, "total": 0}

    def progress(done: int, total: int) -> None:
        last.update(done=done, total=total)
        event_refund_job_set(event_id=event_id, done=done, total=total)
        if not self.request.is_eager:
            self.update_state(state="PROGRESS", meta={"done": done, "total": total})

    refunded = event_refund_all(event=event, actor=actor, progress=progress)
    event_refund_job_set(event_id=event_id, done=last["done"], total=last["total"], finished=True)
    return refunded

"""Celery tasks of the notifications app: thin, each calls one service (notifications.services).

All are safe to run twice: sending claims its row first (a redelivered task finds it claimed or sent),
the beat sweeps skip what was already done, and a broadcast goes on from its cursor.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from notifications.services import (
    EmailTransientError,
    broadcast_run,
    holds_warn_expiring,
    outbox_relay,
    outbox_requeue_stale,
    outbox_send,
    reminders_send_due,
)


@shared_task(
    name="notifications.send_email",
    acks_late=True,
    autoretry_for=(EmailTransientError,),
    retry_backoff=settings.NOTIFICATIONS_EMAIL_RETRY_BACKOFF,
    retry_backoff_max=settings.NOTIFICATIONS_EMAIL_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    # The service stops at NOTIFICATIONS_EMAIL_MAX_ATTEMPTS (the row is then failed); this is a backstop.
    max_retries=settings.NOTIFICATIONS_EMAIL_MAX_ATTEMPTS,
)
def outbox_send_task(outbox_id: int) -> str | None:
    """Send one outbox email; retried with exponential backoff on transient errors."""
    outbox = outbox_send(outbox_id=outbox_id)
    return outbox.status if outbox is not None else None


@shared_task(name="notifications.outbox_relay")
def outbox_relay_task() -> int:
    """Hand queued emails to send tasks (web processes ask for it at most once a second each)."""
    return outbox_relay()


@shared_task(name="notifications.outbox_requeue_stale")
def outbox_requeue_stale_task() -> int:
    """Beat, every minute: hand messages a dead worker left behind (or whose task was lost) to a worker."""
    return outbox_requeue_stale()


@shared_task(name="notifications.broadcast_run", acks_late=True)
def broadcast_run_task(broadcast_id: int) -> int | None:
    """Tell every ticket holder of an event (changed, cancelled); returns how many orders were told."""
    broadcast = broadcast_run(broadcast_id=broadcast_id)
    return broadcast.done if broadcast is not None else None


@shared_task(name="notifications.holds_warn_expiring")
def holds_warn_expiring_task() -> int:
    """Beat, every minute: "your seats are held for 5 more minutes"."""
    return holds_warn_expiring()


@shared_task(name="notifications.reminders_send_due")
def reminders_send_due_task() -> int:
    """Beat, every 5 minutes: the reminder 24 hours before doors open."""
    return reminders_send_due()

"""Loyalty's Celery tasks: thin, each calls one service (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from loyalty.services import points_expire_due, points_expiry_warn_due


@shared_task(name="loyalty.points_expire_due", acks_late=True)
def points_expire_due_task() -> int:
    """Hourly: expire points past their validity and recompute tiers (safe to run twice)."""
    return points_expire_due()


@shared_task(name="loyalty.points_expiry_warn_due", acks_late=True)
def points_expiry_warn_due_task() -> int:
    """Hourly: tell users whose points expire within LOYALTY_EXPIRY_WARNING_DAYS, once per batch (safe to
    run twice)."""
    return points_expiry_warn_due()

"""Loyalty's Celery tasks: thin, each calls one service (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from loyalty.services import points_expire_due


@shared_task(name="loyalty.points_expire_due", acks_late=True)
def points_expire_due_task() -> int:
    """Hourly: expire points past their validity and recompute tiers (safe to run twice)."""
    return points_expire_due()

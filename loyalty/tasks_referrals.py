"""The referrals' beat job (imported by ``LoyaltyConfig.ready()`` so that workers know it; scheduled in
settings.CELERY_BEAT_SCHEDULE). Thin: one service call."""

from __future__ import annotations

from celery import shared_task

from loyalty.services_referrals import referrals_settle_waiting


@shared_task(name="loyalty.referrals_settle_waiting", acks_late=True)
def referrals_settle_waiting_task() -> int:
    """Every 15 minutes: decide first orders whose Stripe charge never arrived (safe to run twice)."""
    return referrals_settle_waiting()

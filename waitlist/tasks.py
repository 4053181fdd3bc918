"""Celery tasks of the waitlist: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from waitlist.services import waitlist_sweep


@shared_task(name="waitlist.sweep")
def waitlist_sweep_task() -> int:
    """Lapse expired offers and offer free or withheld seats to the line (beat, every minute). Safe to run
    twice or concurrently with releases (SKIP LOCKED, a round holds the ticket type's lock); correctness
    does not depend on it."""
    return waitlist_sweep()

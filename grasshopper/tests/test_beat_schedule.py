"""Beat's schedule (settings.CELERY_BEAT_SCHEDULE) and the tasks the apps declare agree.

A periodic job that is written and tested but never scheduled fails silently in production: the hold
warnings and the reminders before doors open were such jobs until this test.
"""

from __future__ import annotations

import inspect

import pytest
from django.conf import settings

from grasshopper.celery import app

# Importing the tasks modules makes Celery's Django fixup run the system checks, some of which read the
# database (dj-stripe's webhook-endpoint check).
pytestmark = pytest.mark.django_db


def _our_tasks() -> dict[str, object]:
    app.loader.import_default_modules()  # every installed app's tasks module, as a worker does
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_scheduled_task_exists() -> None:
    tasks = _our_tasks()
    missing = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} - set(tasks)
    assert not missing, f"scheduled but no such task: {sorted(missing)}"


# Called on demand, never on a schedule: the worker health checks of grasshopper/celery.py.
ON_DEMAND = {"grasshopper.ping", "grasshopper.whoami"}


def test_every_task_that_takes_no_arguments_is_scheduled() -> None:
    """Tasks called with an id (send this email, run this broadcast) are queued by the code; a task without
    parameters is a sweep that only beat calls."""
    periodic = {
        name
        for name, task in _our_tasks().items()
        if name not in ON_DEMAND
        and not any(
            p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            for p in inspect.signature(task.run).parameters.values()  # type: ignore[attr-defined]
        )
    }
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert periodic, "no periodic task found: the check would pass for nothing"
    assert periodic - scheduled == set(), f"periodic tasks beat never runs: {sorted(periodic - scheduled)}"

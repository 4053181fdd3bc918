"""How far a background job got, readable by any layer (e.g. the event admin shows how many ticket holders a
notifications job has told so far, without importing notifications).

Kept in the cache (Redis in production) for ``PROGRESS_TTL``: a view of a job, not its record. The job's own
rows stay the source of truth; losing this only hides the progress line until the job writes it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from django.core.cache import cache
from django.utils import timezone

PROGRESS_TTL = 60 * 60 * 24 * 30  # seconds
_PREFIX = "progress:"


class Progress(TypedDict):
    state: str  # queued, running, done, failed
    done: int
    total: int
    updated: str  # ISO 8601


def progress_set(key: str, *, state: str, done: int, total: int, now: datetime | None = None) -> Progress:
    progress: Progress = {
        "state": state,
        "done": done,
        "total": total,
        "updated": (now or timezone.now()).isoformat(),
    }
    cache.set(_PREFIX + key, progress, PROGRESS_TTL)
    return progress


def progress_get(key: str) -> Progress | None:
    value = cache.get(_PREFIX + key)
    return cast(Progress, value) if isinstance(value, dict) else None

"""The Celery application. Broker, result backend and eagerness come from the settings (environment).

Workers log exactly like the web processes: Django's ``LOGGING`` (JSON lines on stdout) instead of
Celery's own handlers, and django-structlog's worker step binds ``task_id`` (and the ``request_id`` of
the request that queued the task) to every line of a task. Beat uses django-celery-beat's
``DatabaseScheduler`` (``CELERY_BEAT_SCHEDULER``).
"""

import logging.config
import os
import socket
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grasshopper.settings.base")

app = Celery("grasshopper")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(DjangoStructLogInitStep)
app.autodiscover_tasks()


@setup_logging.connect(dispatch_uid="grasshopper.celery.setup_logging")
def use_django_logging(**kwargs: Any) -> None:
    """Connected, so Celery leaves logging alone: apply the project's configuration instead."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@app.task(name="grasshopper.ping")
def ping() -> str:
    """Answer ``pong``: used by the readiness probe and the real-worker test."""
    return "pong"


@app.task(name="grasshopper.whoami")
def whoami() -> dict[str, str | int]:
    """Say which worker process ran it: the real-worker test proves the task left the caller's process."""
    return {"hostname": socket.gethostname(), "pid": os.getpid()}

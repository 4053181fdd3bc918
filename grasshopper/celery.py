"""The Celery application. Broker, result backend and eagerness come from the settings (environment)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grasshopper.settings.base")

app = Celery("grasshopper")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="grasshopper.ping")
def ping() -> str:
    """Answer ``pong``: used by the readiness probe and the real-worker test."""
    return "pong"

"""ASGI entry point (not used in production yet; WSGI with gunicorn is the supported server)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grasshopper.settings.base")

application = get_asgi_application()

"""WSGI entry point: ``gunicorn grasshopper.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

from grasshopper.lib.heap import freeze_startup_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grasshopper.settings.base")

application = get_wsgi_application()
freeze_startup_heap()

"""Settings for the test suite: the same module as production, plus what tests need.

``make test`` points DATABASE_URL and REDIS_URL at the local PostgreSQL and Redis.
"""

from grasshopper.settings.base import *  # noqa: F403
from grasshopper.settings.base import STORAGES

# No manifest: tests render templates without running collectstatic first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

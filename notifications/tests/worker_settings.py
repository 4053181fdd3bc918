"""Settings of the real Celery worker that ``test_worker.py`` starts: the test settings, except that mail
is written to files in ``GH_TEST_EMAIL_DIR`` (the test reads them back) instead of the worker's own memory."""

import os

from grasshopper.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["GH_TEST_EMAIL_DIR"]

"""Settings for the test suite: the production module, configured like production, plus what tests need.

The suite runs with ``DJANGO_DEBUG=false`` and every production secret set, so it exercises the same
settings a deployment gets. Only two things differ, each for a reason: the test server speaks plain HTTP
(no SSL redirect), and Celery runs eagerly unless a test starts a real worker. ``make test`` points
DATABASE_URL and REDIS_URL at the local PostgreSQL and Redis; these are the defaults when it does not.
"""

import os

_TEST_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "test-only-secret-key-4f9c2b7e1a6d8c3f5e0b9a7d2c4e6f8a1b3d5c7e9f0a2b4c6",  # nosec B105
    "DJANGO_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/grasshopper",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "CELERY_TASK_ALWAYS_EAGER": "true",
    "DJANGO_STATIC_MANIFEST": "false",
    "EMAIL_URL": "consolemail://",
}
for _name, _value in _TEST_ENV.items():
    os.environ.setdefault(_name, _value)

from grasshopper.settings.base import *  # noqa: E402, F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

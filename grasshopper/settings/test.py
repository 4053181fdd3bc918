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
    # Well-formed test-mode keys that Stripe never issued: tests talk to the fake transport (fixture
    # `fake_stripe`), installed per test; production's checks stay on (STRIPE_OFFLINE is false).
    "STRIPE_SECRET_KEY": "sk_test_" + "GrasshopperTestSuite0000000",  # nosec B105
    "STRIPE_PUBLISHABLE_KEY": "pk_test_" + "GrasshopperTestSuite0000000",
    "STRIPE_OFFLINE": "false",
}
for _name, _value in _TEST_ENV.items():
    os.environ.setdefault(_name, _value)

from grasshopper.settings.base import *  # noqa: E402, F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# dj-stripe's own migrations take 30-45 s to render (minutes on a busy machine), on every test database
# creation: the tests build its tables from one generated migration instead (regenerate it after a
# dj-stripe upgrade, see its package docstring; a test fails while it is stale). Production and
# `make run` run the real ones. (None, i.e. syncdb, fails on PostgreSQL: its tables reference accounts_user.)
MIGRATION_MODULES = {"djstripe": "grasshopper.tests.migrations.djstripe"}

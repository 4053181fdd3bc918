"""dj-stripe's schema in ONE generated migration, for the test database only.

dj-stripe 2.11's own migrations take 30-45 s (minutes on a busy CI machine) to render; the test database
is created from this instead (1 s). Regenerate after upgrading dj-stripe (a test fails until you do):

    rm grasshopper/tests/migrations/djstripe/0*.py
    DJANGO_SETTINGS_MODULE=grasshopper.settings.test DATABASE_URL=sqlite:////tmp/x.sqlite3 \\
        .venv/bin/python manage.py makemigrations djstripe

Production and `make run` always use dj-stripe's real migrations.
"""

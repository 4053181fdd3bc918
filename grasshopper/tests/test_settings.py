"""The settings come from the environment only: embedded defaults with none, a clear stop without secrets."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Everything the settings read; each test starts from an environment without any of them.
_OURS = (
    "DJANGO_",
    "DATABASE_",
    "REDIS_URL",
    "CELERY_",
    "EMAIL_URL",
    "SENTRY_",
    "LOG_FORMAT",
    "SITE_URL",
    "CACHE_KEY_PREFIX",
    "API_THROTTLE_",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
    "STRIPE_",
)

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "prod-like-" + "k7Qz9xW2pL4mN8vB1cR6tY3uI0oP5aS" * 2,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/grasshopper",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "tickets.example.com",
    "STRIPE_SECRET_KEY": "sk_live_" + "ProductionLikeKey0000000000",  # nosec B105
    "STRIPE_PUBLISHABLE_KEY": "pk_live_" + "ProductionLikeKey0000000000",
}

DUMP = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "debug": s.DEBUG,
    "db_engine": s.DATABASES["default"]["ENGINE"],
    "db_name": str(s.DATABASES["default"]["NAME"]),
    "cache": s.CACHES["default"]["BACKEND"],
    "eager": s.CELERY_TASK_ALWAYS_EAGER,
    "broker": s.CELERY_BROKER_URL,
    "email": s.EMAIL_BACKEND,
    "hosts": s.ALLOWED_HOSTS,
    "hasher": s.PASSWORD_HASHERS[0],
}))
"""


def _run(code: str, env: dict[str, str], *args: str, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "grasshopper.settings.base"
    return subprocess.run(
        [sys.executable, *(("-c", code) if code else args)],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_no_environment_runs_on_embedded_defaults() -> None:
    result = _run(DUMP, {})
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["debug"] is True
    assert values["db_engine"] == "django.db.backends.sqlite3"
    assert values["db_name"].endswith("db.sqlite3")
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["eager"] is True
    assert values["email"] == "django.core.mail.backends.console.EmailBackend"
    assert values["hosts"] == ["127.0.0.1", "localhost"]
    assert values["hasher"] == "django.contrib.auth.hashers.Argon2PasswordHasher"


SERVE = """
import django
django.setup()
from django.test import Client
from events.models import Event
event = Event.objects.filter(status=Event.Status.PUBLISHED).order_by("starts_at").first()
client = Client(HTTP_HOST="127.0.0.1")
for path in ["/", "/events/", f"/events/{event.slug}/", "/api/v1/events/"]:
    print("SERVED", path, client.get(path).status_code)

# A free order through the service: born paid, its tickets and confirmation written by the compiled
# statements (grasshopper.lib.db), on SQLite.
from decimal import Decimal
from django.db.models import F
from orders.models import Ticket
from orders.services import OrderLineInput, order_create_or_replay
from events.models import TicketType
ticket_type = TicketType.objects.filter(event=event, capacity__gte=F("sold") + F("held") + 2).first()
TicketType.objects.filter(pk=ticket_type.pk).update(price=Decimal("0.00"), fee=Decimal("0.00"))
order = order_create_or_replay(
    lines=[OrderLineInput(ticket_type_id=ticket_type.pk, quantity=2)], buyer=None, email="guest@example.com"
).order
print("ORDER", order.status, Ticket.objects.filter(order=order).count())
"""


def test_make_run_migrates_seeds_and_serves_on_the_embedded_defaults(tmp_path: Path) -> None:
    """What ``make run`` does before serving, on SQLite and the other embedded defaults: the test suite
    itself runs on PostgreSQL, so a database call only SQLite refuses would otherwise go unseen (one did:
    the demo's sales crashed in ``grasshopper.lib.db`` on SQLite's cursor)."""
    sqlite = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}

    migrated = _run("", sqlite, "manage.py", "migrate", "--noinput", "-v0", timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    seeded = _run("", sqlite, "manage.py", "demo_setup", timeout=300)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    assert "admin" in seeded.stdout.lower()
    served = _run(SERVE, sqlite, timeout=120)

    assert served.returncode == 0, served.stderr[-3000:]
    statuses = [line.split()[1:] for line in served.stdout.splitlines() if line.startswith("SERVED ")]
    assert [code for _, code in statuses] == ["200"] * 4, statuses
    assert "ORDER paid 2" in served.stdout.splitlines()


def test_postgres_and_redis_are_used_when_their_urls_are_set() -> None:
    result = _run(DUMP, PRODUCTION)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["debug"] is False
    assert values["db_engine"] == "django.db.backends.postgresql"
    assert values["cache"] == "django_redis.cache.RedisCache"
    assert values["broker"] == PRODUCTION["REDIS_URL"]
    assert values["eager"] is False


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOWED_HOSTS"]
)
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _run(DUMP, env)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # one clear line, no traceback wall
    assert missing in lines[0]
    assert "Traceback" not in result.stderr
    for present in set(PRODUCTION) - {missing, "DJANGO_DEBUG"}:
        assert present not in lines[0]


def test_manage_py_stops_with_one_line_too() -> None:
    result = _run("", {"DJANGO_DEBUG": "false"}, "manage.py", "check")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOWED_HOSTS"):
        assert name in result.stderr


def test_check_deploy_reports_no_warnings_with_production_settings() -> None:
    result = _run("", PRODUCTION, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_env_example_lists_every_variable_the_settings_read() -> None:
    import re

    source = (ROOT / "grasshopper" / "settings" / "base.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', source))
    read |= set(re.findall(r'_required\(\s*"([A-Z][A-Z0-9_]+)"', source))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "the pattern no longer finds the settings' variables"
    assert read - listed == set()

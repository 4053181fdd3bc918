"""Liveness (/healthz) and readiness (/readyz) probes, against the real PostgreSQL and Redis of the test
settings; failures are made with unreachable loopback ports (nothing listens on port 1)."""

import json
import threading
import time
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from grasshopper.lib import health

DEAD_REDIS = "redis://127.0.0.1:1/0"
PROBE_BUDGET_SECONDS = 3.5  # 2 s client timeout + 1 s library margin + the rest of the request


def _readyz(client: Client) -> tuple[Any, dict[str, Any], float]:
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started
    return response, json.loads(response.content), elapsed


def _assert_never_cached(response: Any) -> None:
    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control
    assert "no-cache" in cache_control


@pytest.fixture
def live_broker(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = settings.REDIS_URL


@pytest.fixture
def dead_cache(settings: Any) -> None:
    """The default cache on a Redis nobody listens to. Overriding CACHES makes Django reset its cache
    handler (django.test.signals.clear_cache_handlers); the settings fixture restores CACHES after the
    test, which resets the handler again (see test_the_cache_is_restored_after_the_dead_cache_test)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    with pytest.raises(RedisConnectionError):
        caches["default"].get("probe")  # the handler really serves the new cache


@pytest.mark.django_db
def test_healthz_is_ok_without_any_io(client: Client, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    _assert_never_cached(response)


def test_healthz_stays_up_when_the_cache_is_down(client: Client, dead_cache: None) -> None:
    assert client.get("/healthz").status_code == 200


def test_healthz_answers_head_and_refuses_post(client: Client) -> None:
    # No django_db mark: any database access here would raise.
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_cache_answer(client: Client) -> None:
    response, body, _ = _readyz(client)

    assert response.status_code == 200, body
    assert body["status"] == "ok"
    # Celery is eager in the test settings: there is no broker to check.
    assert body["checks"].keys() == {"database", "cache"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    _assert_never_cached(response)


@pytest.mark.django_db
def test_readyz_checks_the_broker_when_celery_is_not_eager(client: Client, live_broker: None) -> None:
    response, body, _ = _readyz(client)

    assert response.status_code == 200, body
    assert body["checks"]["broker"] == {
        "status": "ok",
        "duration_ms": body["checks"]["broker"]["duration_ms"],
    }


@pytest.mark.django_db
def test_readyz_is_503_naming_the_cache_when_redis_is_unreachable(client: Client, dead_cache: None) -> None:
    response, body, elapsed = _readyz(client)

    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["cache"]["detail"]
    assert body["checks"]["database"]["status"] == "ok"
    assert "127.0.0.1" not in response.content.decode()
    assert elapsed < PROBE_BUDGET_SECONDS
    _assert_never_cached(response)


@pytest.mark.django_db
def test_the_cache_is_restored_after_the_dead_cache_test(client: Client) -> None:
    caches["default"].set("probe", "back", timeout=5)
    assert caches["default"].get("probe") == "back"
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "broker_url",
    [
        "redis://:s3cret-password@127.0.0.1:1/0",
        "amqp://grasshopper:s3cret-password@127.0.0.1:1//",  # non-Redis brokers go through kombu
    ],
)
def test_readyz_is_503_naming_the_broker_fast_and_without_its_url(
    client: Client, settings: Any, broker_url: str
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = broker_url

    response, body, elapsed = _readyz(client)

    assert response.status_code == 503
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"
    content = response.content.decode()
    assert "s3cret" not in content
    assert "127.0.0.1" not in content
    assert elapsed < PROBE_BUDGET_SECONDS


@pytest.mark.django_db
def test_a_hung_dependency_costs_the_probe_at_most_its_budget(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A blackholed database (SYN never answered) blocks its client; the probe must answer anyway.
    release = threading.Event()
    monkeypatch.setattr(health.Database, "run", lambda self: release.wait(30))
    try:
        response, body, elapsed = _readyz(client)
    finally:
        release.set()

    assert response.status_code == 503
    assert body["checks"]["database"] == {
        "status": "error",
        "duration_ms": body["checks"]["database"]["duration_ms"],
        "detail": "Unavailable: Timed out after 2 seconds",
    }
    assert body["checks"]["cache"]["status"] == "ok"
    assert elapsed < PROBE_BUDGET_SECONDS


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_exempt_from_the_ssl_redirect(settings: Any, path: str) -> None:
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # a new handler: SecurityMiddleware reads the settings when it is built

    assert client.get(path).status_code == 200
    assert client.get("/api/schema/").status_code == 301

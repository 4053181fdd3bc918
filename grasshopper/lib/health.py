"""Liveness and readiness probes, for the load balancer and the orchestrator.

- ``/healthz``: the process answers. No I/O at all (no database, no cache, no session), so a slow
  dependency never gets a healthy web process restarted.
- ``/readyz``: can this process serve traffic? Runs, concurrently, django-health-check 4.8's checks for
  the database (``SELECT 1``), the cache (a set/get round trip) and, when Celery is not eager, the broker
  (a Redis ``PING``, or a kombu connection for other transports). 200 when all pass, 503 naming each
  failure; never cached. The Celery *worker* ping is deliberately not part of it: a web process is ready
  without a worker (tasks queue in the broker), and taking every web process out of the load balancer
  because the worker is down would turn a delay into an outage.

Each check gets a 2 s client timeout and django-health-check's wall-clock budget of timeout + 1 s, and
they run in a private thread pool that is not waited for, so a dead dependency costs the probe at most
~3 s. Error details are the library's generic messages (``Unable to connect to Redis: Connection was
refused.``): never a URL, host credentials or a traceback (those go to the ``health_check`` logger).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import uuid
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import CacheKeyWarning, caches
from django.core.cache.backends.base import InvalidCacheBackendError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from health_check import checks
from health_check.base import HealthCheck
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceReturnedUnexpectedResult, ServiceUnavailable
from health_check.views import HealthCheckView
from kombu import Connection
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

CLIENT_TIMEOUT = datetime.timedelta(seconds=2)


@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process is up and serving requests. Touches nothing."""
    return JsonResponse({"status": "ok"})


@dataclasses.dataclass
class Database(checks.Database):
    """``SELECT 1`` on a fresh connection, within the short budget."""

    timeout = CLIENT_TIMEOUT


@dataclasses.dataclass
class Cache(checks.Cache):
    """The library's set/get round trip, run in the probe's thread pool rather than on the request thread.

    The library's version is async and reaches the cache through ``sync_to_async(thread_sensitive=True)``,
    i.e. on the request's own thread, which the response then waits for: a hung cache would hold the
    probe past its budget. Same errors, same messages.
    """

    timeout: datetime.timedelta = dataclasses.field(default=CLIENT_TIMEOUT, repr=False)

    def run(self) -> None:  # type: ignore[override]
        try:
            cache = caches[self.alias]
        except InvalidCacheBackendError as e:
            raise ServiceUnavailable("Cache alias does not exist") from e
        key = f"{self.key_prefix}:{uuid.uuid4().hex}"
        value = f"itworks-{key}"
        try:
            cache.set(key, value, timeout=self.timeout.total_seconds())
            if cache.get(key) != value:
                raise ServiceUnavailable("Cache did not return the value just set")
            cache.delete(key)
        except CacheKeyWarning as e:
            raise ServiceReturnedUnexpectedResult("Cache key warning") from e
        except ValueError as e:
            raise ServiceReturnedUnexpectedResult("ValueError") from e
        except (ConnectionError, RedisError) as e:
            raise ServiceReturnedUnexpectedResult("Connection Error") from e


@dataclasses.dataclass
class RedisBroker(Redis):
    """The library's Redis ``PING``, within the short budget."""

    timeout = CLIENT_TIMEOUT

    async def run(self) -> None:
        try:
            await super().run()
        except RedisError as e:  # the library maps connection errors only; a wrong answer is as bad
            raise ServiceUnavailable("Unexpected answer from Redis") from e

    def __repr__(self) -> str:
        # The library's repr builds a client to show host/port/db; the probe's log line needs no address.
        return "RedisBroker()"


@dataclasses.dataclass
class KombuBroker(HealthCheck):
    """Open (and close) one connection to a non-Redis broker (AMQP...), no retries."""

    url: str = dataclasses.field(default="", repr=False)
    timeout = CLIENT_TIMEOUT

    def run(self) -> None:
        seconds = self.timeout.total_seconds()
        try:
            with Connection(self.url, connect_timeout=seconds) as connection:
                connection.ensure_connection(max_retries=0, timeout=seconds)
        except Exception as e:
            raise ServiceUnavailable("Unable to connect to the broker") from e


def broker_check(url: str) -> HealthCheck:
    """The check for the Celery broker at ``url`` (read from the settings by the caller: the Celery app
    copied its configuration at start-up and would not see a test's override)."""
    if urlsplit(url).scheme in {"redis", "rediss"}:
        factory = partial(
            AsyncRedis.from_url,
            url,
            socket_connect_timeout=CLIENT_TIMEOUT.total_seconds(),
            socket_timeout=CLIENT_TIMEOUT.total_seconds(),
            # redis-py retries connection errors 3 times with backoff by default: a probe must not.
            retry=Retry(NoBackoff(), 0),
        )
        return RedisBroker(client_factory=factory)
    return KombuBroker(url=url)


class ReadinessView(HealthCheckView):
    """Readiness in our JSON shape::

        {"status": "ok" | "error",
         "checks": {"database": {"status": "ok", "duration_ms": 3},
                    "cache": {"status": "error", "duration_ms": 1, "detail": "Unexpected Result: ..."}}}

    HealthCheckView's ``dispatch`` is kept: it adds ``Cache-Control: no-cache, no-store, ...`` and runs
    outside any atomic request.
    """

    http_method_names = ["get", "head"]

    def named_checks(self) -> dict[str, HealthCheck]:
        named: dict[str, HealthCheck] = {"database": Database(), "cache": Cache()}
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            named["broker"] = broker_check(settings.CELERY_BROKER_URL)
        return named

    @contextlib.contextmanager
    def get_executor(self) -> Iterator[Executor]:
        # Not the event loop's default executor: closing the loop would wait for a hung check's thread.
        executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")
        try:
            yield executor
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        named = self.named_checks()
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for check in named.values()))
        report: dict[str, dict[str, Any]] = {}
        for name, result in zip(named, results, strict=True):
            entry: dict[str, Any] = {
                "status": "error" if result.error else "ok",
                "duration_ms": round(result.time_taken * 1000),
            }
            if result.error:
                entry["detail"] = str(result.error)
            report[name] = entry
        failed = any(result.error for result in results)
        return JsonResponse(
            {"status": "error" if failed else "ok", "checks": report}, status=503 if failed else 200
        )

"""Sentry, initialised from the settings only when ``SENTRY_DSN`` is set.

No personal data and no secrets leave the building: ``send_default_pii=False`` (no cookies, user e-mail
or IP address), no request bodies, and the event scrubber also knows allauth's ``X-Session-Token`` header,
which Sentry's default list misses. Log records from structlog carry the bound ``ip``; they reach Sentry
(as breadcrumbs, or as events at ERROR) with the event name as message and the other fields as data,
which the scrubber then sees, and without the ``ip``.
"""

import logging
from typing import TYPE_CHECKING, Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
from sentry_sdk.integrations.redis import RedisIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

if TYPE_CHECKING:
    from sentry_sdk._types import Event

# Lower-case, as the scrubber compares them; Django reports headers as "X-Session-Token".
EXTRA_DENYLIST = ["x-session-token", "x_session_token", "session_token"]
# structlog fields that are personal data or noise in Sentry (it has its own timestamp and level).
_FIELDS_NOT_SENT = frozenset({"ip", "event", "timestamp", "level", "logger"})
# The request line duplicates what Sentry's Django integration records; unhandled errors are events anyway.
REQUEST_LOGGER = "django_structlog.middlewares.request"


def _structlog_fields(record: logging.LogRecord | None) -> tuple[str, dict[str, Any]] | None:
    if record is None or not isinstance(record.msg, dict):
        return None
    event = str(record.msg.get("event", ""))
    fields = {k: v for k, v in record.msg.items() if k not in _FIELDS_NOT_SENT and not str(k).startswith("_")}
    return event, fields


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    parsed = _structlog_fields(hint.get("log_record"))
    if parsed is not None:
        crumb["message"], fields = parsed
        crumb["data"] = {**crumb.get("data", {}), **fields}
    return crumb


def before_send(event: "Event", hint: dict[str, Any]) -> "Event":
    parsed = _structlog_fields(hint.get("log_record"))
    if parsed is not None:
        message, fields = parsed
        event["logentry"] = {"message": message, "formatted": message, "params": []}
        event["extra"] = {**event.get("extra", {}), **fields}
    return event


def init_sentry(
    *,
    dsn: str,
    environment: str,
    release: str | None,
    traces_sample_rate: float,
    **options: Any,
) -> None:
    """Initialise the SDK; ``options`` are passed through (tests give a ``transport`` that sends nothing)."""
    ignore_logger(REQUEST_LOGGER)
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *EXTRA_DENYLIST]),
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(monitor_beat_tasks=True),
            RedisIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        **options,
    )

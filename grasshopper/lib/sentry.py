"""Sentry, initialised from the settings only when ``SENTRY_DSN`` is set."""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.redis import RedisIntegration


def init_sentry(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    import logging

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        # No personal data: no user emails, IPs, cookies or request bodies leave the building.
        send_default_pii=False,
        max_request_body_size="never",
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(monitor_beat_tasks=True),
            RedisIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
    )

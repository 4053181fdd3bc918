"""Structured logs: one JSON object per line on stdout (``LOG_FORMAT=json``) or readable lines in development.

django-structlog binds ``request_id``, ``user_id`` and ``ip`` to every line of a request and logs
``request_finished`` (with the status ``code``); ``grasshopper.lib.logging_signals`` adds the method, the
path (no query string) and ``duration_ms``, so each request is one line (``request_started`` is DEBUG).
Auth failures and rate-limit hits go to the ``security`` logger (WARNING and above, always written).
Celery workers log through the same configuration (``grasshopper.celery``), with ``task_id`` bound.
"""

from typing import Any

import structlog

SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.PositionalArgumentsFormatter(),
    structlog.processors.StackInfoRenderer(),
]


def build_logging(*, level: str, fmt: str) -> dict[str, Any]:
    """Configure structlog and return the ``LOGGING`` dict for Django."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": SHARED_PROCESSORS,
            },
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "structured",
            },
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            # Requests are logged once by django-structlog; Django's own request logger would repeat them.
            "django.request": {"level": "ERROR", "propagate": True},
            "django.server": {"level": "WARNING", "propagate": True},
            "django.db.backends": {"level": "WARNING", "propagate": True},
            # WeasyPrint narrates every PDF (and its own import) at INFO; fontTools likewise.
            "weasyprint": {"level": "WARNING", "propagate": True},
            "fontTools": {"level": "WARNING", "propagate": True},
            # stripe-python logs each request and response at INFO (ids, status): our gateway logs its own.
            "stripe": {"level": "WARNING", "propagate": True},
            # Security events (rate limits, failed logins, permission refusals) are warnings or worse and
            # are always written, whatever DJANGO_LOG_LEVEL says: the root's stdout handler has no level.
            "security": {"level": "WARNING", "propagate": True},
            "django.security": {"level": "INFO", "propagate": True},
        },
    }

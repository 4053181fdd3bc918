"""Make django-structlog's request line the access log: method, path and duration, no secrets.

django-structlog's ``RequestMiddleware`` binds ``request_id``, ``user_id`` and ``ip`` and logs
``request_finished`` (or ``request_failed`` on an unhandled exception) with the status ``code``. The
receivers below, connected in ``LibConfig.ready()``, add ``method``, ``path`` and ``duration_ms`` to
that line and replace django-structlog's ``request`` field, which carries the query string.

- ``path`` never has the query string (search terms, redirect targets and tokens live there), and URL
  keyword arguments named in ``SECRET_URL_KWARGS`` (allauth's e-mail confirmation and password reset
  keys) are replaced by ``[redacted]``.
- An incoming ``X-Request-ID`` is kept only when it looks like an id; otherwise a fresh UUID is used,
  so a client cannot put arbitrary text into every log line or into the response header.
- ``duration_ms`` runs from django-structlog's middleware to the response (the middleware above it,
  sessions and authentication are lazy, so this is almost all of the work); for a streaming response
  it stops when streaming starts.
- ``ip`` is the client IP the rate limits use (``settings.RATELIMIT_IP_META_KEY``), bound here instead of
  by django-structlog (``DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False``): its python-ipware guesses from
  every forwarding header a client may send, and costs some 80 µs a request, a sixth of the middleware.
"""

import logging
import re
import time
import uuid
from typing import Any

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string
from django_structlog import signals
from django_structlog.app_settings import app_settings

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy or a client library sends (UUIDs, hex, base64url, dotted or colon-separated ids).
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# URL keyword arguments that are bearer secrets: whoever reads the log line could use them.
SECRET_URL_KWARGS = frozenset({"key", "token"})
REDACTED = "[redacted]"
REQUEST_LOGGER = "django_structlog.middlewares.request"

_STARTED_AT = "_grasshopper_log_started_ns"
_REQUEST_ID = "_grasshopper_request_id"
# The logger django-structlog writes its request lines to (the middleware reads its level too).
request_log = logging.getLogger(REQUEST_LOGGER)


def loggable_path(request: HttpRequest) -> str:
    """The request path without the query string and with secret URL arguments redacted."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is None:
        # request_started comes before URL resolution; resolve here so that line is redacted too.
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return path
    for name, value in match.kwargs.items():
        if name in SECRET_URL_KWARGS and value:
            path = path.replace(str(value), REDACTED)
    return path


def _describe(request: HttpRequest, log_kwargs: dict[str, Any]) -> None:
    # "request" is "<METHOD> <full path with query string>": replaced by the two fields below.
    log_kwargs.pop("request", None)
    log_kwargs["method"] = request.method
    log_kwargs["path"] = loggable_path(request)


def _add_duration(request: HttpRequest, log_kwargs: dict[str, Any]) -> None:
    started = getattr(request, _STARTED_AT, None)
    if started is not None:
        log_kwargs["duration_ms"] = round((time.perf_counter_ns() - started) / 1_000_000, 2)


def bind_request_started(*, request: HttpRequest, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    """Receiver of ``bind_extra_request_metadata``: check the request id, start the clock.

    django-structlog has bound the caller's ``X-Request-ID`` (or a UUID of its own): the id is decided again
    here from the header and kept on the request for the response header. Reading it back from structlog
    (``get_contextvars``, which walks every context variable of the process) cost ~100,000 CPU
    instructions each time, twice a request."""
    setattr(request, _STARTED_AT, time.perf_counter_ns())
    upstream = request.META.get("HTTP_X_REQUEST_ID", "")
    request_id = upstream if REQUEST_ID_PATTERN.fullmatch(upstream) else str(uuid.uuid4())
    setattr(request, _REQUEST_ID, request_id)
    structlog.contextvars.bind_contextvars(request_id=request_id, ip=client_ip(request))
    log_kwargs.pop("request", None)
    # request_started is DEBUG in our settings: resolve the URL for its path only when it is written.
    if request_log.isEnabledFor(app_settings.STATUS_START_LOG_LEVEL):
        _describe(request, log_kwargs)


def bind_request_finished(*, request: HttpRequest, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    """Receiver of ``bind_extra_request_finished_metadata`` (the response came back)."""
    _describe(request, log_kwargs)
    _add_duration(request, log_kwargs)


def bind_request_failed(*, request: HttpRequest, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    """Receiver of ``bind_extra_request_failed_metadata`` (an unhandled exception, answered 500)."""
    _describe(request, log_kwargs)
    _add_duration(request, log_kwargs)


def client_ip(request: HttpRequest) -> str:
    """The client's IP as django-ratelimit sees it (``settings.RATELIMIT_IP_META_KEY``: a META key, a
    callable or its dotted path), like ``accounts.ratelimits.client_ip``; "" when absent."""
    meta_key: Any = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    if isinstance(meta_key, str) and "." in meta_key:
        meta_key = import_string(meta_key)
    if callable(meta_key):
        return str(meta_key(request))
    return str(request.META.get(meta_key, "")).strip()


def set_request_id_header(request: HttpRequest, response: HttpResponseBase) -> None:
    """Answer with the request's log id (``X-Request-ID``), unless the response already carries one."""
    request_id = getattr(request, _REQUEST_ID, None)
    if request_id and REQUEST_ID_HEADER not in response.headers:
        response.headers[REQUEST_ID_HEADER] = request_id


def connect() -> None:
    """Connect the receivers (from ``LibConfig.ready()``); ``dispatch_uid`` makes this idempotent."""
    signals.bind_extra_request_metadata.connect(
        bind_request_started, dispatch_uid="grasshopper.lib.logging_signals.started"
    )
    signals.bind_extra_request_finished_metadata.connect(
        bind_request_finished, dispatch_uid="grasshopper.lib.logging_signals.finished"
    )
    signals.bind_extra_request_failed_metadata.connect(
        bind_request_failed, dispatch_uid="grasshopper.lib.logging_signals.failed"
    )

"""Sentry starts only with ``SENTRY_DSN``, and what it would send carries no secrets or personal data.

Each check runs in a fresh interpreter (``python -c``): the SDK's client is process-global, and the
settings decide at import whether to start it. Nothing is sent: the DSN points at a closed loopback port,
and the end-to-end check gives the SDK a transport that keeps envelopes in memory.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

ROOT = Path(__file__).resolve().parents[2]
DSN = "http://public@127.0.0.1:9/1"


@csrf_exempt
def failing_view(request: HttpRequest, key: str) -> HttpResponse:
    """Used by the subprocess (this module is its URLconf): a security event, then a crash."""
    structlog.get_logger("security").warning("rate_limited", scope="sentry-test")
    raise RuntimeError("sentry-test-crash")


urlpatterns = [path("fail/<str:key>/", failing_view)]


def _run(script: str, **env: str) -> dict[str, Any]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    environ.update(DJANGO_SETTINGS_MODULE="grasshopper.settings.test", **env)
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    # The last stdout line is the script's report; log lines may come before it.
    return json.loads(completed.stdout.strip().splitlines()[-1])


CLIENT_STATE = """
import json, django
django.setup()
import sentry_sdk
client = sentry_sdk.get_client()
print(json.dumps({
    "active": client.is_active(),
    "dsn": client.dsn,
    "send_default_pii": client.options.get("send_default_pii"),
    "max_request_body_size": client.options.get("max_request_body_size"),
    "integrations": sorted(getattr(client, "integrations", {})),
}))
"""


def test_sentry_is_off_without_a_dsn() -> None:
    state = _run(CLIENT_STATE)

    assert state["active"] is False
    assert state["dsn"] is None


def test_sentry_is_on_with_a_dsn_without_personal_data_and_with_django_and_celery() -> None:
    state = _run(CLIENT_STATE, SENTRY_DSN=DSN)

    assert state["active"] is True
    assert state["dsn"] == DSN
    assert state["send_default_pii"] is False
    assert state["max_request_body_size"] == "never"
    assert {"django", "celery", "logging", "redis"} <= set(state["integrations"])


CAPTURED_EVENT = """
import io, json, wsgiref.util
import django
django.setup()
import sentry_sdk
from sentry_sdk.transport import Transport
from django.core.wsgi import get_wsgi_application
from django.test.utils import override_settings
from grasshopper.lib.sentry import init_sentry

class KeepInMemory(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events = []
    def capture_envelope(self, envelope):
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)

transport = KeepInMemory()
init_sentry(dsn=%(dsn)r, environment="test", release=None, traces_sample_rate=0.0, transport=transport)

# Through the WSGI handler, as under gunicorn: that is where Sentry reads the URL and headers.
body = b"password=body-secret"
environ = {
    "REQUEST_METHOD": "POST",
    "PATH_INFO": "/fail/abc/",
    "QUERY_STRING": "q=1",
    "CONTENT_TYPE": "application/x-www-form-urlencoded",
    "CONTENT_LENGTH": str(len(body)),
    "wsgi.input": io.BytesIO(body),
    "SERVER_NAME": "testserver",
    "HTTP_HOST": "testserver",
    "REMOTE_ADDR": "203.0.113.9",
    "HTTP_AUTHORIZATION": "Bearer authorization-secret",
    "HTTP_COOKIE": "other=cookie-secret",
    "HTTP_X_SESSION_TOKEN": "session-token-secret",
    "HTTP_X_REQUEST_ID": "sentry-req-1",
}
wsgiref.util.setup_testing_defaults(environ)
statuses = []
with override_settings(ROOT_URLCONF="grasshopper.tests.test_sentry"):
    b"".join(get_wsgi_application()(environ, lambda status, headers, exc_info=None: statuses.append(status)))
sentry_sdk.flush(timeout=5)
print(json.dumps({"status": statuses[0], "events": transport.events}, default=str))
"""


def test_captured_error_carries_no_credentials_body_or_ip() -> None:
    report = _run(CAPTURED_EVENT % {"dsn": DSN})

    assert report["status"].startswith("500")
    [event] = [e for e in report["events"] if "sentry-test-crash" in json.dumps(e)]
    request = event["request"]
    assert request["method"] == "POST"
    assert request["url"] == "http://testserver/fail/abc/"
    assert request["headers"]["X-Request-Id"] == "sentry-req-1"  # ordinary headers do arrive
    payload = json.dumps(event)
    for secret in ("authorization-secret", "cookie-secret", "session-token-secret", "body-secret"):
        assert secret not in payload
    assert "203.0.113.9" not in payload  # the client's address: personal data
    assert "cookies" not in request
    assert not request.get("data")  # no request body
    # The security event arrives as a readable breadcrumb with its fields, without the ip.
    [crumb] = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "security"]
    assert crumb["message"] == "rate_limited"
    assert crumb["data"]["scope"] == "sentry-test"
    assert crumb["data"]["request_id"] == "sentry-req-1"
    assert "ip" not in crumb["data"]

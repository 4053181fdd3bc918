"""Helpers of the accounts tests (and of every app's API tests: ``api_client``): links in sent emails, a light
reading of rendered pages, and signing in the mobile app's way."""

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import PASSWORD

APP_LOGIN = "/_allauth/app/v1/auth/login"

# The structlog event dicts logged on the `security` logger so far (the `security_events` fixture).
SecurityEvents = Callable[[], list[dict[str, Any]]]


def link_in_last_mail(path_prefix: str) -> str:
    """The path of the first link under ``path_prefix`` in the most recent email."""
    assert mail.outbox, "no email was sent"
    match = re.search(rf"https?://testserver({re.escape(path_prefix)}\S+)", mail.outbox[-1].body)
    assert match, f"no {path_prefix} link in: {mail.outbox[-1].body}"
    return match.group(1)


class Page(HTMLParser):
    """The tags of a page, in order, with their attributes (enough for labels, roles and CSP checks)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def find_all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def app_session_token(user: User, password: str = PASSWORD) -> str:
    """Sign ``user`` in as the mobile app does (allauth headless): its session token."""
    login = Client().post(
        APP_LOGIN, json.dumps({"email": user.email, "password": password}), content_type="application/json"
    )
    assert login.status_code == 200, login.content
    return str(login.json()["meta"]["session_token"])


def api_client(user: User | None = None, **defaults: Any) -> APIClient:
    """An API client (``defaults``: WSGI environ for every request, e.g. ``REMOTE_ADDR``), signed in as
    ``user`` with a session token when given."""
    client = APIClient(**defaults)
    if user is not None:
        client.credentials(HTTP_X_SESSION_TOKEN=app_session_token(user))
    return client

"""Helpers of the accounts tests: links in sent emails, and a light reading of rendered pages."""

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from django.core import mail

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

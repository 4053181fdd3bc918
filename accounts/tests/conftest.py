"""Fixtures of the accounts tests."""

import logging
from typing import Any

import pytest

from accounts.tests.helpers import SecurityEvents


@pytest.fixture
def security_events(caplog: pytest.LogCaptureFixture) -> SecurityEvents:
    """The structlog event dicts logged on the ``security`` logger during the test."""
    caplog.set_level(logging.INFO, logger="security")

    def events() -> list[dict[str, Any]]:
        return [
            record.msg
            for record in caplog.records
            if record.name == "security" and isinstance(record.msg, dict)
        ]

    return events


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """Argon2 at production cost makes every sign-in ~0.3 s; these tests check flows, not the hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

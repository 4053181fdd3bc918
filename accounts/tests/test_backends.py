"""accounts.backends: the signed-in user read by a compiled query, with Django's rules kept."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.backends import AuthenticationBackend, ModelBackend
from accounts.tests.factories import PASSWORD, VerifiedUserFactory
from accounts.tests.helpers import api_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("backend", [ModelBackend(), AuthenticationBackend()])
def test_get_user_reads_the_current_row_and_refuses_inactive_or_unknown_users(
    backend: ModelBackend | AuthenticationBackend,
) -> None:
    ana, bo = VerifiedUserFactory(full_name="Ana"), VerifiedUserFactory(full_name="Bo")
    with CaptureQueriesContext(connection) as queries:
        found = backend.get_user(ana.pk)
    assert len(queries) == 1
    assert found is not None
    assert (found.pk, found.email, found.full_name) == (ana.pk, ana.email, "Ana")
    other = backend.get_user(bo.pk)  # the same compiled statement, another id
    assert other is not None
    assert other.full_name == "Bo"
    bo.full_name = "Bo Renamed"
    bo.save(update_fields=["full_name"])
    renamed = backend.get_user(bo.pk)
    assert renamed is not None
    assert renamed.full_name == "Bo Renamed"  # read, not cached
    bo.is_active = False
    bo.save(update_fields=["is_active"])
    assert backend.get_user(bo.pk) is None
    assert backend.get_user(10**6) is None
    assert backend.get_user(str(ana.pk)) is not None  # as a session stores it
    assert backend.get_user("not-an-id") is None


def test_signing_in_records_our_backend_and_the_api_token_works_with_it() -> None:
    user = VerifiedUserFactory(email="token.user@example.com")

    me = api_client(user).get(reverse("v1:accounts:me"))

    assert me.status_code == 200
    assert me.json()["email"] == "token.user@example.com"
    browser = Client()
    assert browser.login(email=user.email, password=PASSWORD)
    assert browser.session[BACKEND_SESSION_KEY].startswith("accounts.backends.")

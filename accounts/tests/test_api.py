"""Mobile clients: allauth headless "app" sign-in gives a session token; /api/v1/me/ answers with it."""

import json
from importlib import import_module
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import PASSWORD, UserFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

APP_LOGIN = "/_allauth/app/v1/auth/login"
APP_SESSION = "/_allauth/app/v1/auth/session"


def app_login(email: str, password: str = PASSWORD) -> Any:
    body = json.dumps({"email": email, "password": password})
    return Client().post(APP_LOGIN, body, content_type="application/json")


def me(**headers: str) -> Any:
    return Client().get(reverse("v1:accounts:me"), headers=headers)


def test_app_login_token_then_me() -> None:
    user = VerifiedUserFactory(email="app.user@example.com", full_name="App User")

    response = app_login("App.User@example.com")

    assert response.status_code == 200
    token = response.json()["meta"]["session_token"]
    assert token
    response = me(**{"X-Session-Token": token})
    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "email": "app.user@example.com",
        "full_name": "App User",
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_me_without_a_token_is_401() -> None:
    response = me()

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "X-Session-Token"


@pytest.mark.parametrize("token", ["not-a-session-token", "x" * 40, ""])
def test_me_with_an_invalid_token_is_rejected(token: str) -> None:
    VerifiedUserFactory()

    response = me(**{"X-Session-Token": token})

    assert response.status_code == 401


def test_a_token_dies_with_sign_out() -> None:
    VerifiedUserFactory(email="leaving@example.com")
    token = app_login("leaving@example.com").json()["meta"]["session_token"]

    signed_out = Client().delete(APP_SESSION, headers={"X-Session-Token": token})

    assert signed_out.status_code == 401  # allauth: "not authenticated any more"
    assert me(**{"X-Session-Token": token}).status_code == 401


def test_a_token_dies_with_a_password_change() -> None:
    user = VerifiedUserFactory(email="changed@example.com")
    token = app_login("changed@example.com").json()["meta"]["session_token"]
    assert me(**{"X-Session-Token": token}).status_code == 200

    user.set_password("Another-Secret-5530")
    user.save(update_fields=["password"])

    assert me(**{"X-Session-Token": token}).status_code == 401


def test_an_unverified_user_gets_no_working_token() -> None:
    UserFactory(email="unverified@example.com")

    response = app_login("unverified@example.com")

    assert response.status_code == 401
    pending = [flow for flow in response.json()["data"]["flows"] if flow.get("is_pending")]
    assert [flow["id"] for flow in pending] == ["verify_email"]
    # The token of a pending sign-in carries the flow on, it does not authenticate.
    token = response.json()["meta"].get("session_token")
    if token:
        assert me(**{"X-Session-Token": token}).status_code == 401


def test_me_queries(django_assert_max_num_queries: Any) -> None:
    VerifiedUserFactory(email="counted@example.com")
    token = app_login("counted@example.com").json()["meta"]["session_token"]

    # allauth checks that the session exists, then loads it; then the user. Nothing per field.
    with django_assert_max_num_queries(3):
        assert me(**{"X-Session-Token": token}).status_code == 200


def test_me_is_in_the_schema() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    operation = schema["paths"]["/api/v1/me/"]["get"]
    assert operation["operationId"] == "me_retrieve"
    assert {"SessionToken": []} in operation["security"]
    assert schema["components"]["securitySchemes"]["SessionToken"]["name"] == "X-Session-Token"


def test_a_token_of_an_expired_session_is_rejected() -> None:
    VerifiedUserFactory(email="expired@example.com")
    token = app_login("expired@example.com").json()["meta"]["session_token"]
    Session.objects.filter(session_key=token).update(expire_date=timezone.now())
    caches["default"].clear()  # cached_db: the copy in the cache would outlive the row's expiry a while

    assert me(**{"X-Session-Token": token}).status_code == 401


def test_a_token_costs_one_read_of_the_session_store() -> None:
    """accounts.api.tokens.SessionTokenStrategy: allauth's own asks ``exists()`` first, then loads."""
    VerifiedUserFactory(email="one.read@example.com")
    token = app_login("one.read@example.com").json()["meta"]["session_token"]
    store = import_module(settings.SESSION_ENGINE).SessionStore
    with (
        mock.patch.object(store, "exists", autospec=True, side_effect=store.exists) as exists,
        mock.patch.object(store, "load", autospec=True, side_effect=store.load) as load,
    ):
        assert me(**{"X-Session-Token": token}).status_code == 200
    assert (exists.call_count, load.call_count) == (0, 1)

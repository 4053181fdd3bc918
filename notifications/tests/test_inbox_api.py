"""The notifications API: the signed-in user's inbox (cursor pages, ``?unread=``, ``unread_count``) and
marking notifications read. Clients sign in the way the mobile app does (``X-Session-Token``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import VerifiedUserFactory
from accounts.tests.helpers import api_client as api
from notifications.models import Notification
from notifications.tests.inbox_helpers import inbox_add, inbox_fill

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications/"
READ = "/api/v1/notifications/read/"
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice() -> User:
    return VerifiedUserFactory(email="alice@example.com")


@pytest.fixture
def bob() -> User:
    return VerifiedUserFactory(email="bob@example.com")


def unread_ids(user: User) -> set[int]:
    return set(Notification.objects.filter(user=user, read_at__isnull=True).values_list("id", flat=True))


# --- GET /notifications/ -------------------------------------------------------------------------------


def test_list_needs_sign_in() -> None:
    response = api().get(LIST)
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "not_authenticated"


def test_list_shows_only_own_newest_first_with_unread_count(alice: User, bob: User) -> None:
    now = timezone.now()
    seen = inbox_add(alice, "Tickets confirmed", read=True, created=now - timedelta(hours=2))
    fresh = inbox_add(alice, "Refund issued", link="/orders/ABCD234567/", body="€20.00", created=now)
    inbox_fill(bob, 3)

    response = api(alice).get(LIST)

    assert response.status_code == 200
    data = response.json()
    assert [item["id"] for item in data["results"]] == [fresh.pk, seen.pk]
    assert data["unread_count"] == 1
    first = data["results"][0]
    assert first == {
        "id": fresh.pk,
        "kind": "order_confirmed",
        "title": "Refund issued",
        "body": "€20.00",
        "link": "/orders/ABCD234567/",
        "created": first["created"],
        "read_at": None,
        "unread": True,
    }
    assert data["results"][1]["unread"] is False
    assert data["results"][1]["read_at"] is not None
    assert api(bob).get(LIST).json()["unread_count"] == 3


@pytest.mark.parametrize(("value", "expected"), [("true", ["New"]), ("false", ["Old"])])
def test_list_filters_by_unread(alice: User, value: str, expected: list[str]) -> None:
    inbox_add(alice, "Old", read=True)
    inbox_add(alice, "New")
    data = api(alice).get(LIST, {"unread": value}).json()
    assert [item["title"] for item in data["results"]] == expected
    assert data["unread_count"] == 1  # the whole inbox's, whatever the filter


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", "unread"])
def test_list_refuses_another_unread_value(alice: User, value: str) -> None:
    response = api(alice).get(LIST, {"unread": value})
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["attr"] == "unread"
    assert problem["errors"][0]["code"] == "invalid_choice"


def test_list_with_an_empty_unread_value_lists_all(alice: User) -> None:
    """``?unread=`` is what a form with nothing chosen sends: no filter."""
    inbox_add(alice, "Old", read=True)
    inbox_add(alice, "New")
    assert len(api(alice).get(LIST, {"unread": ""}).json()["results"]) == 2


def test_list_pages_with_a_cursor(alice: User) -> None:
    inbox_fill(alice, 25)
    client = api(alice)

    first = client.get(LIST).json()
    second = client.get(first["next"]).json()

    assert [i["title"] for i in first["results"]] == [f"Item {n}" for n in range(25, 5, -1)]
    assert [i["title"] for i in second["results"]] == [f"Item {n}" for n in range(5, 0, -1)]
    assert second["next"] is None
    assert "cursor=" in first["next"]
    assert first["unread_count"] == second["unread_count"] == 25


def test_list_query_count_does_not_grow_with_rows(alice: User) -> None:
    client = api(alice)
    inbox_fill(alice, 2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    inbox_fill(alice, 18)
    with CaptureQueriesContext(connection) as many:
        assert client.get(LIST).status_code == 200
    assert len(many) == len(few)


# --- POST /notifications/read/ -------------------------------------------------------------------------


def test_read_ids_marks_those_and_answers_the_count_left(alice: User) -> None:
    a, b, c = inbox_fill(alice, 3)

    response = api(alice).post(READ, {"ids": [a.pk, b.pk]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"unread_count": 1}
    assert unread_ids(alice) == {c.pk}
    assert api(alice).get(LIST).json()["unread_count"] == 1


def test_read_all_marks_only_own(alice: User, bob: User) -> None:
    inbox_fill(alice, 3)
    his = {n.pk for n in inbox_fill(bob, 2)}

    response = api(alice).post(READ, {"all": True}, format="json")

    assert response.status_code == 200
    assert response.json() == {"unread_count": 0}
    assert unread_ids(alice) == set()
    assert unread_ids(bob) == his


def test_read_again_is_harmless(alice: User) -> None:
    (item,) = inbox_fill(alice, 1)
    client = api(alice)
    assert client.post(READ, {"ids": [item.pk]}, format="json").json() == {"unread_count": 0}
    item.refresh_from_db()
    first = item.read_at
    assert client.post(READ, {"ids": [item.pk]}, format="json").json() == {"unread_count": 0}
    item.refresh_from_db()
    assert item.read_at == first


@pytest.mark.parametrize(
    "body", [{}, {"all": False}, {"ids": [1], "all": True}, {"ids": []}, {"ids": "1"}, {"all": "maybe"}]
)
def test_read_needs_ids_or_all(alice: User, body: dict[str, Any]) -> None:
    inbox_fill(alice, 1)
    response = api(alice).post(READ, body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "validation_error"
    assert len(unread_ids(alice)) == 1


def test_read_neither_or_both_has_its_own_item_code(alice: User) -> None:
    for body in ({}, {"ids": [1], "all": True}):
        problem = api(alice).post(READ, body, format="json").json()
        assert problem["errors"][0]["code"] == "ids_or_all_required"


def test_read_unknown_or_foreign_ids_are_refused_and_nothing_is_marked(alice: User, bob: User) -> None:
    (mine,) = inbox_fill(alice, 1)
    (theirs,) = inbox_fill(bob, 1)
    unknown = theirs.pk + 1000

    for ids in ([mine.pk, unknown], [mine.pk, theirs.pk]):
        response = api(alice).post(READ, {"ids": ids}, format="json")
        assert response.status_code == 400
        problem = response.json()
        assert problem["code"] == "notification_ids_invalid"
        assert problem["ids"] == [ids[1]]
    # Someone else's id answers exactly like an unknown one: nothing tells a client which ids exist.
    foreign = api(alice).post(READ, {"ids": [theirs.pk]}, format="json").json()
    missing = api(alice).post(READ, {"ids": [unknown]}, format="json").json()
    assert {k: v for k, v in foreign.items() if k != "ids"} == {
        k: v for k, v in missing.items() if k != "ids"
    }
    assert unread_ids(alice) == {mine.pk}
    assert unread_ids(bob) == {theirs.pk}


def test_read_needs_sign_in(alice: User) -> None:
    inbox_fill(alice, 1)
    response = api().post(READ, {"all": True}, format="json")
    assert response.status_code == 401
    assert len(unread_ids(alice)) == 1


def test_browser_session_works_but_needs_csrf(alice: User) -> None:
    """The site's own pages may call the API with the session cookie; then Django's CSRF check applies."""
    inbox_fill(alice, 1)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(LIST).json()["unread_count"] == 1
    assert client.post(READ, {"all": True}, format="json").status_code == 403
    assert len(unread_ids(alice)) == 1


def test_schema_documents_the_notifications_api(client: Client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    listing = schema["paths"]["/api/v1/notifications/"]["get"]
    assert listing["operationId"] == "notifications_list"
    assert any(p["name"] == "unread" for p in listing["parameters"])
    paginated = schema["components"]["schemas"]["PaginatedNotificationOutputList"]
    assert "unread_count" in paginated["properties"]
    read = schema["paths"]["/api/v1/notifications/read/"]["post"]
    assert set(read["responses"]) >= {"200", "400", "401"}

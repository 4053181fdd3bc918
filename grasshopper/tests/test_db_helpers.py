"""grasshopper.lib.db: one-statement inserts that tell new rows from existing ones."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from grasshopper.lib.db import insert_unless_exists
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def _notification(user: User, title: str) -> Notification:
    return Notification(
        user=user, kind="order_confirmed", reference="orders.Order:ABC", title=title, body="body"
    )


def test_a_new_row_is_inserted_with_its_id_and_defaults_in_one_statement() -> None:
    user = User.objects.create_user(email="ana@example.com", password="x" * 12)
    row = _notification(user, "first")
    with CaptureQueriesContext(connection) as queries:
        assert insert_unless_exists(row) is True
    assert len(queries) == 1
    assert "ON CONFLICT DO NOTHING" in queries[0]["sql"]
    stored = Notification.objects.get()
    assert (row.pk, row._state.adding) == (stored.pk, False)
    assert stored.title == "first"
    assert stored.created is not None  # auto_now_add applied as save() would


def test_a_row_a_unique_constraint_already_holds_is_left_alone() -> None:
    user = User.objects.create_user(email="ana@example.com", password="x" * 12)
    assert insert_unless_exists(_notification(user, "first")) is True
    again = _notification(user, "second")
    assert insert_unless_exists(again) is False
    assert again.pk is None
    assert list(Notification.objects.values_list("title", flat=True)) == ["first"]

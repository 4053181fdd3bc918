"""grasshopper.lib.db: one-statement inserts telling new rows from existing ones; queries compiled once."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.db.models.sql.compiler import SQLInsertCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from events.models import Event, TicketType
from events.tests.factories import EventFactory, TicketTypeFactory
from grasshopper.lib.db import (
    INSERT_VALUES_ROWS,
    CompiledSelect,
    CompiledUpdate,
    insert_all,
    insert_unless_exists,
)
from notifications.models import Notification
from orders.models import Order, OrderEvent

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


# --- Compiled once ----------------------------------------------------------------------------------------


def _fields(instance: object, model: type[TicketType] | type[Event]) -> list[object]:
    return [getattr(instance, f.attname) for f in model._meta.concrete_fields]


def test_a_compiled_select_gives_what_the_queryset_gives_for_each_value() -> None:
    compiled = CompiledSelect(lambda pk: TicketType.objects.select_related("event").filter(pk=pk))
    first, second = TicketTypeFactory(name="Early bird"), TicketTypeFactory(name="Standing")
    for ticket_type in (first, second, first):  # the second run reuses the SQL with another value
        [found] = compiled.all(ticket_type.pk)
        expected = TicketType.objects.select_related("event").get(pk=ticket_type.pk)
        assert _fields(found, TicketType) == _fields(expected, TicketType)
        with CaptureQueriesContext(connection) as queries:
            assert _fields(found.event, Event) == _fields(expected.event, Event)  # joined, not fetched
        assert len(queries) == 0
        assert (found._state.adding, found._state.db) == (False, "default")
    assert compiled.all(-1) == []
    assert compiled.first(-1) is None


@pytest.mark.django_db(transaction=True)  # the connection is closed and opened again
def test_the_compiled_helpers_run_on_a_new_connection_and_are_seen_like_any_query() -> None:
    """The helpers reuse one driver cursor per connection: a new connection (the health check, the
    connection's maximum age or an error closed the old one) gets its own."""
    compiled = CompiledSelect(lambda pk: TicketType.objects.filter(pk=pk))
    ticket_type = TicketTypeFactory()
    assert [found.pk for found in compiled.all(ticket_type.pk)] == [ticket_type.pk]
    connection.close()
    with CaptureQueriesContext(connection) as queries:
        assert [found.pk for found in compiled.all(ticket_type.pk)] == [ticket_type.pk]
        assert insert_unless_exists(_notification(User.objects.create_user(email="a@example.com"), "Hi"))
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "INSERT", "INSERT"]


def test_a_compiled_select_refuses_a_queryset_it_would_get_wrong() -> None:
    annotated = CompiledSelect(lambda pk: Event.objects.filter(pk=pk).annotate(n=Count("ticket_types")))
    with pytest.raises(ImproperlyConfigured):
        annotated.all(1)
    frozen = CompiledSelect(
        lambda pk: Event.objects.filter(pk=int(str(pk)) + 1)
    )  # the value never reaches SQL
    with pytest.raises(ImproperlyConfigured):
        frozen.all(1)


def test_a_compiled_update_changes_only_the_rows_its_guard_admits() -> None:
    reserve = CompiledUpdate(
        lambda pk, n: (
            TicketType.objects.filter(pk=pk, capacity__gte=F("sold") + F("held") + n),
            {"held": F("held") + n},
        )
    )
    ticket_type = TicketTypeFactory(capacity=5)
    other = TicketTypeFactory(capacity=5)
    assert reserve.run(ticket_type.pk, 3) == 1
    assert reserve.run(ticket_type.pk, 3) == 0  # 3 + 3 > 5: refused, nothing written
    assert reserve.run(ticket_type.pk, 2) == 1
    ticket_type.refresh_from_db()
    other.refresh_from_db()
    assert (ticket_type.held, other.held) == (5, 0)


def _order(event: Event, buyer: User, **fields: object) -> Order:
    return Order(
        event=event,
        buyer=buyer,
        email=buyer.email,
        currency="EUR",
        subtotal=Decimal("12.50"),
        total=Decimal("12.50"),
        **fields,
    )


def test_insert_all_writes_new_rows_like_bulk_create_and_sets_their_keys() -> None:
    buyer = User.objects.create_user(email="ana@example.com", password="x" * 12)
    event = EventFactory()
    first = _order(event, buyer, holder_names=["Ana", "Bo"])
    # Built before the order is saved: the foreign key is taken from the order once it has one.
    history = [OrderEvent(order=first, to_status="pending", reason="created", created=timezone.now())]
    with CaptureQueriesContext(connection) as queries:
        insert_all([first])
        insert_all(history)
    assert len(queries) == 2
    second, third = _order(event, buyer), _order(event, buyer)
    insert_all([second, third])  # two rows, one statement
    insert_all([_order(event, buyer, holder_names=["Cy"])])  # the cached text, new values
    stored = Order.objects.get(pk=first.pk)
    assert (stored.code, stored.holder_names, stored.total) == (first.code, ["Ana", "Bo"], Decimal("12.50"))
    assert stored.created is not None
    assert stored.expires_at is None
    assert [first._state.adding, second._state.adding] == [False, False]
    assert Order.objects.get(pk=third.pk).code == third.code
    assert OrderEvent.objects.get(pk=history[0].pk).order_id == first.pk
    assert list(Order.objects.order_by("id").values_list("holder_names", flat=True)) == [
        ["Ana", "Bo"],
        [],
        [],
        ["Cy"],
    ]


@pytest.mark.parametrize("rows", [3, INSERT_VALUES_ROWS + 1])
def test_insert_all_reuses_the_statement_of_several_rows(rows: int) -> None:
    """A few rows go as one placeholder per value; more as PostgreSQL's one array per column (UNNEST), which
    the reused statement gets by column. Each row gets its own values and key."""
    buyer = User.objects.create_user(email="ana@example.com", password="x" * 12)
    order = _order(EventFactory(), buyer)
    insert_all([order])

    def moves(reason: str) -> list[OrderEvent]:
        return [
            OrderEvent(
                order=order,
                to_status="paid",
                reason=f"{reason} {n}",
                created=timezone.now(),
                money_delta=Decimal(f"{n}.50"),
                seats_delta=n,
            )
            for n in range(rows)
        ]

    first, second = moves("first"), moves("second")
    insert_all(first)  # compiled
    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(SQLInsertCompiler, "as_sql", side_effect=AssertionError("compiled again")),
    ):
        insert_all(second)  # the statement reused
    assert len(queries) == 1
    assert ("UNNEST" in queries[0]["sql"]) == (rows > INSERT_VALUES_ROWS)
    stored = {e.pk: (e.reason, e.money_delta, e.seats_delta, e.order_id) for e in OrderEvent.objects.all()}
    assert [stored[e.pk] for e in first + second] == [
        (f"{reason} {n}", Decimal(f"{n}.50"), n, order.pk)
        for reason in ("first", "second")
        for n in range(rows)
    ]


def test_insert_all_raises_on_a_unique_constraint_and_writes_nothing() -> None:
    buyer = User.objects.create_user(email="ana@example.com", password="x" * 12)
    event = EventFactory()
    insert_all([_order(event, buyer, code="SAMECODE01")])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_all([_order(event, buyer, code="OTHERCODE1"), _order(event, buyer, code="SAMECODE01")])
    assert list(Order.objects.values_list("code", flat=True)) == ["SAMECODE01"]

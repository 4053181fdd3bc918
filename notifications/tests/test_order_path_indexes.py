"""The indexes of the tables every order writes to: each one is paid for by every INSERT of an on-sale.

The list of indexes is pinned, as ``test_order_hot_path.py`` beside it pins the statements (both live here,
where the order path's tables of both apps may be named): a ``db_index=True`` or ``unique=True`` on a
CharField adds two indexes on PostgreSQL (the second, ``varchar_pattern_ops``, serves only ``LIKE``), and
one that a composite index already covers adds work to every order and nothing to any read. A new index
fails this test on purpose: name the query it serves, then add it here. The reads that the dropped indexes
used to serve still find one (``EXPLAIN``).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from notifications.models import Notification, OutboxEmail
from orders.models import Order, OrderEvent, OrderLine, Ticket
from orders.tests.factories import OrderFactory, place_order, ticket_type_on_sale

pytestmark = pytest.mark.django_db

EXPECTED = {
    Order: {
        "orders_order_pkey",
        "orders_order_code_unique",  # the confirmation page, the API, check-in: the order by its code
        "orders_order_buyer_id_26195532",  # a buyer's orders
        "orders_order_event_id_93dbcf6a",  # an event's orders (dashboards, exports)
        "orders_order_created_06a77f0e",  # the admin's list, newest first, and its date hierarchy
        "orders_order_status_expiry",  # status filters and the expiry sweep
        "orders_order_attention",  # the staff queue (partial: only orders that need a person)
        "orders_order_idempotency_unique_per_buyer",
    },
    OrderLine: {
        "orders_orderline_pkey",
        "orders_line_one_per_ticket_type",  # also an order's lines: it leads with the order
        "orders_orderline_order_id_17f8f3ef",
        "orders_orderline_ticket_type_id_1f7d378d",
    },
    OrderEvent: {
        "orders_orderevent_pkey",
        "orders_orderevent_order_id_b26297f3",
        "orders_orderevent_actor_id_4ce1466c",
        "orders_orderevent_created_8c932131",
    },
    Ticket: {
        "orders_ticket_pkey",
        "orders_ticket_secret_unique",  # check-in scans the secret
        "orders_ticket_order_id_bce6e91a",
        "orders_ticket_order_line_id_3cf1c5ae",
        "orders_ticket_ticket_type_id_d746a9f5",
        "orders_ticket_created_fdd450e9",
    },
    OutboxEmail: {
        "notifications_outboxemail_pkey",
        "notifications_outbox_once",  # leads with kind
        "notifications_outbox_claims",  # leads with status
        "notifications_outboxemail_created_6549d7a3",
        "notifications_outboxemail_user_id_62030335",
    },
    Notification: {
        "notifications_notification_pkey",
        "notifications_inbox_once",  # user, kind, reference: leads with the user
        "notifications_inbox_list",
        "notifications_unread",
        "notifications_notification_created_951b8eae",
    },
}


def _indexes(model: type) -> set[str]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name for name, about in found.items() if about["index"] or about["unique"]}


@pytest.mark.parametrize("model", list(EXPECTED), ids=lambda model: model.__name__)
def test_the_tables_an_order_writes_carry_only_the_indexes_someone_reads(model: type) -> None:
    assert _indexes(model) == EXPECTED[model]


def test_order_codes_and_ticket_secrets_stay_unique() -> None:
    order = OrderFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(code=order.code)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=OrderFactory().pk).update(code=order.code)
    first, second = place_order(ticket_type_on_sale(price="0.00", fee="0.00"), 2).tickets.all()
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=second.pk).update(secret=first.secret)


def _plan(queryset: QuerySet[Order]) -> str:
    """The plan PostgreSQL would choose on a large table (sequential scans priced out)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


def test_the_staff_queue_and_the_expiry_sweep_read_an_index() -> None:
    OrderFactory(needs_attention="Paid late, no seats left")
    assert "orders_order_attention" in _plan(Order.objects.exclude(needs_attention=""))
    assert "orders_order_status_expiry" in _plan(
        Order.objects.filter(status=Order.Status.PENDING, expires_at__lte="2026-01-01T00:00:00Z")
    )
    assert "orders_order_status_expiry" in _plan(Order.objects.filter(status=Order.Status.PAID))

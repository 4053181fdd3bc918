"""The statements of the flash-sale path (``POST /api/v1/orders/``), and what they must still produce.

Not a timing: a budget of statements, each one a round trip to PostgreSQL plus the ORM's work to build it
(about 1 ms of CPU here), on the request every buyer of an on-sale makes at once (bench/flashsale.py). A
receiver added to ``order_paid`` that queries on every order fails this test on purpose: make it cheap for
a new order (``born_paid``) or say why it must cost more, and raise the budget here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.tests.factories import VerifiedUserFactory
from events.models import TicketType
from events.tests.factories import TicketTypeFactory
from notifications import kinds
from notifications.models import Notification, OutboxEmail
from notifications.services import order_notify
from orders.models import Order
from orders.services import OrderLineInput, order_create

pytestmark = pytest.mark.django_db


def _statements(captured: CaptureQueriesContext) -> list[str]:
    """Each statement as its verb and table: "INSERT orders_order", "SELECT events_tickettype"..."""
    shapes = []
    for query in captured.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
        shapes.append(f"{verb} {table.group(1) if table else ''}".strip())
    # The test's own transaction turns the service's BEGIN/COMMIT (not captured) into the outermost
    # SAVEPOINT/RELEASE; any savepoint inside still counts.
    if shapes[:1] == ["SAVEPOINT"] and shapes[-1:] == ["RELEASE"]:
        shapes = shapes[1:-1]
    return shapes


def _buy(user: User, ticket_type: TicketType, quantity: int = 2) -> tuple[Order, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        order = order_create(
            lines=[OrderLineInput(ticket_type_id=ticket_type.pk, quantity=quantity)],
            buyer=user,
            email=user.email,
            buyer_name=user.full_name,
        )
    return order, _statements(captured)


def test_a_paid_order_is_five_statements() -> None:
    user = VerifiedUserFactory()
    ticket_type = TicketTypeFactory(price=Decimal("25.00"), capacity=10)

    order, statements = _buy(user, ticket_type)

    assert order.status == Order.Status.PENDING
    assert statements == [
        "SELECT events_tickettype",  # the ticket type with its event (sales window, price) and venue
        "INSERT orders_order",
        "INSERT orders_orderline",
        "INSERT orders_orderevent",
        "UPDATE events_tickettype",  # the guarded hold of the seats, last: the hot row is locked briefly
    ]


def test_a_free_order_is_born_paid_confirmed_and_in_the_inbox_in_nine_statements(
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = VerifiedUserFactory()
    ticket_type = TicketTypeFactory(price=Decimal("0.00"), fee=Decimal("0.00"), capacity=10)

    with django_capture_on_commit_callbacks() as callbacks:
        order, statements = _buy(user, ticket_type)

    assert statements == [
        "SELECT events_tickettype",
        "INSERT orders_order",
        "INSERT orders_orderline",
        "INSERT orders_orderevent",  # both audit rows (created, pending -> paid) in one statement
        "INSERT orders_ticket",
        "UPDATE events_tickettype",
        # order_paid: loyalty (nothing to earn), referrals (no money) and the waitlist (a new order carries
        # no offer) ask nothing; the confirmation's inbox entry is built from what is in memory.
        "INSERT notifications_outboxemail",
        "INSERT notifications_notification",
    ]
    assert order.status == Order.Status.PAID
    assert order.tickets.count() == 2
    assert OutboxEmail.objects.filter(kind="order_confirmed", to=user.email).count() == 1
    assert len(callbacks) == 1  # the email's send task, queued after commit
    # The inbox entry built from memory says exactly what the kind's loader would have built.
    inbox = Notification.objects.get(user=user, kind="order_confirmed")
    loaded = kinds.load_order({"order_id": order.pk})
    spec = kinds.get("order_confirmed")
    assert (inbox.title, inbox.body, inbox.link) == (
        spec.title(loaded),
        spec.body(loaded),
        spec.link(loaded, False),
    )
    assert order.code in inbox.body


def test_the_confirmation_is_written_once_however_often_it_is_announced() -> None:
    user = VerifiedUserFactory()
    ticket_type = TicketTypeFactory(price=Decimal("0.00"), fee=Decimal("0.00"), capacity=10)
    order, _ = _buy(user, ticket_type, quantity=1)

    again = order_notify(kind="order_confirmed", order=order)

    assert again is not None
    assert again.pk == OutboxEmail.objects.get(kind="order_confirmed").pk
    assert Notification.objects.filter(user=user, kind="order_confirmed").count() == 1

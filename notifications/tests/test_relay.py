"""The outbox relay: in an on-sale rush a web process publishes one Celery task a second, not one per order,
and every queued email still reaches exactly one send task."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction

from accounts.tests.factories import UserFactory
from notifications import services
from notifications.models import OutboxEmail
from notifications.services import outbox_relay
from notifications.tasks import outbox_relay_task
from notifications.tests.outbox_helpers import paid_order
from orders.tests.factories import ticket_type_on_sale

S = OutboxEmail.Status


def queued_confirmations(capture: Any, count: int) -> list[OutboxEmail]:
    """``count`` paid orders' confirmations, written and committed, their after-commit step not run."""
    ticket_type = ticket_type_on_sale()
    with capture(execute=False):
        codes = [paid_order(ticket_type, 1, buyer=UserFactory()).code for _ in range(count)]
    return list(OutboxEmail.objects.filter(reference__in=[f"orders.Order:{c}" for c in codes]).order_by("pk"))


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The web process's side with tasks NOT run eagerly (as in production): what it publishes is recorded
    (the broker is the boundary), and the process's relay window starts closed."""
    calls: list[dict[str, Any]] = []
    app = outbox_relay_task.app
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    monkeypatch.setattr(outbox_relay_task, "apply_async", lambda **options: calls.append(options))
    monkeypatch.setattr(services, "_relay_due", 0.0)
    try:
        yield calls
    finally:
        app.conf.task_always_eager = eager


@pytest.mark.django_db
def test_a_burst_of_orders_asks_for_one_relay_per_second(
    published: list[dict[str, Any]], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_RELAY_DELAY_SECONDS = 1.0
    settings.NOTIFICATIONS_EMAIL_QUEUE = "emails"
    ticket_type = ticket_type_on_sale()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            paid_order(ticket_type, 1, buyer=UserFactory())

    # One relay for the three, asked to run when the window has passed: after each of the three commits.
    assert published == [{"countdown": 1.0, "queue": "emails"}]
    assert OutboxEmail.objects.filter(status=S.QUEUED, dispatched_at__isnull=True).count() == 3
    assert mail.outbox == []

    services._relay_due = 0.0  # the window has passed
    with django_capture_on_commit_callbacks(execute=True):
        paid_order(ticket_type, 1, buyer=UserFactory())
    assert len(published) == 2


@pytest.mark.django_db
def test_with_no_relay_delay_each_email_gets_its_task_at_once(
    published: list[dict[str, Any]], django_capture_on_commit_callbacks: Any, settings: Any, monkeypatch: Any
) -> None:
    settings.NOTIFICATIONS_RELAY_DELAY_SECONDS = 0
    sent: list[int] = []
    monkeypatch.setattr(services, "_enqueue_send", sent.append)
    rows: list[OutboxEmail] = []
    ticket_type = ticket_type_on_sale()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            order = paid_order(ticket_type, 1, buyer=UserFactory())
        rows.append(OutboxEmail.objects.get(reference=f"orders.Order:{order.code}"))
    assert sent == [row.pk for row in rows]
    assert published == []


@pytest.mark.django_db
def test_the_relay_hands_each_queued_email_to_a_send_task_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    first, second, done = queued_confirmations(django_capture_on_commit_callbacks, 3)
    OutboxEmail.objects.filter(pk=done.pk).update(status=S.SENT)

    assert outbox_relay() == 2  # tasks run eagerly here: the send tasks send at once
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.to, second.to])
    for row in (first, second):
        row.refresh_from_db()
        assert (row.status, row.attempts) == (S.SENT, 1)
        assert row.dispatched_at is not None

    assert outbox_relay() == 0  # nothing is handed twice
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_retry_waiting_for_its_backoff_is_not_relayed_again(
    django_capture_on_commit_callbacks: Any,
) -> None:
    [row] = queued_confirmations(django_capture_on_commit_callbacks, 1)
    # Relayed once, then a transient error put it back to queued: its own task retries it, later.
    OutboxEmail.objects.filter(pk=row.pk).update(dispatched_at=row.created, attempts=1)

    assert outbox_relay() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts) == (S.QUEUED, 1)
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_retry_is_not_relayed_however_it_got_its_first_task(
    django_capture_on_commit_callbacks: Any,
) -> None:
    [row] = queued_confirmations(django_capture_on_commit_callbacks, 1)
    # Its task came straight at commit (no relay: dispatched_at empty), then a transient error.
    OutboxEmail.objects.filter(pk=row.pk).update(attempts=1)

    assert outbox_relay() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.dispatched_at) == (S.QUEUED, 1, None)
    assert mail.outbox == []


@pytest.mark.django_db
def test_with_the_relay_switched_off_its_beat_run_does_nothing(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_RELAY_DELAY_SECONDS = 0
    [row] = queued_confirmations(django_capture_on_commit_callbacks, 1)  # its task is on its way

    assert outbox_relay() == 0
    row.refresh_from_db()
    assert (row.status, row.dispatched_at) == (S.QUEUED, None)
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_never_hand_an_email_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real transactions on PostgreSQL: relay A has taken the rows and not committed yet when relay B runs."""
    rows = [
        OutboxEmail.objects.create(
            kind="order_confirmed", reference=f"orders.Order:RELAY{n}", to=f"b{n}@example.com"
        )
        for n in range(4)
    ]
    handed: dict[str, list[int]] = {"A": [], "B": []}
    who = threading.local()
    monkeypatch.setattr(services, "_enqueue_send", lambda outbox_id: handed[who.name].append(outbox_id))
    a_has_rows, b_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def relay_a() -> None:
        who.name = "A"
        try:
            with transaction.atomic():  # keeps A's row locks and its dispatched_at uncommitted
                outbox_relay()
                a_has_rows.set()
                assert b_done.wait(timeout=10)
        except BaseException as error:
            errors.append(error)
            a_has_rows.set()
        finally:
            connection.close()

    thread = threading.Thread(target=relay_a)
    thread.start()
    assert a_has_rows.wait(timeout=30)
    who.name = "B"
    try:
        outbox_relay()
    finally:
        b_done.set()
        thread.join(timeout=30)
    assert errors == []

    assert handed == {"A": [row.pk for row in rows], "B": []}
    who.name = "B"
    assert outbox_relay() == 0  # after A's commit: everything is dispatched
    assert OutboxEmail.objects.filter(dispatched_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_after_commit_is_logged_and_the_purchase_stands(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The after-commit step runs ``robust``: its failure is logged by Django, never raised to the buyer
    whose order has already committed. (Django names the failing callback by ``__qualname__``: a bare
    ``functools.partial`` has none, and the logging itself raised AttributeError.)"""

    def broker_down(outbox_id: int) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(services, "_enqueue_send", broker_down)
    with caplog.at_level(logging.ERROR, logger="django.db.backends.base"):
        order = paid_order(ticket_type_on_sale(), 1, buyer=UserFactory())  # commits, then the step fails

    order.refresh_from_db()
    assert order.status == "paid"
    row = OutboxEmail.objects.get(reference=f"orders.Order:{order.code}")
    assert (row.status, row.dispatched_at) == (S.QUEUED, None)  # the relay (or the sweep) sends it later
    assert "_email_queued" in caplog.text
    assert "broker down" in caplog.text

"""The outbox: an email is written with the fact that causes it, sent once after commit, retried with a
limit, handed back to a worker when one dies, and resendable by staff."""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import SuperuserFactory, UserFactory
from notifications.models import Notification, OutboxEmail
from notifications.services import (
    EmailTransientError,
    OutboxNotResendable,
    notify,
    outbox_requeue_stale,
    outbox_resend,
    outbox_send,
)
from notifications.tasks import outbox_send_task
from notifications.tests.outbox_helpers import paid_order
from orders.tests.factories import ticket_type_on_sale

S = OutboxEmail.Status


class WorkerLost(BaseException):
    """What a worker killed mid-send looks like from inside: nothing after this line runs."""


class ScriptedBackend(BaseEmailBackend):
    """Plays ``script`` one send at a time: an exception is raised, None delivers (to ``mail.outbox``)."""

    script: list[BaseException | None] = []
    calls = 0

    def send_messages(self, email_messages: Any) -> int:
        ScriptedBackend.calls += 1
        outcome = ScriptedBackend.script.pop(0) if ScriptedBackend.script else None
        if outcome is not None:
            raise outcome
        mail.outbox.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def scripted(settings: Any) -> Iterator[type[ScriptedBackend]]:
    settings.EMAIL_BACKEND = f"{__name__}.ScriptedBackend"
    ScriptedBackend.script = []
    ScriptedBackend.calls = 0
    yield ScriptedBackend
    ScriptedBackend.script = []


def queued_confirmation(django_capture_on_commit_callbacks: Any) -> OutboxEmail:
    """A paid order's confirmation, written but not sent (its after-commit send is captured, not run)."""
    with django_capture_on_commit_callbacks(execute=False):
        order = paid_order(ticket_type_on_sale(), 1, buyer=UserFactory())
    return OutboxEmail.objects.get(reference=f"orders.Order:{order.code}")


# --- Written with the fact, sent after commit ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_email_is_sent_only_when_the_order_commits() -> None:
    ticket_type = ticket_type_on_sale()
    buyer = UserFactory()

    class Rollback(Exception):
        pass

    with contextlib.suppress(Rollback), transaction.atomic():
        paid_order(ticket_type, 1, buyer=buyer)
        assert OutboxEmail.objects.count() == 1  # written with the payment...
        assert mail.outbox == []  # ...but nothing leaves before commit
        raise Rollback  # the buyer's transaction fails after the payment was recorded

    assert OutboxEmail.objects.count() == 0
    assert Notification.objects.count() == 0
    assert mail.outbox == []

    with transaction.atomic():
        order = paid_order(ticket_type, 1, buyer=buyer)
        assert mail.outbox == []

    assert [m.to for m in mail.outbox] == [[buyer.email]]
    row = OutboxEmail.objects.get()
    assert (row.kind, row.reference, row.status, row.attempts) == (
        "order_confirmed",
        f"orders.Order:{order.code}",
        S.SENT,
        1,
    )
    assert row.subject == mail.outbox[0].subject
    assert Notification.objects.get(user=buyer).link == f"/orders/{order.code}/"


@pytest.mark.django_db
def test_the_same_fact_announced_twice_emails_once(django_capture_on_commit_callbacks: Any) -> None:
    user = UserFactory()
    order = paid_order(ticket_type_on_sale(), 1, buyer=user)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(2):
            notify(
                kind="order_confirmed",
                reference="orders.Order:SAME",
                user=user,
                email=user.email,
                context={"order_id": order.pk},
            )
    assert len(callbacks) == 1
    assert OutboxEmail.objects.filter(reference="orders.Order:SAME").count() == 1
    assert Notification.objects.filter(reference="orders.Order:SAME").count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_task_delivered_twice_sends_once(django_capture_on_commit_callbacks: Any) -> None:
    row = queued_confirmation(django_capture_on_commit_callbacks)

    first = outbox_send(outbox_id=row.pk)
    second = outbox_send(outbox_id=row.pk)

    assert first is not None
    assert first.status == S.SENT
    assert second is None
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == S.SENT
    assert row.attempts == 1
    assert row.sent_at is not None


# --- A worker that dies -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_worker_crash_between_claim_and_send_leads_to_exactly_one_delivery(
    scripted: type[ScriptedBackend], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_OUTBOX_STALE_SECONDS = 600
    row = queued_confirmation(django_capture_on_commit_callbacks)
    start = timezone.now()
    scripted.script = [WorkerLost()]

    with pytest.raises(WorkerLost):  # claimed, then the process died before the server took the message
        outbox_send(outbox_id=row.pk, now=start)
    row.refresh_from_db()
    assert row.status == S.SENDING
    assert mail.outbox == []

    # acks_late: the broker hands the same task to another worker at once; the claim says "not yours".
    assert outbox_send(outbox_id=row.pk, now=start + timedelta(seconds=5)) is None
    assert mail.outbox == []

    # The beat job leaves it alone while the first worker might still be sending...
    assert outbox_requeue_stale(now=start + timedelta(seconds=599)) == 0
    # ...and hands it to a worker once it is stale (the test settings run that task eagerly).
    assert outbox_requeue_stale(now=start + timedelta(seconds=601)) == 1

    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == S.SENT
    assert row.attempts == 2
    # Any later redelivery or sweep finds nothing to do.
    assert outbox_send(outbox_id=row.pk) is None
    assert outbox_requeue_stale(now=start + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_message_that_keeps_killing_its_worker_ends_failed(
    scripted: type[ScriptedBackend], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_EMAIL_MAX_ATTEMPTS = 2
    row = queued_confirmation(django_capture_on_commit_callbacks)
    start = timezone.now()
    scripted.script = [WorkerLost(), WorkerLost()]

    with pytest.raises(WorkerLost):
        outbox_send(outbox_id=row.pk, now=start)
    with pytest.raises(WorkerLost):
        outbox_requeue_stale(now=start + timedelta(hours=1))  # re-queued, sent eagerly, dies again
    assert outbox_requeue_stale(now=start + timedelta(hours=2)) == 0

    row.refresh_from_db()
    assert row.status == S.FAILED
    assert row.attempts == 2
    assert "worker was lost" in row.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_task_that_never_reached_the_broker_is_sent_by_the_sweep(
    django_capture_on_commit_callbacks: Any,
) -> None:
    row = queued_confirmation(django_capture_on_commit_callbacks)  # its task was never published

    assert outbox_requeue_stale(now=timezone.now()) == 0
    assert outbox_requeue_stale(now=timezone.now() + timedelta(hours=1)) == 1
    row.refresh_from_db()
    assert row.status == S.SENT
    assert len(mail.outbox) == 1


# --- Retries ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retries_stop_after_the_limit_and_the_row_shows_the_error(
    scripted: type[ScriptedBackend], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_EMAIL_MAX_ATTEMPTS = 3
    row = queued_confirmation(django_capture_on_commit_callbacks)
    scripted.script = [smtplib.SMTPServerDisconnected(f"connection lost #{n}") for n in range(1, 10)]

    # What a worker does: run the task, and run it again each time it asks for a retry (with the backoff
    # countdown Celery computed from the retry number, at most the cap).
    outcomes = []
    for retries in range(10):
        try:
            outbox_send_task.apply(args=[row.pk], retries=retries)
        except Retry as retry:
            outcomes.append(retry.when)
        else:
            outcomes.append("done")
            break

    assert len(outcomes) == 3
    assert outcomes[-1] == "done"
    assert all(0 <= when <= 300 for when in outcomes[:-1])
    row.refresh_from_db()
    assert scripted.calls == 3
    assert row.status == S.FAILED
    assert row.attempts == 3
    assert row.last_error == "SMTPServerDisconnected: connection lost #3"
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_transient_error_requeues_with_the_error_and_asks_for_a_retry(
    scripted: type[ScriptedBackend], django_capture_on_commit_callbacks: Any
) -> None:
    row = queued_confirmation(django_capture_on_commit_callbacks)
    scripted.script = [smtplib.SMTPDataError(451, b"try again later"), None]

    with pytest.raises(EmailTransientError):
        outbox_send(outbox_id=row.pk)
    row.refresh_from_db()
    assert row.status == S.QUEUED
    assert row.attempts == 1
    assert "451" in row.last_error

    outbox_send(outbox_id=row.pk)
    row.refresh_from_db()
    assert row.status == S.SENT
    assert row.attempts == 2
    assert row.last_error == ""
    assert len(mail.outbox) == 1


def test_the_send_task_retries_with_exponential_backoff_and_acks_late() -> None:
    assert outbox_send_task.acks_late is True
    assert outbox_send_task.autoretry_for == (EmailTransientError,)
    assert outbox_send_task.retry_backoff == 30
    assert outbox_send_task.retry_backoff_max == 300
    assert outbox_send_task.retry_jitter is True


@pytest.mark.django_db
def test_a_refused_recipient_fails_at_once(
    scripted: type[ScriptedBackend], django_capture_on_commit_callbacks: Any
) -> None:
    row = queued_confirmation(django_capture_on_commit_callbacks)
    scripted.script = [smtplib.SMTPRecipientsRefused({row.to: (550, b"no such user")})]

    outbox_send_task.apply(args=[row.pk])

    row.refresh_from_db()
    assert scripted.calls == 1
    assert row.status == S.FAILED
    assert "no such user" in row.last_error


# --- Staff resend -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_resend_a_failed_email_from_the_admin(
    scripted: type[ScriptedBackend], django_capture_on_commit_callbacks: Any
) -> None:
    row = queued_confirmation(django_capture_on_commit_callbacks)
    scripted.script = [smtplib.SMTPRecipientsRefused({row.to: (550, b"mailbox full")})]
    outbox_send(outbox_id=row.pk)
    sent_row = queued_confirmation(django_capture_on_commit_callbacks)
    outbox_send(outbox_id=sent_row.pk)
    client = Client()
    client.force_login(SuperuserFactory())

    listing = client.get("/admin/notifications/outboxemail/?status__exact=failed")
    assert listing.status_code == 200
    assert row.to in listing.content.decode()
    assert sent_row.to not in listing.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/notifications/outboxemail/",
            {"action": "resend", "_selected_action": [row.pk, sent_row.pk]},
            follow=True,
        )
    page = response.content.decode()
    assert "1 email(s) queued to be sent again." in page
    assert "1 email(s) skipped" in page
    row.refresh_from_db()
    assert row.status == S.SENT
    assert row.attempts == 1  # a fresh set of attempts
    assert [m.to for m in mail.outbox] == [[sent_row.to], [row.to]]


@pytest.mark.django_db
def test_only_a_failed_email_can_be_resent(django_capture_on_commit_callbacks: Any) -> None:
    row = queued_confirmation(django_capture_on_commit_callbacks)
    with pytest.raises(OutboxNotResendable):
        outbox_resend(outbox_id=row.pk, actor=None)
    outbox_send(outbox_id=row.pk)
    with pytest.raises(OutboxNotResendable):
        outbox_resend(outbox_id=row.pk, actor=None)
    assert len(mail.outbox) == 1

"""Facts from orders and events become emails and inbox entries: a payment, a failed payment, a lapsed
hold, a refund, a late payment with no seats left, the beat jobs (hold about to lapse, reminder before
doors), and the jobs that tell every ticket holder when an event changes or is cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts.tests.factories import SuperuserFactory, UserFactory
from events.models import Event
from events.services import event_update
from events.signals import holder_notices_progress_key
from events.tests.factories import OrganizerMemberFactory, VenueFactory
from grasshopper.lib.progress import progress_get
from notifications import services
from notifications.models import Broadcast, Notification, OutboxEmail
from notifications.services import (
    broadcast_run,
    holds_warn_expiring,
    outbox_requeue_stale,
    reminders_send_due,
)
from notifications.tests.outbox_helpers import event_at, html_of, paid_order, ticket_type_for
from orders.models import Order, Payment, Refund
from orders.services import order_expire
from orders.signals import order_refunded, order_unfulfillable, payment_failed, refund_failed
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

STARTS = datetime(2030, 7, 13, 19, 30, tzinfo=UTC)  # doors 18:30 UTC
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _pinned_time() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sent(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def kinds_sent() -> list[tuple[str, str]]:
    return [(row.kind, row.to) for row in OutboxEmail.objects.order_by("id")]


# --- Orders' signals --------------------------------------------------------------------------------------


def test_a_paid_order_confirms_by_email_and_inbox(sent: Any) -> None:
    buyer = UserFactory()
    with sent():
        order = paid_order(ticket_type_for(event_at(STARTS)), 2, buyer=buyer)
    assert kinds_sent() == [("order_confirmed", buyer.email)]
    assert OutboxEmail.objects.get().status == OutboxEmail.Status.SENT
    entry = Notification.objects.get(user=buyer)
    assert (entry.kind, entry.link) == ("order_confirmed", f"/orders/{order.code}/")


def test_a_declined_payment_tells_the_buyer_the_seats_are_still_held(sent: Any) -> None:
    order = place_order(ticket_type_for(event_at(STARTS)), 1, buyer=UserFactory())
    payment = Payment.objects.create(
        order=order,
        kind=Payment.Kind.CHECKOUT,
        amount=order.total,
        currency=order.currency,
        idempotency_key=f"gh:order:{order.code}:pi:1",
        status=Payment.Status.FAILED,
        failure_message="Your card was declined.",
    )
    with sent():
        payment_failed.send(sender=Order, order=order, payment=payment)
        payment_failed.send(sender=Order, order=order, payment=payment)  # announced twice: one email

    [message] = mail.outbox
    assert message.subject == f"Your payment for {order.event.title} did not go through"
    assert "Your card was declined." in message.body
    assert "Your seats are held until 13:15." in message.body  # 12:15 UTC, in Lisbon
    assert f"/orders/{order.code}/checkout/" in html_of(message)


def test_an_expired_hold_is_told_once(sent: Any) -> None:
    order = place_order(ticket_type_for(event_at(STARTS)), 1)
    with sent():
        order_expire(order=order, now=order.expires_at + timedelta(seconds=1))
    assert kinds_sent() == [("order_expired", "guest@example.com")]
    assert f"The event: {settings.SITE_URL}/events/{order.event.slug}/\n" in mail.outbox[0].body


def test_a_refund_is_told_with_its_amount(sent: Any) -> None:
    buyer = UserFactory()
    order = paid_order(ticket_type_for(event_at(STARTS)), 2, buyer=buyer)
    first = Refund.objects.create(
        order=order, source=Refund.Source.STAFF, amount=Decimal("27.50"), currency="EUR", idempotency_key="r1"
    )
    second = Refund.objects.create(
        order=order, source=Refund.Source.STAFF, amount=Decimal("10.00"), currency="EUR", idempotency_key="r2"
    )
    mail.outbox.clear()
    with sent():
        order_refunded.send(sender=Order, order=order, refund=first)
        order_refunded.send(sender=Order, order=order, refund=first)
        order_refunded.send(sender=Order, order=order, refund=second)

    assert [m.subject for m in mail.outbox] == [
        f"Refund of €27.50 for order {order.code}",
        f"Refund of €10.00 for order {order.code}",
    ]
    assert Notification.objects.filter(user=buyer, kind="refund_issued").count() == 2


def test_a_refund_that_fails_is_told_once_and_says_what_happens_next(sent: Any) -> None:
    buyer = UserFactory()
    order = paid_order(ticket_type_for(event_at(STARTS)), 2, buyer=buyer)
    refund = Refund.objects.create(
        order=order, source=Refund.Source.STAFF, amount=Decimal("27.50"), currency="EUR", idempotency_key="r1"
    )
    mail.outbox.clear()
    with sent():
        refund_failed.send(sender=Order, order=order, refund=refund)
        refund_failed.send(sender=Order, order=order, refund=refund)  # told twice: emailed once

    [message] = mail.outbox
    assert message.subject == f"Your refund of €27.50 for order {order.code} did not go through"
    assert message.to == [order.email]
    assert "will pay you another way" in message.body
    [entry] = Notification.objects.filter(user=buyer, kind="refund_failed")
    assert entry.title == "Your refund did not go through"
    assert entry.link == f"/orders/{order.code}/"


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        ("auto_refund", "Your money is being refunded in full"),
        ("staff_queue", "Our team will contact you"),
    ],
)
def test_a_late_payment_without_seats_tells_what_happens_to_the_money(
    sent: Any, policy: str, says: str
) -> None:
    event = event_at(STARTS)
    if not hasattr(event, "late_payment_policy"):
        pytest.skip("events.Event.late_payment_policy has not landed")
    Event.objects.filter(pk=event.pk).update(late_payment_policy=policy)
    order = place_order(ticket_type_for(event), 1)
    with sent():
        order_unfulfillable.send(sender=Order, order=order)
    [message] = mail.outbox
    assert message.subject == f"We could not issue your tickets for {event.title}"
    assert says in message.body


# --- Beat jobs --------------------------------------------------------------------------------------------


def test_the_hold_warning_comes_five_minutes_before_and_once(sent: Any) -> None:
    order = place_order(ticket_type_for(event_at(STARTS)), 1, buyer=UserFactory())
    assert order.expires_at == NOW + timedelta(minutes=15)
    with sent():
        assert holds_warn_expiring(now=order.expires_at - timedelta(minutes=6)) == 0
        assert holds_warn_expiring(now=order.expires_at - timedelta(minutes=4, seconds=30)) == 1
        assert holds_warn_expiring(now=order.expires_at - timedelta(minutes=2)) == 0
        assert holds_warn_expiring(now=order.expires_at + timedelta(minutes=1)) == 0
    # 12:15 UTC is 13:15 in Lisbon (the event's zone).
    assert [m.subject for m in mail.outbox] == [f"Your seats for {order.event.title} are held until 13:15"]
    assert f"/orders/{order.code}/checkout/" in mail.outbox[0].body


def test_the_reminder_comes_within_24_hours_of_doors_once_per_order(sent: Any) -> None:
    event = event_at(STARTS)  # doors 18:30 UTC on 13 July
    ticket_type = ticket_type_for(event)
    first = paid_order(ticket_type, 1, buyer=UserFactory())
    second = paid_order(ticket_type, 1)
    unpaid = place_order(ticket_type, 1)
    other = paid_order(ticket_type_for(event_at(STARTS + timedelta(days=3))), 1)
    doors = STARTS - timedelta(hours=1)
    mail.outbox.clear()
    with sent():
        assert reminders_send_due(now=doors - timedelta(hours=24, minutes=1)) == 0
        assert reminders_send_due(now=doors - timedelta(hours=23)) == 2
        assert reminders_send_due(now=doors - timedelta(hours=2)) == 0
    reminded = {row.reference for row in OutboxEmail.objects.filter(kind="event_reminder")}
    assert reminded == {f"orders.Order:{first.code}", f"orders.Order:{second.code}"}
    assert unpaid.code not in str(reminded)
    assert other.code not in str(reminded)
    assert mail.outbox[0].subject == f"Soon: {event.title}, doors Sat 13 Jul, 19:30"


def test_a_show_that_moves_after_its_reminder_is_reminded_of_again(sent: Any) -> None:
    event = event_at(STARTS)  # doors 18:30 UTC on 13 July
    order = paid_order(ticket_type_for(event), 1, buyer=UserFactory())
    doors = STARTS - timedelta(hours=1)
    with sent():
        assert reminders_send_due(now=doors - timedelta(hours=23)) == 1
        # A week later, after the reminder went out: the holder is told of the change...
        event_update(
            actor=manager_of(event),
            event=event,
            changes={"starts_at": STARTS + timedelta(days=7), "doors_at": doors + timedelta(days=7)},
        )
    mail.outbox.clear()
    with sent():
        assert reminders_send_due(now=doors - timedelta(hours=2)) == 0  # the old doors time means nothing
        # ... and reminded again, once, before the new doors time.
        assert reminders_send_due(now=doors + timedelta(days=7) - timedelta(hours=23)) == 1
        assert reminders_send_due(now=doors + timedelta(days=7) - timedelta(hours=1)) == 0
    assert [m.subject for m in mail.outbox] == [f"Soon: {event.title}, doors Sat 20 Jul, 19:30"]
    assert mail.outbox[0].to == [order.email]
    reminders = OutboxEmail.objects.filter(kind="event_reminder").order_by("pk")
    assert [r.reference for r in reminders] == [f"orders.Order:{order.code}", f"orders.Order:{order.code}@v2"]
    # The inbox has both, the newest first.
    inbox = Notification.objects.filter(user=order.buyer, kind="event_reminder").order_by("-created", "-pk")
    assert [n.reference for n in inbox] == [f"orders.Order:{order.code}@v2", f"orders.Order:{order.code}"]


def test_no_reminder_for_a_cancelled_event(sent: Any) -> None:
    event = event_at(STARTS)
    paid_order(ticket_type_for(event), 1)
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)
    assert reminders_send_due(now=STARTS - timedelta(hours=5)) == 0


# --- Every ticket holder: event changed, event cancelled ---------------------------------------------------


def holders(event: Event, count: int) -> list[Order]:
    ticket_type = ticket_type_for(event, capacity=50)
    orders = [paid_order(ticket_type, 1, buyer=UserFactory() if n % 2 else None) for n in range(count)]
    place_order(ticket_type, 1)  # pending: holds no ticket, hears nothing
    return orders


def manager_of(event: Event) -> Any:
    return OrganizerMemberFactory(organizer=event.organizer).user


def test_a_new_time_and_venue_reach_every_ticket_holder(sent: Any) -> None:
    event = event_at(STARTS, timezone="Europe/Lisbon")
    orders = holders(event, 3)
    mail.outbox.clear()
    new_venue = VenueFactory(name="Coliseu", city="Porto")

    with sent():
        event_update(
            actor=manager_of(event),
            event=event,
            changes={"starts_at": STARTS + timedelta(hours=1), "venue": new_venue},
        )

    broadcast = Broadcast.objects.get()
    assert (broadcast.kind, broadcast.status, broadcast.done, broadcast.total) == (
        "event_changed",
        "done",
        3,
        3,
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.email for o in orders)
    message = mail.outbox[0]
    assert message.subject == (
        f"Change to {event.title}: now starts Saturday 13 July 2030, 21:30; moved to Coliseu, Porto"
    )
    assert "Venue:  Coliseu, Porto (was" in message.body
    # A second change is told again (its own broadcast), a save that changes nothing is not.
    with sent():
        event_update(actor=manager_of(event), event=event, changes={"description": "Now with strings."})
        event_update(actor=manager_of(event), event=event, changes={"doors_at": STARTS})
    assert Broadcast.objects.count() == 2
    assert len(mail.outbox) == 6


def test_a_draft_change_tells_nobody(sent: Any) -> None:
    event = event_at(STARTS, status=Event.Status.DRAFT)
    with sent():
        event_update(actor=manager_of(event), event=event, changes={"starts_at": STARTS + timedelta(days=1)})
    assert not Broadcast.objects.exists()


def test_a_cancellation_reaches_every_holder_once_with_progress_for_the_admin(sent: Any) -> None:
    event = event_at(STARTS)
    orders = holders(event, 5)
    mail.outbox.clear()

    with sent():
        event_update(actor=manager_of(event), event=event, changes={"status": Event.Status.CANCELLED})

    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.email for o in orders)
    assert {m.subject for m in mail.outbox} == {f"Cancelled: {event.title} on Sat 13 Jul, 20:30"}
    signed_in = [o for o in orders if o.buyer_id]
    assert Notification.objects.filter(kind="event_cancelled").count() == len(signed_in)
    progress = progress_get(holder_notices_progress_key(event_id=event.pk))
    assert progress is not None
    assert (progress["state"], progress["done"], progress["total"]) == ("done", 5, 5)

    client = Client()
    client.force_login(SuperuserFactory())
    page = client.get(f"/admin/events/event/{event.pk}/change/").content.decode()
    assert "5 of 5 orders told (done)." in page


def test_a_cancellation_job_that_dies_half_way_goes_on_where_it_stopped(sent: Any, settings: Any) -> None:
    event = event_at(STARTS)
    orders = holders(event, 5)
    mail.outbox.clear()
    real_notify = services.order_notify
    calls = {"n": 0}

    def dies_on_the_fourth(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise SystemExit("worker killed")
        return real_notify(**kwargs)

    with sent():
        event_update(actor=manager_of(event), event=event, changes={"status": Event.Status.CANCELLED})
    broadcast = Broadcast.objects.get()
    # Rewind to "queued, nothing done" and run it by hand in batches of 2, dying on the fourth order.
    Broadcast.objects.filter(pk=broadcast.pk).update(status="queued", done=0, cursor=0, total=0)
    OutboxEmail.objects.all().delete()
    Notification.objects.all().delete()
    mail.outbox.clear()
    with sent(), mock.patch.object(services, "order_notify", dies_on_the_fourth), pytest.raises(SystemExit):
        broadcast_run(broadcast_id=broadcast.pk, batch=2)

    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.done, broadcast.total) == ("running", 2, 5)
    assert progress_get(holder_notices_progress_key(event_id=event.pk))["done"] == 2  # type: ignore[index]

    with sent():
        assert outbox_requeue_stale(now=NOW + timedelta(hours=1)) == 1  # the stalled job, restarted

    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.done, broadcast.total) == ("done", 5, 5)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.email for o in orders)  # each exactly once


def test_a_change_saved_in_the_event_admin_reaches_the_holders(sent: Any, rf: Any) -> None:
    from django.contrib import admin

    event = event_at(STARTS)
    orders = holders(event, 2)
    mail.outbox.clear()
    request = rf.post("/admin/events/event/")
    request.user = SuperuserFactory()
    event_admin = admin.site._registry[Event]

    edited = Event.objects.get(pk=event.pk)
    edited.starts_at = STARTS + timedelta(days=7)
    with sent():
        event_admin.save_model(request, edited, form=None, change=True)

    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.email for o in orders)
    assert {m.subject for m in mail.outbox} == {
        f"Change to {event.title}: now starts Saturday 20 July 2030, 20:30"
    }

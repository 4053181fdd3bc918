"""Refunds: staff (whole order or by ticket), late payments without seats, the Stripe dashboard, failures,
disputes and a cancelled event's bulk refund. Tickets void and seats back exactly once; money never more
than was paid."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from events.models import Event
from orders.exceptions import OrderNotRefundable, RefundExceedsPayment
from orders.models import Order, OrderEvent, Payment, Refund, Ticket
from orders.services_payments import (
    event_refund_all_start,
    event_refund_job_get,
    order_refund,
    payments_reconcile_stuck,
    refund_assign_tickets,
)
from orders.signals import refund_failed
from orders.stripe_fake import FakeStripe
from orders.tests.factories import place_order, ticket_type_on_sale
from orders.tests.payments_helpers import (
    Deliver,
    audit_clean,
    buy_and_pay,
    counters,
    deliver_all,
    start_checkout,
    stripe_calls,
)

pytestmark = pytest.mark.django_db
S = Order.Status


@dataclass
class Alerts:
    """What went to the ``security`` logger (event names) and to Sentry (messages)."""

    caplog: pytest.LogCaptureFixture
    sentry: list[str]

    @property
    def events(self) -> list[str]:
        return [
            r.msg["event"] for r in self.caplog.records if r.name == "security" and isinstance(r.msg, dict)
        ]


@pytest.fixture
def security(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Alerts:
    caplog.set_level(logging.INFO, logger="security")
    sent: list[str] = []
    monkeypatch.setattr(
        "orders.services_payments.sentry_sdk.capture_message", lambda message, **kw: sent.append(message)
    )
    return Alerts(caplog=caplog, sentry=sent)


def _refund(callbacks: Any, **kwargs: Any) -> Refund:
    """``order_refund``, with its after-commit Stripe call run."""
    with callbacks(execute=True):
        return order_refund(**kwargs)


# --- Staff refunds -----------------------------------------------------------------------------------------


def test_refund_of_one_ticket_of_three_voids_it_and_returns_exactly_one_seat_then_the_rest(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, django_capture_on_commit_callbacks: Any
) -> None:
    tt = ticket_type_on_sale(capacity=10)
    order = buy_and_pay(fake_stripe, stripe_deliver, tt, 3)
    first, second, third = order.tickets.order_by("id")
    assert counters(tt) == (3, 0)

    refund = _refund(
        django_capture_on_commit_callbacks, order=order, actor=None, tickets=[second], reason="ill"
    )
    order.refresh_from_db()
    assert order.status == S.PARTIALLY_REFUNDED
    assert list(order.tickets.order_by("id").values_list("status", flat=True)) == ["valid", "void", "valid"]
    assert list(refund.tickets.all()) == [second]
    assert (refund.amount, refund.source, refund.idempotency_key) == (
        Decimal("27.50"),
        "staff",
        f"gh:refund:{refund.pk}",
    )
    assert counters(tt) == (2, 0)
    last = order.history.last()
    assert last is not None
    assert (last.from_status, last.to_status, last.money_delta, last.seats_delta) == (
        S.PAID,
        S.PARTIALLY_REFUNDED,
        Decimal("-27.50"),
        -1,
    )
    # After commit: one refund at Stripe, our key, the amount in cents.
    (call,) = [r for r in fake_stripe.request_log if r.path == "/v1/refunds"]
    assert call.idempotency_key == f"gh:refund:{refund.pk}"
    assert call.params["amount"] == "2750"
    refund.refresh_from_db()
    assert refund.stripe_refund_id
    assert refund.status == Refund.Status.SUCCEEDED
    # Stripe's webhooks about our own refund record nothing new.
    deliver_all(stripe_deliver, fake_stripe.pending_events())
    assert Refund.objects.filter(order=order).count() == 1

    rest = _refund(django_capture_on_commit_callbacks, order=order, actor=None)
    deliver_all(stripe_deliver, fake_stripe.pending_events())
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert set(rest.tickets.all()) == {first, third}
    assert rest.amount == Decimal("55.00")
    assert counters(tt) == (0, 0)
    payment = Payment.objects.get(order=order)
    assert payment.amount_refunded == payment.amount == Decimal("82.50")
    assert Refund.objects.filter(order=order).count() == 2
    assert audit_clean()
    with pytest.raises(OrderNotRefundable):
        order_refund(order=order, actor=None)


def test_a_ticket_already_refunded_or_of_another_order_is_refused(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, django_capture_on_commit_callbacks: Any
) -> None:
    tt = ticket_type_on_sale(capacity=10)
    order = buy_and_pay(fake_stripe, stripe_deliver, tt, 2)
    other = buy_and_pay(fake_stripe, stripe_deliver, tt, 1)
    ticket = order.tickets.first()
    assert ticket is not None
    _refund(django_capture_on_commit_callbacks, order=order, actor=None, tickets=[ticket])
    for tickets in ([ticket], [other.tickets.get()]):
        with pytest.raises(OrderNotRefundable) as caught:
            order_refund(order=order, actor=None, tickets=tickets)
        assert (caught.value.code, caught.value.status) == ("order_not_refundable", 409)
    assert counters(tt) == (2, 0)
    with pytest.raises(OrderNotRefundable):
        order_refund(order=place_order(tt, 1), actor=None)  # pending: nothing paid


def test_a_refund_more_than_what_is_left_is_refused_and_changes_nothing(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    tt = ticket_type_on_sale(capacity=10)
    order = buy_and_pay(fake_stripe, stripe_deliver, tt, 3)  # 82.50
    payment = Payment.objects.get(order=order)
    # 60.00 given back in the Stripe dashboard: 22.50 left, less than one ticket (27.50).
    deliver_all(
        stripe_deliver,
        fake_stripe.refund(payment_intent_id=str(payment.stripe_payment_intent_id), amount=6000),
    )
    refunds_before = Refund.objects.count()
    with pytest.raises(RefundExceedsPayment) as caught:
        order_refund(order=order, actor=None, tickets=[order.tickets.first()])  # type: ignore[list-item]
    assert (caught.value.code, caught.value.extra["refundable"]) == ("refund_exceeds_payment", "22.50")
    assert Refund.objects.count() == refunds_before
    assert not order.tickets.filter(status=Ticket.Status.VOID).exists()
    assert counters(tt) == (3, 0)
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("60.00")
    assert stripe_calls(fake_stripe, "POST", "/v1/refunds") == []


def test_stripe_unreachable_keeps_the_refund_recorded_and_reconciliation_sends_it(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, django_capture_on_commit_callbacks: Any
) -> None:
    tt = ticket_type_on_sale(capacity=10)
    order = buy_and_pay(fake_stripe, stripe_deliver, tt, 1)
    fake_stripe.fail_next("POST", "/v1/refunds", status=500)
    refund = _refund(django_capture_on_commit_callbacks, order=order, actor=None)  # the task fails (retry)
    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == (Refund.Status.CREATED, None)
    assert Order.objects.get(pk=order.pk).status == S.REFUNDED  # tickets void, seats back already
    assert payments_reconcile_stuck(now=timezone.now() + timedelta(minutes=16)) == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    keys = {r.idempotency_key for r in fake_stripe.request_log if r.path == "/v1/refunds"}
    assert keys == {f"gh:refund:{refund.pk}"}


def test_stripe_refusing_a_refund_fails_it_and_queues_the_order(
    fake_stripe: FakeStripe,
    stripe_deliver: Deliver,
    django_capture_on_commit_callbacks: Any,
    security: Alerts,
) -> None:
    order = buy_and_pay(fake_stripe, stripe_deliver, ticket_type_on_sale(), 1)
    fake_stripe.fail_next(
        "POST", "/v1/refunds", status=400, error_type="invalid_request_error", code="charge_disputed"
    )
    refund = _refund(django_capture_on_commit_callbacks, order=order, actor=None)
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert "failed" in order.needs_attention
    assert "refund_failed" in security.events


# --- Late payments ---------------------------------------------------------------------------------------


def _late_payment_without_seats(fake: FakeStripe, deliver: Deliver, policy: str) -> tuple[Order, Any]:
    tt = ticket_type_on_sale(capacity=1)
    Event.objects.filter(pk=tt.event_id).update(late_payment_policy=policy)
    then = timezone.now() - timedelta(minutes=20)
    late = place_order(tt, 1, now=then)
    payment = start_checkout(late, now=then)
    buy_and_pay(fake, deliver, tt, 1)  # another buyer takes the seat (reclaiming the lapsed hold)
    late.refresh_from_db()
    assert late.status == S.EXPIRED
    return late, payment


def test_late_payment_without_seats_is_refunded_automatically(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, django_capture_on_commit_callbacks: Any
) -> None:
    order, payment = _late_payment_without_seats(
        fake_stripe, stripe_deliver, Event.LatePaymentPolicy.AUTO_REFUND
    )
    with django_capture_on_commit_callbacks(execute=True):
        deliver_all(stripe_deliver, fake_stripe.pay(checkout_session_id=payment.stripe_checkout_session_id))
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert not order.tickets.exists()
    assert list(order.history.values_list("to_status", flat=True)) == [
        S.PENDING,
        S.EXPIRED,
        S.PAID_UNFULFILLABLE,
        S.REFUNDED,
    ]
    refund = Refund.objects.get(order=order)
    assert (refund.source, refund.amount, refund.status) == ("late_payment", Decimal("27.50"), "succeeded")
    intent = Payment.objects.get(pk=payment.pk).stripe_payment_intent_id
    (call,) = stripe_calls(fake_stripe, "POST", "/v1/refunds")
    assert call[2]["payment_intent"] == intent
    assert fake_stripe.get(str(refund.stripe_refund_id))["amount"] == 2750
    assert audit_clean()


def test_late_payment_without_seats_goes_to_the_staff_queue_when_the_event_says_so(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, django_capture_on_commit_callbacks: Any
) -> None:
    order, payment = _late_payment_without_seats(
        fake_stripe, stripe_deliver, Event.LatePaymentPolicy.STAFF_QUEUE
    )
    with django_capture_on_commit_callbacks(execute=True):
        deliver_all(stripe_deliver, fake_stripe.pay(checkout_session_id=payment.stripe_checkout_session_id))
    order.refresh_from_db()
    assert order.status == S.PAID_UNFULFILLABLE
    assert "Late payment, no seats left" in order.needs_attention
    assert not Refund.objects.filter(order=order).exists()
    assert stripe_calls(fake_stripe, "POST", "/v1/refunds") == []
    # Staff decide to refund: the whole payment goes back, the order is refunded.
    refund = _refund(django_capture_on_commit_callbacks, order=order, actor=None, reason="no seats")
    order.refresh_from_db()
    assert (order.status, refund.amount, refund.status) == (S.REFUNDED, Decimal("27.50"), "created")
    assert len(stripe_calls(fake_stripe, "POST", "/v1/refunds")) == 1


# --- The Stripe dashboard ----------------------------------------------------------------------------------


@pytest.mark.parametrize("charge_first", [False, True])
def test_a_full_dashboard_refund_voids_every_ticket_and_returns_the_seats_once(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, charge_first: bool
) -> None:
    tt = ticket_type_on_sale(capacity=5)
    order = buy_and_pay(fake_stripe, stripe_deliver, tt, 2)
    intent = str(Payment.objects.get(order=order).stripe_payment_intent_id)
    events = fake_stripe.refund(payment_intent_id=intent)
    assert [e["type"] for e in events] == ["refund.created", "charge.refunded"]
    if charge_first:
        events.reverse()
    deliver_all(stripe_deliver, events)
    deliver_all(stripe_deliver, events)
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    refund = Refund.objects.get(order=order)
    assert (refund.source, refund.amount, refund.stripe_refund_id) == (
        "dashboard",
        Decimal("55.00"),
        next(e for e in events if e["type"] == "refund.created")["data"]["object"]["id"],
    )
    assert not order.tickets.exclude(status=Ticket.Status.VOID).exists()
    assert counters(tt) == (0, 0)
    assert (
        order.history.filter(to_status=S.REFUNDED, seats_delta=-2, money_delta=Decimal("-55.00")).count() == 1
    )
    assert audit_clean()


def test_a_partial_dashboard_refund_is_recorded_and_queued_for_staff(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    tt = ticket_type_on_sale(capacity=5)
    order = buy_and_pay(fake_stripe, stripe_deliver, tt, 2)
    payment = Payment.objects.get(order=order)
    events = fake_stripe.refund(payment_intent_id=str(payment.stripe_payment_intent_id), amount=1000)
    deliver_all(stripe_deliver, events + events)
    order.refresh_from_db()
    payment.refresh_from_db()
    refund = Refund.objects.get(order=order)
    assert (refund.source, refund.amount, refund.tickets.count()) == ("dashboard", Decimal("10.00"), 0)
    assert payment.amount_refunded == Decimal("10.00")
    assert order.status == S.PARTIALLY_REFUNDED
    assert "Stripe dashboard" in order.needs_attention
    assert order.tickets.filter(status=Ticket.Status.VALID).count() == 2
    assert counters(tt) == (2, 0)
    assert audit_clean()
    # Staff say which ticket it was for: void, exactly its seat back, no more money.
    ticket = order.tickets.first()
    assert ticket is not None
    refund_assign_tickets(refund=refund, tickets=[ticket], actor=None)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.VOID
    assert list(refund.tickets.all()) == [ticket]
    assert counters(tt) == (1, 0)
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("10.00")
    assert stripe_calls(fake_stripe, "POST", "/v1/refunds") == []
    assert audit_clean()
    with pytest.raises(OrderNotRefundable):
        refund_assign_tickets(refund=refund, tickets=list(order.tickets.all()), actor=None)


# --- Failures and disputes ---------------------------------------------------------------------------------


def test_refund_failed_is_recorded_alerted_and_queued_tickets_stay_void(
    fake_stripe: FakeStripe,
    stripe_deliver: Deliver,
    django_capture_on_commit_callbacks: Any,
    security: Alerts,
) -> None:
    tt = ticket_type_on_sale(capacity=5)
    order = buy_and_pay(fake_stripe, stripe_deliver, tt, 2)
    refund = _refund(django_capture_on_commit_callbacks, order=order, actor=None)
    deliver_all(stripe_deliver, fake_stripe.pending_events())
    refund.refresh_from_db()
    told: list[int] = []

    def receiver(sender: object, order: Order, refund: Refund, **kwargs: object) -> None:
        told.append(refund.pk)

    refund_failed.connect(receiver, dispatch_uid="test-refund-failed")
    try:
        events = fake_stripe.fail_refund(str(refund.stripe_refund_id))
        deliver_all(stripe_deliver, events + events)
    finally:
        refund_failed.disconnect(dispatch_uid="test-refund-failed")
    refund.refresh_from_db()
    order.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "expired_or_canceled_card")
    assert told == [refund.pk]
    assert "Refund of 55.00 EUR failed" in order.needs_attention
    assert order.status == S.REFUNDED
    assert Payment.objects.get(order=order).amount_refunded == Decimal("0.00")
    assert not order.tickets.exclude(status=Ticket.Status.VOID).exists()
    assert counters(tt) == (0, 0)
    assert security.events.count("refund_failed") == 1
    assert any(order.code in message for message in security.sentry)


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_a_dispute_queues_the_order_and_its_outcome_is_recorded(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, security: Alerts, outcome: str
) -> None:
    order = buy_and_pay(fake_stripe, stripe_deliver, ticket_type_on_sale(), 1)
    intent = str(Payment.objects.get(order=order).stripe_payment_intent_id)
    deliver_all(stripe_deliver, fake_stripe.dispute(payment_intent_id=intent))
    order.refresh_from_db()
    assert "opened (fraudulent)" in order.needs_attention
    assert "payment_disputed" in security.events
    history = OrderEvent.objects.filter(order=order).count()
    deliver_all(stripe_deliver, fake_stripe.dispute(payment_intent_id=intent, close_as=outcome))
    order.refresh_from_db()
    assert f"closed: {outcome}" in order.needs_attention
    assert order.status == S.PAID
    assert OrderEvent.objects.filter(order=order).count() == history


# --- A cancelled event -------------------------------------------------------------------------------------


def test_cancelled_event_refunds_every_paid_order_with_progress(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, django_capture_on_commit_callbacks: Any
) -> None:
    tt = ticket_type_on_sale(capacity=10)
    paid = [buy_and_pay(fake_stripe, stripe_deliver, tt, n) for n in (1, 2)]
    pending = place_order(tt, 1)
    event = tt.event
    with pytest.raises(OrderNotRefundable):
        event_refund_all_start(event=event, actor=None)
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)
    event.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        event_refund_all_start(event=event, actor=None)
    assert event_refund_job_get(event_id=event.pk) == {
        "done": 2,
        "total": 2,
        "finished": True,
        "updated": event_refund_job_get(event_id=event.pk)["updated"],  # type: ignore[index]
    }
    for order in paid:
        order.refresh_from_db()
        assert order.status == S.REFUNDED
        assert Refund.objects.get(order=order).source == "event_cancelled"
    assert Order.objects.get(pk=pending.pk).status == S.PENDING
    assert len(stripe_calls(fake_stripe, "POST", "/v1/refunds")) == 2
    assert counters(tt) == (0, 1)
    assert audit_clean()

"""Paying: the buyer's Checkout Session or PaymentIntent, confirmed by Stripe's webhooks (through the fake
Stripe and the real dj-stripe URL), exactly once whatever the order and number of the events."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from orders.exceptions import HoldExpired, PaymentNotNeeded, PaymentProviderError
from orders.models import Order, Payment, Ticket
from orders.payments import get_provider
from orders.services_payments import payment_checkout_start, payment_intent_start, payments_reconcile_stuck
from orders.signals import payment_failed
from orders.stripe_fake import FakeStripe
from orders.tests.factories import place_order, ticket_type_on_sale
from orders.tests.payments_helpers import (
    CANCEL_URL,
    SUCCESS_URL,
    Deliver,
    audit_clean,
    counters,
    deliver_all,
    start_checkout,
    stripe_calls,
)

pytestmark = pytest.mark.django_db
S = Order.Status


@dataclass
class Alerts:
    """What went to the ``security`` logger (structlog event dicts) and to Sentry (messages)."""

    caplog: pytest.LogCaptureFixture
    sentry: list[str]

    @property
    def security(self) -> list[dict[str, Any]]:
        return [r.msg for r in self.caplog.records if r.name == "security" and isinstance(r.msg, dict)]


@pytest.fixture
def alerts(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Alerts:
    caplog.set_level(logging.INFO, logger="security")
    sent: list[str] = []
    monkeypatch.setattr(
        "orders.services_payments.sentry_sdk.capture_message", lambda message, **kw: sent.append(message)
    )
    return Alerts(caplog=caplog, sentry=sent)


# --- Starting --------------------------------------------------------------------------------------------


def test_checkout_writes_the_payment_first_and_creates_one_session_with_our_key_and_metadata(
    fake_stripe: FakeStripe,
) -> None:
    order = place_order(ticket_type_on_sale(), 2)
    url = payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    payment = Payment.objects.get(order=order)
    assert (payment.kind, payment.attempt, payment.status) == ("checkout", 1, "open")
    assert payment.idempotency_key == f"gh:order:{order.code}:cs:1"
    assert (payment.amount, payment.currency) == (order.total, "EUR")
    session = fake_stripe.get(str(payment.stripe_checkout_session_id))
    assert url == session["url"]
    assert session["amount_total"] == 5500
    assert session["metadata"] == {
        "order_code": order.code,
        "event_id": str(order.event_id),
        "payment_id": str(payment.pk),
    }
    (create,) = [r for r in fake_stripe.request_log if r.path == "/v1/checkout/sessions"]
    assert create.idempotency_key == payment.idempotency_key


def test_a_second_click_reuses_the_open_session(fake_stripe: FakeStripe) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    first = payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    second = payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    assert first == second
    assert Payment.objects.filter(order=order).count() == 1
    assert len(stripe_calls(fake_stripe, "POST", "/v1/checkout/sessions")) == 1


def test_a_session_stripe_no_longer_knows_is_replaced_not_an_error_forever(fake_stripe: FakeStripe) -> None:
    """Offline mode's in-memory Stripe forgets everything on a restart (make run reloads on every code
    change): the stored session answers 404 resource_missing. The next Pay closes that attempt and opens a
    new session, instead of answering payment_provider_error on every click."""
    order = place_order(ticket_type_on_sale(), 1)
    forgotten = start_checkout(order)
    fake_stripe.reset()
    url = payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    forgotten.refresh_from_db()
    assert forgotten.status == Payment.Status.CANCELLED
    fresh = Payment.objects.get(order=order, status=Payment.Status.OPEN)
    assert fresh.attempt == forgotten.attempt + 1
    assert fresh.stripe_checkout_session_id in url


def test_an_expired_session_is_not_reused_a_new_attempt_is_made(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    old = start_checkout(order)
    fake_stripe.expire_session(str(old.stripe_checkout_session_id))  # webhook not delivered yet
    url = payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    old.refresh_from_db()
    new = Payment.objects.get(order=order, attempt=2)
    assert old.status == Payment.Status.CANCELLED
    assert new.idempotency_key == f"gh:order:{order.code}:cs:2"
    assert str(new.stripe_checkout_session_id) in url
    order.refresh_from_db()
    assert order.status == S.PENDING  # the hold still runs


def test_free_paid_and_expired_orders_need_no_payment(fake_stripe: FakeStripe) -> None:
    free = place_order(ticket_type_on_sale(price="0.00", fee="0.00"), 1)
    assert free.status == S.PAID
    with pytest.raises(PaymentNotNeeded) as caught:
        payment_checkout_start(order=free, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    assert (caught.value.code, caught.value.status) == ("payment_not_needed", 409)
    pending = place_order(ticket_type_on_sale(), 1)
    with pytest.raises(HoldExpired):
        payment_intent_start(order=pending, now=pending.expires_at + timedelta(seconds=1))
    Order.objects.filter(pk=pending.pk).update(status=S.EXPIRED)
    with pytest.raises(PaymentNotNeeded):
        payment_intent_start(order=pending)
    assert not Payment.objects.exists()
    assert fake_stripe.requests == []


def test_stripe_unreachable_is_a_provider_error_and_the_next_click_starts_afresh(
    fake_stripe: FakeStripe,
) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    fake_stripe.fail_next("POST", "/v1/checkout/sessions", status=500)
    with pytest.raises(PaymentProviderError) as caught:
        payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    assert caught.value.status == 502
    assert Payment.objects.get(order=order).status == Payment.Status.CREATED
    payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    assert list(Payment.objects.filter(order=order).values_list("attempt", "status")) == [
        (1, "cancelled"),
        (2, "open"),
    ]


def test_mobile_gets_a_client_secret_and_the_same_intent_again(fake_stripe: FakeStripe) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    start = get_provider("stripe").start(order=order)
    again = payment_intent_start(order=order)
    payment = Payment.objects.get(order=order)
    assert payment.kind == Payment.Kind.INTENT
    assert payment.idempotency_key == f"gh:order:{order.code}:pi:1"
    intent = fake_stripe.get(str(payment.stripe_payment_intent_id))
    assert start.client_secret == again.client_secret == intent["client_secret"]
    assert intent["metadata"]["order_code"] == order.code
    assert len(stripe_calls(fake_stripe, "POST", "/v1/payment_intents")) == 1


# --- Webhooks: paid exactly once ---------------------------------------------------------------------------


def test_pay_then_webhook_marks_the_order_paid_and_issues_tickets_once(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    tt = ticket_type_on_sale(capacity=5)
    order = place_order(tt, 2)
    payment = start_checkout(order)
    events = fake_stripe.pay(checkout_session_id=payment.stripe_checkout_session_id)
    assert [e["type"] for e in events] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
    ]
    deliver_all(stripe_deliver, events)
    deliver_all(stripe_deliver, events)  # Stripe delivers again: dj-stripe and our guard ignore it
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == S.PAID
    assert order.payment_provider == "stripe"
    assert order.payment_reference == payment.stripe_payment_intent_id
    assert payment.status == Payment.Status.SUCCEEDED
    assert Ticket.objects.filter(order=order).count() == 2
    assert list(order.history.values_list("to_status", flat=True)) == [S.PENDING, S.PAID]
    assert counters(tt) == (2, 0)
    assert audit_clean()


@pytest.mark.parametrize("first", ["payment_intent.succeeded", "checkout.session.completed"])
def test_intent_and_session_events_in_either_order_make_one_paid_transition(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, first: str
) -> None:
    order = place_order(ticket_type_on_sale(), 3)
    payment = start_checkout(order)
    events = fake_stripe.pay(checkout_session_id=payment.stripe_checkout_session_id)
    events.sort(key=lambda e: e["type"] != first)
    assert events[0]["type"] == first
    deliver_all(stripe_deliver, events)
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.tickets.count() == 3
    assert order.history.filter(to_status=S.PAID).count() == 1


def test_mobile_payment_is_confirmed_by_the_intent_webhook(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    payment_intent_start(order=order)
    payment = Payment.objects.get(order=order)
    deliver_all(stripe_deliver, fake_stripe.pay(payment_intent_id=payment.stripe_payment_intent_id))
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.tickets.count() == 1


def test_amount_mismatch_is_not_fulfilled_and_is_alerted(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, alerts: Alerts
) -> None:
    tt = ticket_type_on_sale()
    order = place_order(tt, 1)
    payment = start_checkout(order)
    # Someone (or a bug) changed the amount at Stripe: 1 cent instead of 27.50.
    fake_stripe.objects[str(payment.stripe_checkout_session_id)]["amount_total"] = 1
    deliver_all(stripe_deliver, fake_stripe.pay(checkout_session_id=payment.stripe_checkout_session_id))
    order.refresh_from_db()
    assert order.status == S.PENDING
    assert not order.tickets.exists()
    assert "does not match" in order.needs_attention
    assert counters(tt) == (0, 1)
    mismatches = [e for e in alerts.security if e["event"] == "payment_mismatch"]
    assert [e["order"] for e in mismatches] == [order.code]  # reported once, not once per event
    assert len([m for m in alerts.sentry if order.code in m]) == 1
    payment.refresh_from_db()
    assert payment.failure_message.startswith("Does not match the order: amount 0.01")
    assert payments_reconcile_stuck(now=timezone.now() + timedelta(minutes=16)) == 0
    order.refresh_from_db()
    assert order.status == S.PENDING


def test_a_declined_card_fails_the_payment_and_the_order_stays_pending(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    payment = start_checkout(order)
    told: list[tuple[str, int]] = []

    def receiver(sender: object, order: Order, payment: Payment, **kwargs: object) -> None:
        told.append((order.code, payment.pk))

    payment_failed.connect(receiver, dispatch_uid="test-payment-failed")
    try:
        deliver_all(
            stripe_deliver, fake_stripe.decline(checkout_session_id=payment.stripe_checkout_session_id)
        )
    finally:
        payment_failed.disconnect(dispatch_uid="test-payment-failed")
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == S.PENDING
    assert (payment.status, payment.failure_message) == ("failed", "Your card was declined.")
    assert told == [(order.code, payment.pk)]
    # The buyer tries another card on the same (still open) session: paid.
    assert payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    deliver_all(stripe_deliver, fake_stripe.pay(checkout_session_id=payment.stripe_checkout_session_id))
    order.refresh_from_db()
    assert order.status == S.PAID


def test_payment_failed_after_succeeded_changes_nothing(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    payment_intent_start(order=order)
    payment = Payment.objects.get(order=order)
    declined = fake_stripe.decline(payment_intent_id=payment.stripe_payment_intent_id)
    paid = fake_stripe.pay(payment_intent_id=payment.stripe_payment_intent_id)
    deliver_all(stripe_deliver, paid + declined)  # the failure arrives last
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == S.PAID
    assert payment.status == Payment.Status.SUCCEEDED


# --- Expiry and late payments ------------------------------------------------------------------------------


def _lapsed_order_with_open_session(tt: Any, quantity: int = 1) -> tuple[Order, Payment]:
    """An order whose hold has lapsed (made 20 minutes ago), with the session the buyer opened then."""
    then = timezone.now() - timedelta(minutes=20)
    order = place_order(tt, quantity, now=then)
    return order, start_checkout(order, now=then)


def test_session_expired_expires_the_order_and_returns_the_seats(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    tt = ticket_type_on_sale(capacity=4)
    order, payment = _lapsed_order_with_open_session(tt, 2)
    deliver_all(stripe_deliver, fake_stripe.expire_session(str(payment.stripe_checkout_session_id)))
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == S.EXPIRED
    assert payment.status == Payment.Status.CANCELLED
    assert counters(tt) == (0, 0)
    assert audit_clean()


def test_session_expired_never_touches_a_paid_order(fake_stripe: FakeStripe, stripe_deliver: Deliver) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    web = start_checkout(order)
    payment_intent_start(order=order)
    mobile = Payment.objects.get(order=order, kind=Payment.Kind.INTENT)
    deliver_all(stripe_deliver, fake_stripe.pay(payment_intent_id=mobile.stripe_payment_intent_id))
    deliver_all(stripe_deliver, fake_stripe.expire_session(str(web.stripe_checkout_session_id)))
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.tickets.count() == 1


def test_when_the_hold_lapses_the_session_is_expired_through_the_api_after_commit(
    fake_stripe: FakeStripe, django_capture_on_commit_callbacks: Any
) -> None:
    from orders.services import orders_expire_due

    tt = ticket_type_on_sale()
    _order, payment = _lapsed_order_with_open_session(tt)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert orders_expire_due() == 1
        assert stripe_calls(fake_stripe, "POST", "/v1/checkout/sessions/") == []  # nothing before commit
    assert callbacks
    expire_path = f"/v1/checkout/sessions/{payment.stripe_checkout_session_id}/expire"
    assert [r[1] for r in stripe_calls(fake_stripe, "POST", "/v1/checkout/sessions/")] == [expire_path]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert fake_stripe.get(str(payment.stripe_checkout_session_id))["status"] == "expired"


def test_a_session_paid_just_before_the_expiry_call_is_a_late_payment_with_seats(
    fake_stripe: FakeStripe, django_capture_on_commit_callbacks: Any
) -> None:
    from orders.services import orders_expire_due

    tt = ticket_type_on_sale(capacity=3)
    order, payment = _lapsed_order_with_open_session(tt, 2)
    fake_stripe.pay(checkout_session_id=payment.stripe_checkout_session_id)  # webhooks still on their way
    with django_capture_on_commit_callbacks(execute=True):
        orders_expire_due()  # the expiry call is refused: the session is complete
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.tickets.count() == 2
    assert list(order.history.values_list("to_status", flat=True)) == [S.PENDING, S.EXPIRED, S.PAID]
    assert counters(tt) == (2, 0)
    assert audit_clean()


def test_late_payment_with_seats_left_is_paid(fake_stripe: FakeStripe, stripe_deliver: Deliver) -> None:
    from orders.services import orders_expire_due

    tt = ticket_type_on_sale(capacity=3)
    order, payment = _lapsed_order_with_open_session(tt, 2)
    orders_expire_due()  # the session's expiry (after commit) never runs in this test transaction
    assert counters(tt) == (0, 0)
    deliver_all(stripe_deliver, fake_stripe.pay(checkout_session_id=payment.stripe_checkout_session_id))
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.tickets.count() == 2
    assert counters(tt) == (2, 0)
    assert audit_clean()


# --- Reconciliation ----------------------------------------------------------------------------------------


def test_reconciliation_settles_a_paid_session_whose_webhook_was_lost(fake_stripe: FakeStripe) -> None:
    tt = ticket_type_on_sale()
    order = place_order(tt, 1)
    payment = start_checkout(order)
    fake_stripe.pay(checkout_session_id=payment.stripe_checkout_session_id)  # events never delivered
    assert payments_reconcile_stuck() == 0  # not stuck yet: younger than 15 minutes
    later = timezone.now() + timedelta(minutes=16)
    assert payments_reconcile_stuck(now=later) == 1
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.tickets.count() == 1
    assert payments_reconcile_stuck(now=later) == 0  # nothing left open
    assert counters(tt) == (1, 0)


def test_reconciliation_expires_an_abandoned_session_and_its_order(
    fake_stripe: FakeStripe, django_capture_on_commit_callbacks: Any
) -> None:
    tt = ticket_type_on_sale()
    order, payment = _lapsed_order_with_open_session(tt)
    Payment.objects.filter(pk=payment.pk).update(created=timezone.now() - timedelta(minutes=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert payments_reconcile_stuck() == 1
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == S.EXPIRED
    assert payment.status == Payment.Status.CANCELLED
    assert fake_stripe.get(str(payment.stripe_checkout_session_id))["status"] == "expired"
    assert counters(tt) == (0, 0)


def test_the_provider_confirms_by_asking_stripe_not_the_caller(fake_stripe: FakeStripe) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    payment_intent_start(order=order)
    payment = Payment.objects.get(order=order)
    provider = get_provider("stripe")
    assert provider.confirm(order=order, reference=str(payment.stripe_payment_intent_id)).status == S.PENDING
    fake_stripe.pay(payment_intent_id=payment.stripe_payment_intent_id)
    assert provider.confirm(order=order, reference=str(payment.stripe_payment_intent_id)).status == S.PAID
    assert Order.objects.get(pk=order.pk).total == Decimal("27.50")


@pytest.mark.django_db(transaction=True)
def test_a_discount_added_after_pay_was_clicked_closes_the_session_for_the_old_amount(
    fake_stripe: FakeStripe,
) -> None:
    """Points redeemed (any adjustment) after a Checkout Session was opened: the old session, for the old
    total, is expired at Stripe after commit, so it can never be paid; the next Pay opens one for the new
    total. Removing the discount does the same the other way."""
    from orders.services import order_add_adjustment, order_remove_adjustment

    order = place_order(ticket_type_on_sale(price="25.00", fee="2.50"), 2)
    old = start_checkout(order)
    order_add_adjustment(
        order=order, source="promo", reference="P1", description="Promo", amount=Decimal("5.00")
    )
    old.refresh_from_db()
    assert old.status == Payment.Status.CANCELLED
    assert fake_stripe.objects[old.stripe_checkout_session_id]["status"] == "expired"

    url = payment_checkout_start(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    new = Payment.objects.get(order=order, status=Payment.Status.OPEN)
    assert new.amount == Decimal("50.00")
    assert new.stripe_checkout_session_id in url
    assert fake_stripe.objects[new.stripe_checkout_session_id]["amount_total"] == 5000

    order_remove_adjustment(order=order, source="promo", reference="P1")
    new.refresh_from_db()
    assert new.status == Payment.Status.CANCELLED

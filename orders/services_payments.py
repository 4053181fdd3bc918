"""Payments and refunds through Stripe: every use case, from "pay" to "the bank could not refund".

How it fits together (DESIGN.md section 5, STYLE.md 6-8):

- A ``Payment`` / ``Refund`` row is written (and committed) BEFORE Stripe is called, with an idempotency
  key derived from our ids (``gh:order:<code>:cs|pi:<attempt>``, ``gh:refund:<pk>``). Stripe is called
  through ``orders.gateway`` only, and never while a row lock is held: the order row is locked in short
  transactions before and after the call, never across it. Refunds are decided and recorded in one
  transaction (tickets void, seats back, order moved); the call to Stripe follows after commit (a task).
- An order becomes paid only when Stripe says so (a webhook, or reconciliation asking Stripe), through
  ``payment_succeeded``: ONE idempotent entry for ``checkout.session.completed`` /
  ``.async_payment_succeeded`` and ``payment_intent.succeeded``, which locks the order, cross-checks the
  amount, currency and our ``Payment`` row and calls ``order_mark_paid``, whose status guard makes a second
  announcement of the same payment a no-op. A mismatch is never fulfilled: it is logged on the ``security``
  logger, reported to Sentry and put in the staff queue (``Order.needs_attention``).
- Our hold (15 minutes) is shorter than a Checkout Session's minimum life (30 minutes): when a hold lapses
  (``order_expired``), or the order is cancelled or paid another way, its open sessions are expired and its
  open intents cancelled through the API after commit (``payments_close_open``). Stripe refusing because
  the buyer has just paid is a late payment: ``order_mark_paid`` sells the seats again if they are free,
  else the order is ``paid_unfulfillable`` and, per ``Event.late_payment_policy``, refunded at once or
  queued for staff. The buyer is told either way (signals; notifications sends the mail).
- Refunds never exceed what was paid: ``Payment.amount_refunded`` counts every refund not failed
  (including ones recorded but not yet sent), guarded by a database constraint too.
- A refund whose money never arrives (``refund.failed``) flags the order and alerts; its tickets stay
  void and their seats stay on sale (they may already be resold): staff settle it with the buyer.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import sentry_sdk
import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from accounts.models import User
from events.inventory import inventory_return
from events.models import Event
from orders import gateway, signals
from orders.exceptions import (
    HoldExpired,
    OrderNotRefundable,
    PaymentNotNeeded,
    PaymentProviderError,
    RefundExceedsPayment,
)
from orders.models import Order, Payment, Refund, Ticket
from orders.payments import PaymentStart
from orders.services import PAID_STATUSES, order_expire, order_mark_paid, order_transition

log = structlog.get_logger(__name__)
security_log = structlog.get_logger("security")

S = Order.Status
PS = Payment.Status
RS = Refund.Status
PROVIDER = "stripe"  # Order.payment_provider of orders paid through Stripe (orders.payments.StripeProvider)

# Payments that may still take money at Stripe: the buyer can pay an open session or intent, also after a
# declined card (the session stays open, the intent goes back to requires_payment_method).
LIVE = (PS.OPEN, PS.FAILED)
# Orders whose money can (still) be given back.
REFUNDABLE = (S.PAID, S.PARTIALLY_REFUNDED, S.PAID_UNFULFILLABLE)
# Refund rows whose money is (or is on its way) back with the buyer: they count in amount_refunded.
REFUND_COUNTED = (RS.CREATED, RS.PENDING, RS.SUCCEEDED)
# Stripe refund statuses -> ours.
REFUND_STATUS = {
    "pending": RS.PENDING,
    "requires_action": RS.PENDING,
    "succeeded": RS.SUCCEEDED,
    "failed": RS.FAILED,
    "canceled": RS.CANCELLED,
}
# Payment.failure_message of a payment Stripe took that does not match its order (never fulfilled).
MISMATCH = "Does not match the order"
# Reconciliation never looks further back than this (a Checkout Session lives at most 24 hours).
RECONCILE_HORIZON = timedelta(days=3)
RECONCILE_BATCH = 200
# The organizer's "refund every paid order" job: progress for the admin (see event_refund_job_get).
REFUND_JOB_KEY = "orders:refund_job:{event_id}"
REFUND_JOB_TTL = 60 * 60 * 24 * 7


# --- What Stripe says was paid -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StripePayment:
    """The facts of a Checkout Session or PaymentIntent dict that matter to us."""

    kind: str  # Payment.Kind
    order_code: str  # metadata order_code ("" if none: not one of ours)
    payment_id: int | None  # metadata payment_id (our Payment row)
    session_id: str | None
    intent_id: str | None
    amount: Decimal
    currency: str  # upper case, like ours
    paid: bool  # the money is ours (session payment_status "paid", intent status "succeeded")
    failure: str  # the decline message, for payment_failed

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> StripePayment:
        metadata = obj.get("metadata") or {}
        currency = str(obj.get("currency") or "").upper()
        raw_payment_id = str(metadata.get("payment_id") or "")
        if obj.get("object") == "checkout.session":
            intent = obj.get("payment_intent")
            return cls(
                kind=Payment.Kind.CHECKOUT,
                order_code=str(metadata.get("order_code") or obj.get("client_reference_id") or ""),
                payment_id=int(raw_payment_id) if raw_payment_id.isdigit() else None,
                session_id=obj["id"],
                intent_id=(intent.get("id") if isinstance(intent, dict) else intent) or None,
                amount=gateway.from_minor(int(obj.get("amount_total") or 0), currency or "EUR"),
                currency=currency,
                paid=obj.get("payment_status") == "paid",
                failure="The payment did not go through." if obj.get("status") == "complete" else "",
            )
        if obj.get("object") == "payment_intent":
            error = obj.get("last_payment_error") or {}
            succeeded = obj.get("status") == "succeeded"
            minor = obj.get("amount_received") if succeeded else obj.get("amount")
            return cls(
                kind=Payment.Kind.INTENT,
                order_code=str(metadata.get("order_code") or ""),
                payment_id=int(raw_payment_id) if raw_payment_id.isdigit() else None,
                session_id=None,
                intent_id=obj["id"],
                amount=gateway.from_minor(int(minor or 0), currency or "EUR"),
                currency=currency,
                paid=succeeded,
                failure=str(error.get("message") or "The card was declined.")[:255],
            )
        raise ValueError(f"not a checkout session or payment intent: {obj.get('object')!r}")


def _alert(event: str, message: str, **fields: object) -> None:
    """Something that must not happen did (money and order disagree): the ``security`` log and Sentry.
    ``fields`` carry ids and amounts only, never personal data."""
    security_log.warning(event, **fields)
    with sentry_sdk.new_scope() as scope:
        scope.set_context("payment", {key: str(value) for key, value in fields.items()})
        sentry_sdk.capture_message(message, level="warning")


def _flag(order: Order, note: str) -> None:
    """Put the (locked) order in the staff queue with ``note``, added once to what is already there."""
    current = order.needs_attention
    if note[:200] in current:
        return
    order.needs_attention = (f"{current} | {note}" if current else note)[:200]
    order.save(update_fields=["needs_attention", "modified"])


def _lock_order(pk: int) -> Order:
    return Order.objects.select_related("event").select_for_update(of=("self",)).get(pk=pk)


def _find_payment(*, order: Order, facts: StripePayment) -> Payment | None:
    """Our Payment row for these facts, among the order's: by Stripe id first, then by metadata."""
    found = Q()
    if facts.session_id:
        found |= Q(stripe_checkout_session_id=facts.session_id)
    if facts.intent_id:
        found |= Q(stripe_payment_intent_id=facts.intent_id)
    if facts.payment_id is not None:
        found |= Q(pk=facts.payment_id)
    if not found:
        return None
    return Payment.objects.select_for_update().filter(found, order=order).order_by("id").first()


def _order_for(facts: StripePayment) -> Order | None:
    """The order these facts are about, locked: by metadata order code, else through our Payment row."""
    pk = None
    if facts.order_code:
        pk = Order.objects.filter(code=facts.order_code).values_list("pk", flat=True).first()
    if pk is None:
        ids = Q()
        if facts.session_id:
            ids |= Q(stripe_checkout_session_id=facts.session_id)
        if facts.intent_id:
            ids |= Q(stripe_payment_intent_id=facts.intent_id)
        if ids:
            pk = Payment.objects.filter(ids).values_list("order_id", flat=True).first()
    return _lock_order(pk) if pk is not None else None


# --- Starting a payment ------------------------------------------------------------------------------------


def payment_checkout_start(
    *, order: Order, success_url: str, cancel_url: str, now: datetime | None = None
) -> str:
    """Where to send the buyer to pay ``order`` on Stripe's hosted page (a Checkout Session URL).

    A session still open for the same amount is reused (a reload or a second tab pays the same session);
    otherwise a new attempt is written, then created at Stripe. Raises ``payment_not_needed`` for a free,
    paid, expired or cancelled order, ``hold_expired`` when the hold has just lapsed, and
    ``payment_provider_error`` when Stripe cannot be reached (the buyer may try again). The session outlives
    our hold (Stripe's minimum is 30 minutes): it is expired through the API when the hold lapses.
    """
    now = now or timezone.now()
    for _ in range(2):
        payment = _payment_prepare(order=order, kind=Payment.Kind.CHECKOUT, now=now)
        if payment.stripe_checkout_session_id:  # reuse, if Stripe still has it open
            try:
                session = gateway.checkout_session_retrieve(session_id=payment.stripe_checkout_session_id)
            except PaymentProviderError as error:
                if not _forgotten(error):
                    raise
                _payment_mark_cancelled(payment=payment, now=now)  # Stripe has no such session: start anew
                continue
            if session.get("status") == "open" and session.get("url"):
                return str(session["url"])
            _settle(payment=payment, obj=session, now=now)  # paid or expired meanwhile: record it, retry
            continue
        session = gateway.checkout_session_create(
            payment=payment,
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=payment.order.expires_at or now,
        )
        _payment_opened(payment=payment, obj=session, now=now)
        return str(session["url"])
    raise PaymentNotNeeded(extra={"order": order.code})


def payment_intent_start(*, order: Order, now: datetime | None = None) -> PaymentStart:
    """A PaymentIntent's client secret for the mobile SDK (``PaymentStart.client_secret``).

    An intent of the same amount that can still be paid is reused. Errors as ``payment_checkout_start``.
    The order is paid only when Stripe's webhook says so, never on the app's word."""
    now = now or timezone.now()
    for _ in range(2):
        payment = _payment_prepare(order=order, kind=Payment.Kind.INTENT, now=now)
        if payment.stripe_payment_intent_id:
            try:
                intent = gateway.payment_intent_retrieve(payment_intent_id=payment.stripe_payment_intent_id)
            except PaymentProviderError as error:
                if not _forgotten(error):
                    raise
                _payment_mark_cancelled(payment=payment, now=now)
                continue
            if intent.get("status") not in ("succeeded", "canceled"):
                return PaymentStart(client_secret=intent.get("client_secret"))
            _settle(payment=payment, obj=intent, now=now)
            continue
        intent = gateway.payment_intent_create(payment=payment)
        _payment_opened(payment=payment, obj=intent, now=now)
        return PaymentStart(client_secret=intent.get("client_secret"))
    raise PaymentNotNeeded(extra={"order": order.code})


def _forgotten(error: PaymentProviderError) -> bool:
    """Stripe answered 404 ``resource_missing`` for a session or intent we stored: it never existed there
    (offline mode's in-memory Stripe restarted, or a key from another account). Nothing can be paid on it,
    so the attempt is closed and a new one made, instead of failing every later Pay."""
    return (error.extra or {}).get("stripe_code") == "resource_missing"


@transaction.atomic
def _payment_prepare(*, order: Order, kind: str, now: datetime) -> Payment:
    """The Payment to use for ``order``: a live one of this kind and amount (to reuse), else a new attempt
    (status ``created``, idempotency key from the order code and attempt number), committed before any
    call to Stripe. An attempt left ``created`` (its call failed or is still running) is abandoned: its
    key cannot be replayed with a new expiry, and the buyer never saw its page."""
    locked = _lock_order(order.pk)
    if locked.total <= 0 or locked.status != S.PENDING:
        raise PaymentNotNeeded(extra={"status": locked.status, "total": str(locked.total)})
    if locked.expires_at is not None and locked.expires_at <= now:
        raise HoldExpired(extra={"status": locked.status})
    payments = Payment.objects.filter(order=locked, kind=kind)
    reusable = (
        payments.filter(status__in=LIVE, amount=locked.total, currency=locked.currency)
        .exclude(stripe_checkout_session_id=None, stripe_payment_intent_id=None)
        .order_by("-attempt")
        .first()
    )
    if reusable is not None:
        return reusable
    payments.filter(status=PS.CREATED).update(
        status=PS.CANCELLED, failure_message="Abandoned: the call to Stripe did not complete.", modified=now
    )
    attempt = (payments.aggregate(n=Max("attempt"))["n"] or 0) + 1
    short = "cs" if kind == Payment.Kind.CHECKOUT else "pi"
    return Payment.objects.create(
        order=locked,
        provider=PROVIDER,
        kind=kind,
        attempt=attempt,
        amount=locked.total,
        currency=locked.currency,
        idempotency_key=f"gh:order:{locked.code}:{short}:{attempt}",
    )


def _payment_opened(*, payment: Payment, obj: dict[str, Any], now: datetime) -> None:
    """Record the Stripe ids of a session / intent just created for ``payment``. If the order stopped
    waiting for money while we talked to Stripe (hold lapsed, paid another way, cancelled), close what we
    just opened and say so."""
    facts = StripePayment.from_stripe(obj)
    with transaction.atomic():
        updates: dict[str, Any] = {"modified": now}
        if facts.session_id:
            updates["stripe_checkout_session_id"] = facts.session_id
        if facts.intent_id:
            updates["stripe_payment_intent_id"] = facts.intent_id
        Payment.objects.filter(pk=payment.pk).update(**updates)
        # A webhook may already have moved it on (it finds the row by metadata): never go back to "open".
        Payment.objects.filter(pk=payment.pk, status=PS.CREATED).update(status=PS.OPEN)
        order = Order.objects.get(pk=payment.order_id)
    if order.status == S.PENDING and (order.expires_at is None or order.expires_at > now):
        return
    payment.refresh_from_db()
    _payment_close(payment=payment, now=now)
    if order.status == S.PENDING or order.status == S.EXPIRED:
        raise HoldExpired(extra={"status": order.status})
    raise PaymentNotNeeded(extra={"status": order.status})


# --- What Stripe tells us (webhooks, reconciliation) -------------------------------------------------------


@transaction.atomic
def payment_succeeded(*, obj: dict[str, Any], now: datetime | None = None) -> Order | None:
    """Stripe says money arrived: ``obj`` is a Checkout Session (completed / async payment succeeded) or a
    PaymentIntent (succeeded), as synced by dj-stripe or retrieved by reconciliation.

    Idempotent: both announcements of one payment, in either order and any number of times, make one move
    to ``paid`` and one set of tickets. Not one of ours (no order): ignored. Amount, currency or Payment row
    not matching the order: not fulfilled, ``security`` log + Sentry, staff queue. A late payment (hold
    expired) is paid if the seats are still free, else ``paid_unfulfillable`` and refunded at once or
    queued for staff (``Event.late_payment_policy``). Money for a cancelled order, or a second payment of
    a paid one, goes to the staff queue. Returns the order (locked, current) or None.
    """
    now = now or timezone.now()
    facts = StripePayment.from_stripe(obj)
    if not facts.paid:  # e.g. checkout.session.completed of an async method: wait for its outcome
        return None
    order = _order_for(facts)
    if order is None:
        log.info("stripe_payment_not_ours", session=facts.session_id, payment_intent=facts.intent_id)
        return None
    payment = _find_payment(order=order, facts=facts)
    problem = _mismatch(order=order, payment=payment, facts=facts)
    if payment is None or problem:
        if payment is not None and payment.failure_message.startswith(MISMATCH):
            return order  # reported already (the session's event and the intent's event both come)
        _alert(
            "payment_mismatch",
            f"Stripe payment does not match order {order.code}: {problem}",
            order=order.code,
            problem=problem,
            session=facts.session_id,
            payment_intent=facts.intent_id,
            amount=facts.amount,
            currency=facts.currency,
        )
        _flag(order, f"Payment does not match the order ({problem}): not fulfilled, check it in Stripe")
        if payment is not None and problem.startswith(("amount", "currency")):
            # Stripe took this money for this attempt: recorded as such (and no longer "open", so
            # reconciliation does not report it again), never as paying the order.
            payment.status = PS.SUCCEEDED
            payment.failure_message = f"{MISMATCH}: {problem}"[:255]
            payment.save(update_fields=["status", "failure_message", "modified"])
        return order
    _payment_record_success(payment=payment, facts=facts, now=now)
    reference = facts.intent_id or facts.session_id or ""

    if order.status == S.CANCELLED:
        log.warning("stripe_payment_for_cancelled_order", order=order.code, payment_intent=facts.intent_id)
        _flag(order, f"Paid {facts.amount} {facts.currency} after being cancelled: refund it in Stripe")
        return order
    if order.status in PAID_STATUSES:
        if order.payment_reference and order.payment_reference != reference:
            log.warning("stripe_order_paid_twice", order=order.code, payment_intent=facts.intent_id)
            _flag(order, f"Paid twice: refund payment {reference} in Stripe")
        return order

    was_expired = order.status == S.EXPIRED
    order = order_mark_paid(order=order, provider=PROVIDER, reference=reference, now=now)
    if was_expired and order.status == S.PAID_UNFULFILLABLE:
        if order.event.late_payment_policy == Event.LatePaymentPolicy.AUTO_REFUND:
            order_refund(
                order=order,
                actor=None,
                reason="Paid after the hold expired, no seats left",
                source=Refund.Source.LATE_PAYMENT,
                now=now,
            )
            order = _lock_order(order.pk)
        else:
            _flag(order, "Late payment, no seats left: find seats or refund")
    return order


def _mismatch(*, order: Order, payment: Payment | None, facts: StripePayment) -> str:
    """Why this payment cannot fulfil this order ("" when it can)."""
    if payment is None:
        return "no matching payment attempt"
    if facts.order_code and facts.order_code != order.code:
        return "order code differs"
    if facts.intent_id and payment.stripe_payment_intent_id not in (None, facts.intent_id):
        return "payment intent differs"
    if facts.session_id and payment.stripe_checkout_session_id not in (None, facts.session_id):
        return "checkout session differs"
    if facts.currency != payment.currency.upper() or facts.currency != order.currency.upper():
        return f"currency {facts.currency} instead of {order.currency}"
    if facts.amount != payment.amount or facts.amount != order.total:
        return f"amount {facts.amount} instead of {order.total}"
    return ""


def _payment_record_success(*, payment: Payment, facts: StripePayment, now: datetime) -> None:
    fields = ["status", "modified"]
    payment.status = PS.SUCCEEDED
    payment.failure_message = ""
    fields.append("failure_message")
    if facts.intent_id and not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = facts.intent_id
        fields.append("stripe_payment_intent_id")
    if facts.session_id and not payment.stripe_checkout_session_id:
        payment.stripe_checkout_session_id = facts.session_id
        fields.append("stripe_checkout_session_id")
    payment.modified = now
    payment.save(update_fields=fields)


@transaction.atomic
def payment_failed(*, obj: dict[str, Any], now: datetime | None = None) -> Order | None:
    """Stripe says a payment attempt failed (``payment_intent.payment_failed``, ``checkout.session.
    async_payment_failed``): the Payment is ``failed`` with Stripe's message and ``payment_failed`` is sent
    (the buyer may try again); the order stays pending. A failure after a success changes nothing, and so
    does a failure reported late for an intent Stripe now has as succeeded (its success event settles it)."""
    now = now or timezone.now()
    facts = StripePayment.from_stripe(obj)
    if facts.paid:
        return None
    order = _order_for(facts)
    if order is None:
        return None
    payment = _find_payment(order=order, facts=facts)
    if payment is None or payment.status == PS.SUCCEEDED:
        return order
    payment.status = PS.FAILED
    payment.failure_message = facts.failure
    payment.modified = now
    fields = ["status", "failure_message", "modified"]
    if facts.intent_id and not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = facts.intent_id
        fields.append("stripe_payment_intent_id")
    payment.save(update_fields=fields)
    if order.status == S.PENDING:
        signals.payment_failed.send(sender=Order, order=order, payment=payment)
    return order


@transaction.atomic
def checkout_session_expired(*, session: dict[str, Any], now: datetime | None = None) -> Order | None:
    """A Checkout Session expired (at Stripe's deadline, or because we expired it): its Payment is
    ``cancelled`` and, if the order is still pending and its hold has lapsed, the order expires (seats
    back on sale). A paid order is never touched."""
    now = now or timezone.now()
    facts = StripePayment.from_stripe(session)
    order = _order_for(facts)
    if order is None:
        return None
    payment = _find_payment(order=order, facts=facts)
    if payment is not None and payment.status in (PS.CREATED, *LIVE):
        payment.status = PS.CANCELLED
        payment.modified = now
        payment.save(update_fields=["status", "modified"])
    if order.status == S.PENDING:
        order = order_expire(order=order, now=now)
    return order


def _settle(*, payment: Payment, obj: dict[str, Any], now: datetime) -> bool:
    """Apply what Stripe has now for ``payment`` (a retrieved session or intent) through the same services
    as the webhooks. True when something was recorded."""
    status = obj.get("status")
    if obj.get("object") == "checkout.session":
        if status == "complete" and obj.get("payment_status") == "paid":
            payment_succeeded(obj=obj, now=now)
            return True
        if status == "expired":
            checkout_session_expired(session=obj, now=now)
            return True
        return False
    if status == "succeeded":
        payment_succeeded(obj=obj, now=now)
        return True
    if status == "canceled":
        return _payment_mark_cancelled(payment=payment, now=now)
    return False


def _payment_mark_cancelled(*, payment: Payment, now: datetime) -> bool:
    # Conditional: a success recorded meanwhile by a webhook is never overwritten.
    return bool(
        Payment.objects.filter(pk=payment.pk, status__in=(PS.CREATED, *LIVE)).update(
            status=PS.CANCELLED, modified=now
        )
    )


# --- Closing what can no longer be paid --------------------------------------------------------------------


def payments_close_open_schedule(*, order: Order) -> None:
    """Called when ``order`` stopped waiting for money (its hold lapsed, it was cancelled or paid), or when
    its total changed (an adjustment: open attempts for the old amount must not be paid): after
    commit, expire its open Checkout Sessions and cancel its open PaymentIntents at Stripe (a task). Free
    orders and orders without a live payment cost one query or none."""
    if order.payment_provider == "free":
        return
    live = Payment.objects.filter(order_id=order.pk, status__in=LIVE)
    if not live.exists():
        return
    from orders.tasks import payments_close_open_task

    order_id = order.pk

    # A function, not functools.partial: Django names the callback (__qualname__) when a robust one fails.
    def close_open_payments() -> None:
        payments_close_open_task.delay(order_id=order_id)

    transaction.on_commit(close_open_payments, robust=True)


def payments_close_open(*, order_id: int, now: datetime | None = None) -> int:
    """Expire / cancel at Stripe the live payments of an order that no longer waits for money; returns how
    many were closed. Runs outside any transaction: no row is locked while Stripe is called. Stripe
    refusing because the buyer has just paid is a late payment: it is settled right here through
    ``payment_succeeded`` (the webhook that follows is then a no-op)."""
    now = now or timezone.now()
    order = Order.objects.get(pk=order_id)
    live = Payment.objects.filter(order_id=order_id, status__in=LIVE)
    if order.status == S.PENDING and (order.expires_at is None or order.expires_at > now):
        # Still waiting for money (e.g. a hold extended meanwhile): only attempts for an amount the order
        # no longer has (points redeemed or given back since) are closed, so none is paid at the old total.
        live = live.exclude(amount=order.total)
    closed = 0
    for payment in live.order_by("id"):
        closed += _payment_close(payment=payment, now=now)
    return closed


def _payment_close(*, payment: Payment, now: datetime) -> int:
    try:
        if payment.stripe_checkout_session_id:
            obj = gateway.checkout_session_expire(session_id=payment.stripe_checkout_session_id)
        elif payment.stripe_payment_intent_id:
            obj = gateway.payment_intent_cancel(payment_intent_id=payment.stripe_payment_intent_id)
        else:
            return int(_payment_mark_cancelled(payment=payment, now=now))
    except PaymentProviderError:
        # Refused: it is complete (a late payment), already expired, or Stripe is unreachable (raise, retry).
        obj = _retrieve(payment)
        if obj.get("status") in ("open", "requires_payment_method", "requires_confirmation"):
            raise
        log.info("stripe_payment_not_closed", payment=payment.pk, status=obj.get("status"))
    if obj.get("object") == "checkout.session" and obj.get("status") == "expired":
        # Recorded here, not only by the checkout.session.expired webhook that follows.
        return int(_payment_mark_cancelled(payment=payment, now=now))
    return int(_settle(payment=payment, obj=obj, now=now))


def _retrieve(payment: Payment) -> dict[str, Any]:
    if payment.stripe_checkout_session_id:
        return gateway.checkout_session_retrieve(session_id=payment.stripe_checkout_session_id)
    return gateway.payment_intent_retrieve(payment_intent_id=str(payment.stripe_payment_intent_id))


def payments_reconcile_stuck(*, now: datetime | None = None) -> int:
    """Ask Stripe about payments left open longer than ``PAYMENTS_STUCK_MINUTES`` (a lost webhook, a
    failed expiry) and settle them through the same services as the webhooks: paid -> ``payment_succeeded``,
    expired / cancelled -> recorded, still open for an order that no longer waits -> closed. Also resends
    refunds whose call to Stripe never completed. Returns how many rows were settled. Beat, every 5 minutes;
    safe to run twice (every step is idempotent)."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.PAYMENTS_STUCK_MINUTES)
    stuck = (
        Payment.objects.filter(status__in=LIVE, created__lte=cutoff, created__gte=now - RECONCILE_HORIZON)
        .exclude(stripe_checkout_session_id=None, stripe_payment_intent_id=None)
        .select_related("order")
        .order_by("created", "id")[:RECONCILE_BATCH]
    )
    settled = 0
    for payment in stuck:
        try:
            obj = _retrieve(payment)
            if _settle(payment=payment, obj=obj, now=now):
                settled += 1
                continue
            order = Order.objects.get(pk=payment.order_id)
            if order.status == S.PENDING and order.expires_at is not None and order.expires_at <= now:
                order_expire(order=order, now=now)  # its receiver closes the payment after commit
                settled += 1
            elif order.status != S.PENDING:
                settled += _payment_close(payment=payment, now=now)
        except PaymentProviderError:
            log.warning("stripe_reconcile_failed", payment=payment.pk)
    unsent = Refund.objects.filter(
        status=RS.CREATED, created__lte=cutoff, stripe_refund_id=None, payment__isnull=False
    ).order_by("id")[:RECONCILE_BATCH]
    for refund in unsent:
        try:
            refund_send(refund_id=refund.pk)
            settled += 1
        except PaymentProviderError:
            log.warning("stripe_refund_resend_failed", refund=refund.pk)
    return settled


# --- Refunds -----------------------------------------------------------------------------------------------


def _refund_payment(order: Order, *, lock: bool = True) -> Payment | None:
    """The succeeded Stripe payment of ``order`` that refunds come from (locked unless ``lock=False``)."""
    paid = Payment.objects.filter(order=order, status=PS.SUCCEEDED).order_by("id")
    if lock:
        paid = paid.select_for_update()
    if order.payment_reference:
        match = paid.filter(stripe_payment_intent_id=order.payment_reference).first()
        if match is not None:
            return match
    return paid.first()


def order_refundable_amount(*, order: Order) -> Decimal:
    """What is left to give back of the order's card payment (0.00 when nothing was paid by card)."""
    payment = _refund_payment(order, lock=False)
    return payment.amount - payment.amount_refunded if payment is not None else Decimal("0.00")


@transaction.atomic
def order_refund(
    *,
    order: Order,
    actor: User | None,
    tickets: list[Ticket] | None = None,
    reason: str = "",
    source: str = Refund.Source.STAFF,
    now: datetime | None = None,
) -> Refund:
    """Give money back for ``tickets`` of a paid order (None: everything still refundable).

    In one transaction: a ``Refund`` row (``created``) listing the tickets, the tickets void, exactly their
    seats back on sale (once), the order ``partially_refunded`` or, when no valid ticket is left,
    ``refunded`` (an ``OrderEvent`` with the money and seat deltas), and ``order_refunded`` sent. After
    commit a task asks Stripe to return the money (idempotency key ``gh:refund:<pk>``); the refund
    webhooks record Stripe's id and outcome.

    The amount: the tickets' prices (prorated when the order had a discount); the last tickets take what
    is left of the payment, so a refund in parts adds up to exactly what was paid. Errors, nothing
    changed: ``order_not_refundable`` (order not paid, nothing paid by card, a ticket not of this order or
    already void), ``refund_exceeds_payment`` (more than what is left, e.g. after a dashboard refund).
    """
    now = now or timezone.now()
    locked = _lock_order(order.pk)
    if locked.status not in REFUNDABLE:
        raise OrderNotRefundable(extra={"status": locked.status})
    payment = _refund_payment(locked)
    if payment is None:
        raise OrderNotRefundable("Nothing was paid by card for this order.", extra={"reason": "no_payment"})
    remaining = payment.amount - payment.amount_refunded
    valid = list(
        locked.tickets.exclude(status=Ticket.Status.VOID).select_related("order_line").order_by("id")
    )
    if tickets is None:
        chosen = valid
    else:
        wanted = {ticket.pk for ticket in tickets}
        chosen = [ticket for ticket in valid if ticket.pk in wanted]
        missing = sorted(wanted - {ticket.pk for ticket in chosen})
        if missing or not chosen:
            raise OrderNotRefundable(
                "These tickets are not valid tickets of this order.", extra={"tickets": missing}
            )
    if len(chosen) == len(valid):
        amount = remaining  # the last tickets (or an order without tickets) take what is left
    else:
        amount = sum((ticket.order_line.unit_price for ticket in chosen), Decimal("0.00"))
        if locked.discount_total > 0 and locked.subtotal > 0:
            amount = (amount * locked.total / locked.subtotal).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    if amount > remaining:
        raise RefundExceedsPayment(extra={"amount": str(amount), "refundable": str(remaining)})
    if amount <= 0:
        raise OrderNotRefundable("Nothing is left to refund.", extra={"refundable": str(remaining)})

    refund = Refund.objects.create(
        order=locked,
        payment=payment,
        source=source,
        amount=amount,
        currency=payment.currency,
        reason=reason[:200],
        actor=actor,
        idempotency_key=f"gh:refund:new:{uuid.uuid4().hex}",
    )
    refund.idempotency_key = f"gh:refund:{refund.pk}"
    refund.save(update_fields=["idempotency_key"])
    Payment.objects.filter(pk=payment.pk).update(amount_refunded=F("amount_refunded") + amount, modified=now)
    seats = _void_and_return(refund=refund, tickets=chosen, now=now)
    to = S.REFUNDED if len(chosen) == len(valid) else S.PARTIALLY_REFUNDED
    locked = order_transition(
        order=locked,
        to=to,
        actor=actor,
        reason=f"refund ({source}){': ' + reason if reason else ''}",
        now=now,
        money_delta=-amount,
        seats_delta=-seats,
    )
    signals.order_refunded.send(sender=Order, order=locked, refund=refund)
    from orders.tasks import refund_send_task

    refund_id = refund.pk

    def send_refund() -> None:
        refund_send_task.delay(refund_id=refund_id)

    transaction.on_commit(send_refund, robust=True)
    return refund


def _void_and_return(*, refund: Refund, tickets: list[Ticket], now: datetime) -> int:
    """Void ``tickets`` (listed on ``refund``) and put exactly their seats back on sale; returns the seats.
    Called under the order's lock, so the tickets cannot be voided twice."""
    if not tickets:
        return 0
    ids = [ticket.pk for ticket in tickets]
    voided = (
        Ticket.objects.filter(pk__in=ids)
        .exclude(status=Ticket.Status.VOID)
        .update(status=Ticket.Status.VOID, modified=now)
    )
    if voided != len(ids):  # the order lock makes this impossible; never return seats twice
        raise OrderNotRefundable("A ticket was refunded meanwhile.", extra={"tickets": ids})
    refund.tickets.set(ids)
    per_type = Counter(ticket.ticket_type_id for ticket in tickets)
    for ticket_type_id in sorted(per_type):  # hot rows last, in id order
        inventory_return(ticket_type_id=ticket_type_id, quantity=per_type[ticket_type_id])
    return len(ids)


def refund_send(*, refund_id: int) -> Refund:
    """Ask Stripe to return a recorded refund's money (the task after ``order_refund`` commits; again by
    reconciliation). No lock is held during the call; the idempotency key makes a repeat harmless. Stripe's
    answer is recorded like the refund webhooks (``refund_updated``). Stripe refusing the refund for good
    (4xx) fails it (staff queue, alert); being unreachable raises ``payment_provider_error`` (retry)."""
    refund = Refund.objects.select_related("payment", "order").get(pk=refund_id)
    if refund.status != RS.CREATED or refund.stripe_refund_id or refund.payment is None:
        return refund
    try:
        result = gateway.refund_create(refund=refund)
    except PaymentProviderError as error:
        status = getattr(error.__cause__, "http_status", None)
        if status is None or status >= 500 or status == 429:
            raise
        _refund_fail(refund_id=refund.pk, why=str(error.extra.get("stripe_code") or "refused by Stripe"))
        refund.refresh_from_db()
        return refund
    return refund_updated(refund=result) or refund


@transaction.atomic
def refund_updated(*, refund: dict[str, Any], now: datetime | None = None) -> Refund | None:
    """Stripe says a refund exists or changed (``refund.created`` / ``.updated`` / ``.failed``, or the answer
    to our own call): ours (by Stripe id or metadata ``refund_id``) get Stripe's id and status; a failed or
    cancelled one goes through the failure path once. A refund we did not make (the Stripe dashboard) is
    recorded as such (``charge_refunded`` explains what that does to the order)."""
    now = now or timezone.now()
    local = _refund_local(refund)
    if local is None:
        if refund.get("status") in ("failed", "canceled"):
            log.info(
                "stripe_refund_unknown_not_recorded", refund=refund.get("id"), status=refund.get("status")
            )
            return None
        return _refund_record_external(refund=refund, now=now)
    _lock_order(local.order_id)
    local = Refund.objects.select_for_update().get(pk=local.pk)
    if not local.stripe_refund_id and refund.get("id"):
        local.stripe_refund_id = refund["id"]
        local.save(update_fields=["stripe_refund_id", "modified"])
    amount = gateway.from_minor(int(refund.get("amount") or 0), str(refund.get("currency") or local.currency))
    if amount != local.amount:
        _alert(
            "refund_amount_mismatch",
            f"Stripe refund {refund.get('id')} is {amount}, ours {local.amount}",
            refund=local.pk,
            order=local.order.code,
        )
    status = REFUND_STATUS.get(str(refund.get("status")), RS.PENDING)
    if status in (RS.FAILED, RS.CANCELLED):
        _refund_fail(
            refund_id=local.pk, why=str(refund.get("failure_reason") or refund.get("status")), to=status
        )
    elif local.status in (RS.CREATED, RS.PENDING) and status != local.status:
        local.status = status
        local.save(update_fields=["status", "modified"])
    local.refresh_from_db()
    return local


def _refund_local(refund: dict[str, Any]) -> Refund | None:
    if not refund.get("id"):
        return None
    found = Refund.objects.select_related("order").filter(stripe_refund_id=refund["id"]).first()
    if found is not None:
        return found
    raw = str((refund.get("metadata") or {}).get("refund_id") or "")
    if not raw.isdigit():
        return None
    found = Refund.objects.select_related("order").filter(pk=int(raw)).first()
    code = (refund.get("metadata") or {}).get("order_code")
    if found is not None and code and found.order.code != code:
        _alert("refund_metadata_mismatch", "Stripe refund metadata names another order", refund=raw)
        return None
    return found


@transaction.atomic
def _refund_fail(*, refund_id: int, why: str, to: str = RS.FAILED) -> None:
    """The money of a refund did not reach the buyer: the refund ``failed``, its amount no longer counted
    as refunded, the order in the staff queue, an alert, ``refund_failed`` sent (the buyer is told). Its
    tickets stay void and their seats stay on sale (they may be resold already): staff settle it."""
    local = Refund.objects.select_related("order").get(pk=refund_id)
    order = _lock_order(local.order_id)
    local = Refund.objects.select_for_update().get(pk=refund_id)
    if local.status in (RS.FAILED, RS.CANCELLED):
        return
    counted = local.status in REFUND_COUNTED
    local.status = to
    local.failure_reason = why[:255]
    local.save(update_fields=["status", "failure_reason", "modified"])
    if counted and local.payment_id is not None:
        Payment.objects.filter(pk=local.payment_id).update(
            amount_refunded=F("amount_refunded") - local.amount
        )
    _flag(order, f"Refund of {local.amount} {local.currency} failed ({why}): pay the buyer another way")
    _alert(
        "refund_failed",
        f"Refund {local.pk} of order {order.code} failed: {why}",
        refund=local.pk,
        order=order.code,
        reason=why,
    )
    signals.refund_failed.send(sender=Order, order=order, refund=local)


def _payment_for_intent(intent_id: str | None) -> Payment | None:
    if not intent_id:
        return None
    return Payment.objects.filter(stripe_payment_intent_id=intent_id).first()


def _refund_record_external(*, refund: dict[str, Any], now: datetime) -> Refund | None:
    """A refund made outside Grasshopper (the Stripe dashboard): recorded (source ``dashboard``, Stripe's id),
    counted against the payment. Full (nothing left of the payment): every valid ticket void, seats back,
    order ``refunded``. Partial: Stripe knows no tickets, so the order is ``partially_refunded`` (money only)
    and queued for staff to void the right tickets. ``order_refunded`` is sent."""
    intent_id = refund.get("payment_intent")
    payment = _payment_for_intent(intent_id if isinstance(intent_id, str) else None)
    if payment is None:
        log.info("stripe_refund_not_ours", refund=refund.get("id"))
        return None
    order = _lock_order(payment.order_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    existing = Refund.objects.filter(stripe_refund_id=refund["id"]).first()
    if existing is not None:  # recorded by a concurrent event meanwhile
        return existing
    amount = gateway.from_minor(
        int(refund.get("amount") or 0), str(refund.get("currency") or payment.currency)
    )
    unidentified = (
        Refund.objects.select_for_update()
        .filter(payment=payment, source=Refund.Source.DASHBOARD, stripe_refund_id=None, amount=amount)
        .order_by("id")
        .first()
    )
    if unidentified is not None:  # charge.refunded came first and recorded it without an id
        unidentified.stripe_refund_id = refund["id"]
        unidentified.status = REFUND_STATUS.get(str(refund.get("status")), RS.PENDING)
        unidentified.save(update_fields=["stripe_refund_id", "status", "modified"])
        return unidentified
    return _dashboard_refund(
        order=order,
        payment=payment,
        amount=amount,
        stripe_refund_id=refund["id"],
        key=f"gh:refund:stripe:{refund['id']}",
        status=REFUND_STATUS.get(str(refund.get("status")), RS.PENDING),
        now=now,
    )


def _dashboard_refund(
    *,
    order: Order,
    payment: Payment,
    amount: Decimal,
    stripe_refund_id: str | None,
    key: str,
    status: str,
    now: datetime,
) -> Refund | None:
    remaining = payment.amount - payment.amount_refunded
    if amount <= 0:
        return None
    if amount > remaining:
        _alert(
            "refund_exceeds_payment",
            f"Stripe refunded {amount} of order {order.code}, only {remaining} left to refund here",
            order=order.code,
            amount=amount,
            refundable=remaining,
        )
        _flag(order, f"Stripe refunded {amount} {payment.currency}, more than recorded here: check it")
        return None
    local = Refund.objects.create(
        order=order,
        payment=payment,
        status=status,
        source=Refund.Source.DASHBOARD,
        amount=amount,
        currency=payment.currency,
        reason="Refunded in the Stripe dashboard",
        idempotency_key=key,
        stripe_refund_id=stripe_refund_id,
    )
    Payment.objects.filter(pk=payment.pk).update(amount_refunded=F("amount_refunded") + amount, modified=now)
    full = amount == remaining
    reason = "refunded in the Stripe dashboard"
    if full and order.status in REFUNDABLE:
        tickets = list(order.tickets.exclude(status=Ticket.Status.VOID).order_by("id"))
        seats = _void_and_return(refund=local, tickets=tickets, now=now)
        order = order_transition(
            order=order,
            to=S.REFUNDED,
            actor=None,
            reason=reason,
            now=now,
            money_delta=-amount,
            seats_delta=-seats,
        )
    elif not full and order.status in (S.PAID, S.PARTIALLY_REFUNDED):
        # Money only: Stripe knows no tickets. Staff choose them (refund_assign_tickets).
        order = order_transition(
            order=order, to=S.PARTIALLY_REFUNDED, actor=None, reason=reason, now=now, money_delta=-amount
        )
    if order.status != S.REFUNDED:
        _flag(order, f"Refunded {amount} {payment.currency} in the Stripe dashboard: void the right tickets")
    signals.order_refunded.send(sender=Order, order=order, refund=local)
    return local


@transaction.atomic
def refund_assign_tickets(
    *, refund: Refund, tickets: list[Ticket], actor: User | None, now: datetime | None = None
) -> Refund:
    """Staff say which tickets a refund made in the Stripe dashboard was for (Stripe knows none): they are
    void, exactly their seats back on sale, listed on the refund, an ``OrderEvent`` with the seat delta (no
    money: it moved already). Only for a dashboard refund without tickets, of a ``partially_refunded``
    order, with valid tickets of that order: else ``order_not_refundable``. Staff clear the queue note."""
    now = now or timezone.now()
    order = _lock_order(refund.order_id)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.source != Refund.Source.DASHBOARD or refund.tickets.exists():
        raise OrderNotRefundable("Only a dashboard refund without tickets can be given tickets.")
    if order.status != S.PARTIALLY_REFUNDED:
        raise OrderNotRefundable(extra={"status": order.status})
    wanted = {ticket.pk for ticket in tickets}
    chosen = list(order.tickets.filter(pk__in=wanted).exclude(status=Ticket.Status.VOID).order_by("id"))
    if not chosen or len(chosen) != len(wanted):
        raise OrderNotRefundable(
            "These tickets are not valid tickets of this order.",
            extra={"tickets": sorted(wanted - {ticket.pk for ticket in chosen})},
        )
    seats = _void_and_return(refund=refund, tickets=chosen, now=now)
    order_transition(
        order=order,
        to=S.PARTIALLY_REFUNDED,
        actor=actor,
        reason="tickets of a Stripe dashboard refund",
        now=now,
        seats_delta=-seats,
    )
    return refund


@transaction.atomic
def charge_refunded(*, charge: dict[str, Any], now: datetime | None = None) -> Order | None:
    """``charge.refunded`` (one per refund, carrying the CUMULATIVE ``amount_refunded``): each refund it lists
    goes through ``refund_updated``; if Stripe still counts more refunded than we do, the difference is
    recorded as a dashboard refund without an id (``refund.created`` attaches it later). Repeats change
    nothing."""
    now = now or timezone.now()
    intent_id = charge.get("payment_intent")
    payment = _payment_for_intent(intent_id if isinstance(intent_id, str) else None)
    if payment is None:
        return None
    for listed in (charge.get("refunds") or {}).get("data") or []:
        if listed.get("status") not in ("failed", "canceled"):
            refund_updated(refund=listed, now=now)
    order = _lock_order(payment.order_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    currency = str(charge.get("currency") or payment.currency)
    stripe_total = gateway.from_minor(int(charge.get("amount_refunded") or 0), currency)
    missing = stripe_total - payment.amount_refunded
    if missing > 0:
        minor = int(charge.get("amount_refunded") or 0)
        if not Refund.objects.filter(idempotency_key=f"gh:refund:charge:{charge.get('id')}:{minor}").exists():
            _dashboard_refund(
                order=order,
                payment=payment,
                amount=missing,
                stripe_refund_id=None,
                key=f"gh:refund:charge:{charge.get('id')}:{minor}",
                status=RS.SUCCEEDED,
                now=now,
            )
    return _lock_order(order.pk)


@transaction.atomic
def dispute_changed(*, dispute: dict[str, Any], now: datetime | None = None) -> Order | None:
    """A buyer disputed a payment with their bank (``charge.dispute.created``), or the dispute closed
    (``.closed``, won or lost): the order goes to the staff queue with what happened (no OrderEvent: no
    money or seat moved here). Opened disputes are also alerted (``security`` log, Sentry)."""
    intent_id = dispute.get("payment_intent")
    payment = _payment_for_intent(intent_id if isinstance(intent_id, str) else None)
    if payment is None:
        return None
    order = _lock_order(payment.order_id)
    currency = str(dispute.get("currency") or payment.currency)
    amount = gateway.from_minor(int(dispute.get("amount") or 0), currency)
    status = str(dispute.get("status") or "")
    if status == "won":
        _flag(order, f"Dispute {dispute.get('id')} closed: won, the money stays")
    elif status == "lost":
        _flag(order, f"Dispute {dispute.get('id')} closed: lost, {amount} {currency.upper()} withdrawn")
    else:
        _flag(order, f"Dispute {dispute.get('id')} opened ({dispute.get('reason')}): answer it in Stripe")
        _alert(
            "payment_disputed",
            f"Order {order.code} disputed ({dispute.get('reason')})",
            order=order.code,
            dispute=dispute.get("id"),
            amount=amount,
            reason=dispute.get("reason"),
        )
    log.info("stripe_dispute", order=order.code, dispute=dispute.get("id"), status=status)
    return order


# --- Refunding a cancelled event ---------------------------------------------------------------------------


def event_refund_all(
    *, event: Event, actor: User | None, progress: Callable[[int, int], None] | None = None
) -> int:
    """Refund every paid order of a cancelled event in full, one transaction per order (a crash keeps what
    was done; running it again refunds the rest). ``progress(done, total)`` is called after each order.
    Orders that cannot be refunded (nothing paid by card) are skipped and logged. Returns how many orders
    were refunded. A non-cancelled event raises ``order_not_refundable``."""
    if event.status != Event.Status.CANCELLED:
        raise OrderNotRefundable(
            "Only a cancelled event's orders are refunded all at once.", extra={"event_status": event.status}
        )
    pks = list(
        Order.objects.filter(event=event, status__in=REFUNDABLE, payments__status=PS.SUCCEEDED)
        .distinct()
        .order_by("id")
        .values_list("pk", flat=True)
    )
    refunded = 0
    for done, pk in enumerate(pks, start=1):
        try:
            order_refund(
                order=Order(pk=pk),
                actor=actor,
                reason="The event was cancelled",
                source=Refund.Source.EVENT_CANCELLED,
            )
            refunded += 1
        except (OrderNotRefundable, RefundExceedsPayment) as error:
            log.info("event_refund_skipped", order=pk, code=error.code)
        if progress is not None:
            progress(done, len(pks))
    return refunded


def event_refund_job_set(*, event_id: int, done: int, total: int, finished: bool = False) -> None:
    """Record how far the refund job of an event got (``orders:refund_job:<event_id>`` in the cache)."""
    cache.set(
        REFUND_JOB_KEY.format(event_id=event_id),
        {"done": done, "total": total, "finished": finished, "updated": timezone.now().isoformat()},
        REFUND_JOB_TTL,
    )


def event_refund_job_get(*, event_id: int) -> dict[str, Any] | None:
    """How far the refund job of an event got: ``{"done", "total", "finished", "updated"}`` (None: never
    started, or forgotten after a week)."""
    value = cache.get(REFUND_JOB_KEY.format(event_id=event_id))
    return value if isinstance(value, dict) else None


def event_refund_all_start(*, event: Event, actor: User | None) -> None:
    """Start the background job refunding every paid order of a cancelled event (progress: see
    ``event_refund_job_get``). Raises ``order_not_refundable`` for an event that is not cancelled."""
    if event.status != Event.Status.CANCELLED:
        raise OrderNotRefundable(
            "Only a cancelled event's orders are refunded all at once.", extra={"event_status": event.status}
        )
    from orders.tasks import event_refund_all_task

    event_refund_job_set(event_id=event.pk, done=0, total=0)
    actor_id = actor.pk if actor else None
    transaction.on_commit(lambda: event_refund_all_task.delay(event_id=event.pk, actor_id=actor_id))

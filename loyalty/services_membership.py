"""The "Grasshopper Plus" membership: a monthly Stripe subscription that gives presale access and a points
multiplier while it is paid (DESIGN.md section 6; issue 7).

``accounts.Membership`` (one row per user, below orders so checkout can ask ``membership_active``) is kept
current by Stripe's webhooks only (``loyalty.webhooks``): ``customer.subscription.created/updated/deleted``
carry the subscription (status, period, cancel at period end), ``invoice.payment_succeeded`` confirms a
paid period, ``checkout.session.completed`` (subscription mode) links the customer and subscription to the
user. Each receiver gets the object as dj-stripe has just re-fetched it from Stripe, so events arriving out
of order or twice are harmless: the row always follows Stripe's current state, under a row lock.

The member's buttons (join, cancel at period end, keep) call Stripe through ``orders.gateway`` with no lock
held, then apply Stripe's answer through the same code as the webhook (which then finds nothing to do).

Which user a subscription belongs to: its ``metadata.user_id`` (set at checkout), else the Membership row
holding its id, else the one holding its customer id. Anything else is not ours and is ignored (logged).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, User
from loyalty.exceptions import (
    MembershipAlreadyActive,
    MembershipAlreadyCancelling,
    MembershipNotActive,
    MembershipNotCancelling,
)
from orders import gateway

log = structlog.get_logger(__name__)
security_log = structlog.get_logger("security")

MS = Membership.Status
# Stripe subscription statuses -> ours. "incomplete_expired" (the first payment never came) and "paused"
# (a trial ended without a card) give no benefits either.
STATUS = {
    "incomplete": MS.INCOMPLETE,
    "incomplete_expired": MS.CANCELED,
    "active": MS.ACTIVE,
    "trialing": MS.TRIALING,
    "past_due": MS.PAST_DUE,
    "canceled": MS.CANCELED,
    "unpaid": MS.UNPAID,
    "paused": MS.UNPAID,
}
BENEFIT_STATUSES = (MS.ACTIVE, MS.TRIALING)
# Checkout Session / subscription metadata marking a membership (orders ignores such sessions).
METADATA_KIND = "membership"


def membership_price() -> gateway.SubscriptionPrice:
    """What a membership costs, from the settings (``MEMBERSHIP_*``)."""
    return gateway.SubscriptionPrice(
        price_id=settings.MEMBERSHIP_PRICE_ID,
        amount=Decimal(settings.MEMBERSHIP_AMOUNT),
        currency=settings.MEMBERSHIP_CURRENCY.upper(),
        name=settings.MEMBERSHIP_NAME,
    )


# --- The member's buttons ----------------------------------------------------------------------------------


def membership_checkout_start(
    *, user: User, success_url: str, cancel_url: str, now: datetime | None = None
) -> str:
    """ "Join Grasshopper Plus": the URL of Stripe's hosted Checkout page for a monthly membership.

    The user's Stripe customer is created once (its id kept on their Membership row, which is created
    "incomplete": no benefits until Stripe says the first month is paid). A member whose membership runs
    (even one set to end at period end) gets ``membership_already_active``; Stripe errors are
    ``PaymentProviderError`` (502)."""
    now = now or timezone.now()
    membership, _ = Membership.objects.get_or_create(user=user)
    if membership.is_active_at(now):
        raise MembershipAlreadyActive()
    customer_id = membership.stripe_customer_id
    if not customer_id:
        # Same idempotency key on every attempt: concurrent clicks get the same customer from Stripe.
        customer_id = str(gateway.customer_create(user=user)["id"])
        Membership.objects.filter(pk=membership.pk, stripe_customer_id="").update(
            stripe_customer_id=customer_id, modified=now
        )
        membership.refresh_from_db(fields=["stripe_customer_id"])
        customer_id = membership.stripe_customer_id
    # A double click (same minute, same membership history) gets the same session back from Stripe; a
    # membership that ended and is joined again gets a new one.
    minute = int(now.timestamp()) // 60
    key = f"gh:user:{user.pk}:membership:cs:{membership.stripe_subscription_id or 'first'}:{minute}"
    session = gateway.subscription_checkout_create(
        user=user,
        customer_id=customer_id,
        price=membership_price(),
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=key,
    )
    log.info("membership_checkout_started", user=user.pk, session=session.get("id"))
    return str(session["url"])


def membership_cancel(*, user: User, now: datetime | None = None) -> Membership:
    """ "Cancel at period end": the membership stops renewing and its benefits last until the paid period
    ends (then Stripe ends the subscription: ``customer.subscription.deleted``). Nothing is refunded.

    ``membership_not_active`` when there is no running membership; ``membership_already_cancelling`` when
    it is already set to end."""
    now = now or timezone.now()
    membership = _running(user=user, now=now)
    if membership.cancel_at_period_end:
        raise MembershipAlreadyCancelling(extra={"current_period_end": membership.current_period_end})
    subscription = gateway.subscription_cancel_at_period_end(
        subscription_id=str(membership.stripe_subscription_id)
    )
    log.info("membership_cancel_requested", user=user.pk, subscription=subscription.get("id"))
    return membership_subscription_changed(subscription=subscription, now=now) or membership


def membership_resume(*, user: User, now: datetime | None = None) -> Membership:
    """ "Keep my membership": undo a cancellation before the paid period ends; it renews again.

    ``membership_not_active`` once the period is over (join again instead); ``membership_not_cancelling``
    when nothing was cancelled."""
    now = now or timezone.now()
    membership = _running(user=user, now=now)
    if not membership.cancel_at_period_end:
        raise MembershipNotCancelling()
    subscription = gateway.subscription_resume(subscription_id=str(membership.stripe_subscription_id))
    log.info("membership_resumed", user=user.pk, subscription=subscription.get("id"))
    return membership_subscription_changed(subscription=subscription, now=now) or membership


def _running(*, user: User, now: datetime) -> Membership:
    membership = Membership.objects.filter(user=user).first()
    if membership is None or not membership.stripe_subscription_id or not membership.is_active_at(now):
        raise MembershipNotActive()
    return membership


# --- What Stripe says (webhooks) ---------------------------------------------------------------------------


@transaction.atomic
def membership_subscription_changed(
    *, subscription: dict[str, Any], now: datetime | None = None
) -> Membership | None:
    """A subscription was created, changed or ended (``customer.subscription.*``, or Stripe's answer to
    our own call): the user's Membership follows it (status, paid period, cancel at period end).

    Idempotent: the same state twice writes nothing new. Not ours (no user found): ignored, ``None``.
    A user's membership follows one subscription: news of an older one that ended is ignored; a second
    subscription paid while the first still runs is reported (``security`` log) for staff to refund, and
    the running one is kept."""
    now = now or timezone.now()
    subscription_id = str(subscription.get("id") or "")
    customer_id = _id(subscription.get("customer"))
    status = STATUS.get(str(subscription.get("status")), MS.UNPAID)
    membership = _membership_locked(
        subscription_id=subscription_id,
        customer_id=customer_id,
        user_id=_user_id(subscription.get("metadata")),
    )
    if membership is None:
        log.info("membership_subscription_not_ours", subscription=subscription_id, customer=customer_id)
        return None
    current = membership.stripe_subscription_id
    if current and current != subscription_id:
        if status not in BENEFIT_STATUSES:
            return membership  # an older subscription of this user ended: the current one decides
        if membership.is_active_at(now):
            security_log.warning(
                "membership_second_subscription",
                user=membership.user_id,
                subscription=subscription_id,
                running=current,
            )
            return membership
    membership.status = status
    membership.stripe_subscription_id = subscription_id
    if customer_id and not membership.stripe_customer_id:
        membership.stripe_customer_id = customer_id
    membership.current_period_end = _period_end(subscription) or membership.current_period_end
    membership.cancel_at_period_end = status in BENEFIT_STATUSES and bool(
        subscription.get("cancel_at_period_end") or subscription.get("cancel_at")
    )
    membership.save(
        update_fields=[
            "status",
            "stripe_subscription_id",
            "stripe_customer_id",
            "current_period_end",
            "cancel_at_period_end",
            "modified",
        ]
    )
    log.info(
        "membership_changed",
        user=membership.user_id,
        subscription=subscription_id,
        status=status,
        cancel_at_period_end=membership.cancel_at_period_end,
    )
    return membership


@transaction.atomic
def membership_invoice_paid(*, invoice: dict[str, Any], now: datetime | None = None) -> Membership | None:
    """A membership invoice was paid (``invoice.payment_succeeded``: the first month, a renewal, or a
    retry after a failed renewal): the membership is active until the end of the period it paid for.

    A membership that already ended stays ended (its final invoice may arrive late). Invoices of no
    subscription, or of another subscription than the user's current one, change nothing."""
    now = now or timezone.now()
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription_id = _id(details.get("subscription")) or _id(invoice.get("subscription"))  # older APIs
    if not subscription_id or invoice.get("status") != "paid":
        return None
    membership = _membership_locked(
        subscription_id=subscription_id,
        customer_id=_id(invoice.get("customer")),
        user_id=_user_id(details.get("metadata")),
    )
    if membership is None:
        log.info("membership_invoice_not_ours", invoice=invoice.get("id"), subscription=subscription_id)
        return None
    if membership.stripe_subscription_id not in (None, "", subscription_id):
        return membership
    lines: list[dict[str, Any]] = (invoice.get("lines") or {}).get("data") or []
    last_end = max((int((line.get("period") or {}).get("end") or 0) for line in lines), default=0)
    paid_until = _timestamp(last_end) if last_end else None
    fields = ["modified"]
    if membership.stripe_subscription_id != subscription_id:
        membership.stripe_subscription_id = subscription_id
        fields.append("stripe_subscription_id")
    if paid_until is not None and (
        membership.current_period_end is None or paid_until > membership.current_period_end
    ):
        membership.current_period_end = paid_until
        fields.append("current_period_end")
    if membership.status not in (MS.CANCELED, *BENEFIT_STATUSES):
        membership.status = MS.ACTIVE  # first payment, or a retried renewal went through
        fields.append("status")
    if len(fields) > 1:
        membership.save(update_fields=fields)
        log.info("membership_paid", user=membership.user_id, subscription=subscription_id, until=paid_until)
    return membership


@transaction.atomic
def membership_checkout_completed(*, session: dict[str, Any]) -> Membership | None:
    """The buyer finished a membership Checkout Session: their Membership row learns the customer and
    subscription ids (its state comes with the subscription's own events). Other sessions: ``None``."""
    metadata = session.get("metadata") or {}
    if session.get("mode") != "subscription" or metadata.get("kind") != METADATA_KIND:
        return None
    subscription_id = _id(session.get("subscription"))
    membership = _membership_locked(
        subscription_id=subscription_id,
        customer_id=_id(session.get("customer")),
        user_id=_user_id(metadata),
    )
    if membership is None:
        log.info("membership_checkout_not_ours", session=session.get("id"))
        return None
    fields = []
    if subscription_id and not membership.stripe_subscription_id:
        membership.stripe_subscription_id = subscription_id
        fields.append("stripe_subscription_id")
    customer_id = _id(session.get("customer"))
    if customer_id and not membership.stripe_customer_id:
        membership.stripe_customer_id = customer_id
        fields.append("stripe_customer_id")
    if fields:
        membership.save(update_fields=[*fields, "modified"])
    return membership


# --- helpers -----------------------------------------------------------------------------------------------


def _membership_locked(*, subscription_id: str, customer_id: str, user_id: int | None) -> Membership | None:
    """The Membership these Stripe ids belong to, locked (created for ``user_id`` when it has none)."""
    rows = Membership.objects.select_for_update()
    if subscription_id:
        found = rows.filter(stripe_subscription_id=subscription_id).first()
        if found is not None:
            return found
    if user_id is not None and User.objects.filter(pk=user_id).exists():
        membership, _ = rows.get_or_create(user_id=user_id)
        return membership
    if customer_id:
        return rows.filter(stripe_customer_id=customer_id).order_by("pk").first()
    return None


def _id(value: Any) -> str:
    """A Stripe reference as an id (it may come expanded, as the object)."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value or "")


def _user_id(metadata: Any) -> int | None:
    raw = str((metadata or {}).get("user_id") or "") if isinstance(metadata, dict) else ""
    return int(raw) if raw.isdigit() else None


def _timestamp(value: int) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC)


def _period_end(subscription: dict[str, Any]) -> datetime | None:
    """End of the paid period: on the items since API 2025-03-31 (dahlia included), on the subscription
    before."""
    items = (subscription.get("items") or {}).get("data") or []
    ends = [int(item["current_period_end"]) for item in items if item.get("current_period_end")]
    if not ends and subscription.get("current_period_end"):
        ends = [int(subscription["current_period_end"])]
    return _timestamp(max(ends)) if ends else None

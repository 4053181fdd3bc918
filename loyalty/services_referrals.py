"""Referrals between buyers: a new user who signs up through someone's link is linked to them, and when the
new user's first paid order is paid, both get a reward. What users see and the rules kept:

- **The link** (``/r/<code>/``) is remembered for ``REFERRAL_LINK_DAYS`` in a signed cookie; the sign-up
  (allauth's ``user_signed_up``) links the new account to the code's owner with ``referral_link``: once
  (``Referral.referee`` is unique), never to themselves (same account or same mailbox), and not when the
  address's mailbox already belongs to another account (``+tag`` and Gmail dot variants count). A refused
  link writes nothing and is logged on the ``security`` logger with its reason.
- **The reward** (``referral_order_paid`` on ``order_paid``): the referee's first order with money to pay
  (free tickets do not count) is the one. The referrer gets ``REFERRAL_REFERRER_POINTS``; the referee gets
  ``REFERRAL_REFEREE_POINTS``, or, with ``REFERRAL_REFEREE_REWARD = "discount"``, had
  ``REFERRAL_REFEREE_DISCOUNT`` off that order at checkout (``referral_discount_apply``; paid without it,
  the points instead).
  Points go through the ledger (``loyalty.services.points_award``, kind ``referral``, source
  ``referral:<id>``) and expire like earned points. ``referral_rewarded`` announces it (both are told).
- **Abuse rules**, each refusing the reward (status ``rejected``, ``Referral.reason``, a ``security`` log
  line): ``monthly_limit`` (more than ``REFERRAL_REWARDS_PER_MONTH`` rewards for one referrer in 30 days),
  ``same_card`` (the first order was paid with a card, by Stripe's fingerprint, that the referrer or another
  of their referrals paid with), ``same_address`` (likewise for the card's billing address, when Stripe
  collected one). An order paid through Stripe waits for its charge (``charge.succeeded``,
  ``referral_charge_succeeded``) so the card can be checked; ``referrals_settle_waiting`` decides without it
  after ``REFERRAL_CHARGE_WAIT_MINUTES``.
- **Reversal** (``referral_reverse_for_refund`` on ``order_refunded``): when that first order is fully
  refunded, both rewards are taken back (``points_take_back``: the balance may go below zero) and the
  referral is ``reversed``.

Lock order: the order row (held by the orders services when their signals arrive, taken here otherwise),
then the referral row, then the two loyalty accounts in user id order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from loyalty.exceptions import ReferralDiscountInUse
from loyalty.models import LedgerEntry, LoyaltyAccount, Referral
from loyalty.selectors_referrals import (
    email_canonical,
    email_other_accounts,
    payment_facts_for_orders,
    referral_account_by_code,
    referral_display_name,
    referrer_order_codes,
)
from loyalty.services import points_award, points_take_back
from loyalty.signals import referral_rewarded
from orders.models import Adjustment, Order, Payment
from orders.services import order_add_adjustment
from orders.services_payments import PROVIDER as STRIPE_PROVIDER

log = structlog.get_logger(__name__)
security_log = structlog.get_logger("security")

S = Referral.Status
KIND = LedgerEntry.Kind.REFERRAL
# The Adjustment a referee's welcome discount is (reward "discount").
ADJUSTMENT_SOURCE = "referral"
# Statuses of a first order that still counts as paid (a partial refund keeps the rewards).
COUNTS_AS_PAID = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)
REWARD_WINDOW = timedelta(days=30)

# The abuse rules' reasons: code -> what staff read in Referral.reason.
REASONS = {
    "monthly_limit": "The referrer already had the most rewards allowed in 30 days.",
    "same_card": "The first order was paid with a card the referrer or another of their referrals used.",
    "same_address": "The first order's billing address is the referrer's or another of their referrals'.",
}


def _source(referral: Referral) -> str:
    return f"referral:{referral.pk}"


def _refuse_link(reason: str, *, referrer: User | None, referee: User) -> None:
    security_log.warning(
        "referral_link_refused", reason=reason, referrer=referrer.pk if referrer else None, referee=referee.pk
    )


# --- Linking at sign-up ----------------------------------------------------------------------------------


@transaction.atomic
def referral_link(*, referee: User, code: str, now: datetime | None = None) -> Referral | None:
    """Link the account that has just signed up to the owner of referral ``code``; ``None`` when refused:

    - ``unknown_code``: no active account has that code (a stale link);
    - ``self_referral``: the code is the new account's own, or its owner's address is the same mailbox;
    - ``already_referred``: the new account already has a referrer (including a concurrent sign-up race);
    - ``existing_account``: the new address's mailbox already belongs to another account;
    - ``not_new``: the account already has paid orders (it is not a new customer).

    Each refusal is logged on the ``security`` logger (ids only); nothing is written.
    """
    now = now or timezone.now()
    account = referral_account_by_code(code=code)
    if account is None:
        _refuse_link("unknown_code", referrer=None, referee=referee)
        return None
    referrer = account.user
    if referrer.pk == referee.pk or email_canonical(referrer.email) == email_canonical(referee.email):
        _refuse_link("self_referral", referrer=referrer, referee=referee)
        return None
    if Referral.objects.filter(referee_id=referee.pk).exists():
        _refuse_link("already_referred", referrer=referrer, referee=referee)
        return None
    if email_other_accounts(user=referee):
        _refuse_link("existing_account", referrer=referrer, referee=referee)
        return None
    if Order.objects.filter(buyer_id=referee.pk, paid_at__isnull=False).exists():
        _refuse_link("not_new", referrer=referrer, referee=referee)
        return None
    try:
        with transaction.atomic():  # a savepoint: a concurrent link of the same referee wins, we refuse
            referral = Referral.objects.create(referrer=referrer, referee=referee)
    except IntegrityError:
        _refuse_link("already_referred", referrer=referrer, referee=referee)
        return None
    log.info("referral_linked", referral=referral.pk, referrer=referrer.pk, referee=referee.pk)
    return referral


# --- The referee's welcome discount (reward "discount") --------------------------------------------------


def referral_discount_amount(*, order: Order) -> Decimal:
    """The welcome discount on ``order``: ``REFERRAL_REFEREE_DISCOUNT``, at most half of what is left to pay
    after other discounts (so the first order still has money to pay, and counts)."""
    others = sum(
        (a.amount for a in order.adjustments.all() if a.source != ADJUSTMENT_SOURCE), Decimal("0.00")
    )
    half = ((order.subtotal - others) / 2).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return max(min(Decimal(str(settings.REFERRAL_REFEREE_DISCOUNT)), half), Decimal("0.00"))


def referral_discount_available(*, user: User, order: Order) -> Referral | None:
    """The referral whose welcome discount ``user`` may put on ``order`` (a pending order of theirs), or
    ``None``: reward "discount" only, a referral still waiting for its first order, and no other order of
    theirs paid with money since."""
    if settings.REFERRAL_REFEREE_REWARD != "discount" or order.buyer_id != user.pk:
        return None
    if order.status != Order.Status.PENDING:
        return None
    referral = Referral.objects.filter(referee_id=user.pk, status=S.SIGNED_UP, order_code="").first()
    if referral is None:
        return None
    if Order.objects.filter(buyer_id=user.pk, paid_at__isnull=False, total__gt=0).exists():
        return None
    return referral


@transaction.atomic
def referral_discount_apply(*, user: User, order: Order, now: datetime | None = None) -> Adjustment | None:
    """Put the referee's welcome discount on their pending ``order`` (reward "discount"): one adjustment
    (source ``referral``), replaced if asked again; ``None`` when the user has no discount to use. It is on
    one pending order at a time: ``referral_discount_in_use`` while another one carries it. The order rules
    of ``orders.services.order_add_adjustment`` apply (pending, hold running)."""
    order = Order.objects.select_for_update().get(pk=order.pk)  # the order first, then the referral
    referral = referral_discount_available(user=user, order=order)
    if referral is None:
        return None
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    elsewhere = (
        Adjustment.objects.filter(source=ADJUSTMENT_SOURCE, reference=_source(referral))
        .filter(order__status=Order.Status.PENDING)
        .exclude(order_id=order.pk)
        .values_list("order__code", flat=True)
        .first()
    )
    if elsewhere:
        raise ReferralDiscountInUse(extra={"order": elsewhere})
    amount = referral_discount_amount(order=order)
    if amount <= 0:
        return None
    return order_add_adjustment(
        order=order,
        source=ADJUSTMENT_SOURCE,
        reference=_source(referral),
        description=f"Welcome discount (invited by {referral_display_name(referral.referrer)})",
        amount=amount,
        actor=user,
        now=now,
    )


# --- Rewarding the first paid order ----------------------------------------------------------------------


def referral_order_paid(*, order: Order, now: datetime | None = None) -> Referral | None:
    """``order_paid``: if ``order`` is its buyer's first paid order with money to pay and they were referred,
    it becomes the referral's order and the rewards are decided (or, paid through Stripe, decided when its
    charge is known). Returns the referral (``None``: not a referee)."""
    if order.buyer_id is None or order.total <= 0:
        return None  # guests and free orders: no query, no savepoint
    return _referral_order_paid(order=order, now=now)


@transaction.atomic
def _referral_order_paid(*, order: Order, now: datetime | None) -> Referral | None:
    referral = Referral.objects.select_for_update().filter(referee_id=order.buyer_id).first()
    if referral is None or referral.status != S.SIGNED_UP:
        return referral
    if referral.order_code and referral.order_code != order.code:
        return referral  # an earlier order is the first one; it is being decided
    if not referral.order_code:
        referral.order_code = order.code
        referral.save(update_fields=["order_code"])
    # Decided as of the payment (``order_paid`` carries no time of its own).
    return _settle(referral, order=order, now=now or order.paid_at or timezone.now(), waited=False)


@transaction.atomic
def referral_charge_succeeded(*, charge: dict[str, object], now: datetime | None = None) -> Referral | None:
    """``charge.succeeded`` (synced by dj-stripe): the card of a first order waiting for it is now known, so
    its referral is decided. Other charges: nothing (``None``)."""
    intent = charge.get("payment_intent")
    intent_id = str(intent.get("id") if isinstance(intent, dict) else intent or "")
    if not intent_id:
        return None
    payment = Payment.objects.filter(stripe_payment_intent_id=intent_id).only("order_id").first()
    if payment is None:
        return None
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    if order.buyer_id is None:
        return None
    referral = (
        Referral.objects.select_for_update()
        .filter(referee_id=order.buyer_id, order_code=order.code, status=S.SIGNED_UP)
        .first()
    )
    if referral is None:
        return None
    return _settle(referral, order=order, now=now or timezone.now(), waited=False)


def referrals_settle_waiting(*, now: datetime | None = None) -> int:
    """The beat job: first orders paid through Stripe more than ``REFERRAL_CHARGE_WAIT_MINUTES`` ago whose
    charge never arrived are decided without the card and address checks. Returns how many were decided."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.REFERRAL_CHARGE_WAIT_MINUTES)
    waiting = list(
        Referral.objects.filter(status=S.SIGNED_UP)
        .exclude(order_code="")
        .filter(referee__orders__code=F("order_code"), referee__orders__paid_at__lte=cutoff)
        .values_list("pk", flat=True)
    )
    decided = 0
    for pk in waiting:
        if _settle_waiting_one(referral_id=pk, now=now):
            decided += 1
    return decided


@transaction.atomic
def _settle_waiting_one(*, referral_id: int, now: datetime) -> bool:
    code = Referral.objects.filter(pk=referral_id).values_list("order_code", flat=True).first()
    order = Order.objects.select_for_update().filter(code=code).first() if code else None
    if order is None:
        return False
    referral = Referral.objects.select_for_update().get(pk=referral_id)
    if referral.status != S.SIGNED_UP or referral.order_code != order.code:
        return False
    return _settle(referral, order=order, now=now, waited=True).status != S.SIGNED_UP


def _settle(referral: Referral, *, order: Order, now: datetime, waited: bool) -> Referral:
    """Decide a referral whose first order is ``order`` (both rows locked by the caller)."""
    if order.status not in COUNTS_AS_PAID:
        if order.status in (Order.Status.REFUNDED, Order.Status.CANCELLED):
            return _mark(referral, S.REVERSED, f"first_order_refunded: order {order.code} was refunded", now)
        return referral
    own = payment_facts_for_orders(codes=[order.code])
    if order.payment_provider == STRIPE_PROVIDER and own.charges == 0:
        if not waited:
            return referral  # its charge (the card) comes with charge.succeeded
        log.info("referral_decided_without_charge", referral=referral.pk, order=order.code)
    known = payment_facts_for_orders(codes=referrer_order_codes(referral=referral))
    if own.fingerprints & known.fingerprints:
        return _reject(referral, "same_card", order=order, now=now)
    if own.addresses & known.addresses:
        return _reject(referral, "same_address", order=order, now=now)
    return _reward(referral, order=order, now=now)


def _lock_accounts(*user_ids: int) -> None:
    """Lock both loyalty accounts (created if missing) in user id order: the ledger writes below lock them
    again (no-op), and a concurrent reward for the same referrer waits here for the monthly count."""
    ids = sorted(set(user_ids))
    LoyaltyAccount.objects.bulk_create([LoyaltyAccount(user_id=pk) for pk in ids], ignore_conflicts=True)
    list(LoyaltyAccount.objects.select_for_update().filter(user_id__in=ids).order_by("user_id"))


def _reward(referral: Referral, *, order: Order, now: datetime) -> Referral:
    _lock_accounts(referral.referrer_id, referral.referee_id)
    recent = Referral.objects.filter(
        referrer_id=referral.referrer_id, status=S.REWARDED, rewarded_at__gt=now - REWARD_WINDOW
    ).count()
    if recent >= settings.REFERRAL_REWARDS_PER_MONTH:
        return _reject(referral, "monthly_limit", order=order, now=now, extra={"rewarded_30_days": recent})
    referee_name = referral_display_name(referral.referee)
    points_award(
        user=referral.referrer,
        points=settings.REFERRAL_REFERRER_POINTS,
        kind=KIND,
        source=_source(referral),
        description=f"{referee_name} joined through your link and bought tickets",
        now=now,
    )
    discounted = Adjustment.objects.filter(
        order_id=order.pk, source=ADJUSTMENT_SOURCE, reference=_source(referral)
    ).exists()
    if not discounted and settings.REFERRAL_REFEREE_POINTS > 0:
        # Reward "points", or "discount" when the first order was paid without it: the points instead.
        points_award(
            user=referral.referee,
            points=settings.REFERRAL_REFEREE_POINTS,
            kind=KIND,
            source=_source(referral),
            description=f"Welcome: invited by {referral_display_name(referral.referrer)}",
            now=now,
        )
    referral.status = S.REWARDED
    referral.rewarded_at = now
    referral.reason = ""
    referral.save(update_fields=["status", "rewarded_at", "reason"])
    log.info("referral_rewarded", referral=referral.pk, order=order.code)
    referral_rewarded.send(sender=Referral, referral=referral)
    return referral


def _reject(
    referral: Referral, code: str, *, order: Order, now: datetime, extra: dict[str, object] | None = None
) -> Referral:
    security_log.warning(
        "referral_rejected",
        reason=code,
        referral=referral.pk,
        referrer=referral.referrer_id,
        referee=referral.referee_id,
        order=order.code,
        **(extra or {}),
    )
    return _mark(referral, S.REJECTED, f"{code}: {REASONS[code]}", now)


def _mark(referral: Referral, status: str, reason: str, now: datetime) -> Referral:
    referral.status = status
    referral.reason = reason[:200]
    referral.save(update_fields=["status", "reason"])
    return referral


# --- Reversal --------------------------------------------------------------------------------------------


@transaction.atomic
def referral_reverse_for_refund(*, order: Order, now: datetime | None = None) -> Referral | None:
    """``order_refunded``: when a referral's first order is now fully refunded, both sides' reward points
    are taken back (a ``reverse`` row each, source ``referral:<id>``; a balance may go below zero) and the
    referral is ``reversed``. A partial refund changes nothing. A first order refunded before its reward
    was decided ends the referral the same way, with nothing to take back."""
    if order.buyer_id is None or order.status not in (Order.Status.REFUNDED, Order.Status.CANCELLED):
        return None
    referral = (
        Referral.objects.select_for_update().filter(referee_id=order.buyer_id, order_code=order.code).first()
    )
    if referral is None or referral.status not in (S.REWARDED, S.SIGNED_UP):
        return referral
    now = now or timezone.now()
    if referral.status == S.REWARDED:
        _lock_accounts(referral.referrer_id, referral.referee_id)
        for user in (referral.referrer, referral.referee):
            points_take_back(
                user=user,
                kind=KIND,
                source=_source(referral),
                description=f"Referral reward taken back: order {order.code} was refunded",
                now=now,
            )
    log.info("referral_reversed", referral=referral.pk, order=order.code)
    return _mark(referral, S.REVERSED, f"first_order_refunded: order {order.code} was refunded", now)

"""Loyalty points: every write to the ledger goes through here.

Rules this module keeps (DESIGN.md sections 2 and 6, STYLE.md 6-8):

- Every movement is one ``LedgerEntry`` row; the user's ``LoyaltyAccount`` row is locked first, and the row,
  the cached ``balance`` and the ``remaining`` counters change in ONE transaction (``loyalty_audit`` checks
  them). Lock order when an order is involved: the order row first, then the account (the orders services
  send their signals while holding the order's lock, and the receivers below then lock the account).
- The same source never moves points twice: ``(user, kind, source)`` is unique, and each service returns the
  existing row when asked again (``order_paid`` delivered twice earns once).
- Positive rows (earned, returned, referral rewards, staff additions) are "buckets": ``remaining`` says how
  many of their points are still unspent and ``expires_at`` when those expire. Spending, reversals and
  expiry take from the buckets that expire first. So ``sum(remaining) == max(balance, 0)``: a balance below
  zero (only ever after a refund reversed points already spent) is a debt that the next points pay first.
- Sources: ``order:<code>`` (earned), ``order:<code>:redeem:<n>`` (spent; given back under the same source),
  ``order:<code>:refund:<refund id>`` (reversed / given back by a refund), ``expire:<bucket id>``,
  ``adjust:<uuid>``, ``referral:<id>`` (loyalty.services_referrals).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import User
from accounts.selectors import membership_active
from loyalty import tiers
from loyalty.exceptions import (
    AdjustReasonRequired,
    PointsBalanceNegative,
    PointsInsufficient,
    PointsInvalid,
    PointsOverLimit,
    RedemptionOrderInvalid,
)
from loyalty.models import ExpiryNotice, LedgerEntry, LoyaltyAccount
from loyalty.selectors import ExpiringBatch, points_expiring_on, points_expiring_unnoticed
from loyalty.signals import points_expiring, tier_changed
from orders.exceptions import OrderNotAdjustable
from orders.models import Order, Refund
from orders.services import order_add_adjustment, order_remove_adjustment

K = LedgerEntry.Kind
CENT = Decimal("0.01")
# The order adjustment that points pay for: one per order, replaced when the buyer changes the amount.
ADJUSTMENT_SOURCE = "loyalty"
ADJUSTMENT_REFERENCE = "points"
# Kinds that count toward a tier (points earned in the trailing 12 months, less what refunds took back).
TIER_KINDS = (K.EARN, K.REVERSE, K.REFERRAL)


def point_value() -> Decimal:
    """What one point pays at checkout, in the order's currency."""
    return Decimal(str(settings.LOYALTY_POINT_VALUE))


def redeem_max_share() -> Decimal:
    return Decimal(str(settings.LOYALTY_REDEEM_MAX_SHARE))


def points_expiry(now: datetime) -> datetime:
    """When points earned at ``now`` expire."""
    return tiers.add_months(now, settings.LOYALTY_POINTS_EXPIRE_MONTHS)


# --- The ledger's building blocks (callers hold the account's lock) ----------------------------------------


def account_ensure(*, user: User) -> LoyaltyAccount:
    """The user's loyalty account (balance, tier, referral code), created the first time it is needed."""
    account = LoyaltyAccount.objects.filter(user_id=user.pk).first()
    if account is None:
        # ON CONFLICT DO NOTHING: a concurrent first write creates it too, and nobody fails.
        LoyaltyAccount.objects.bulk_create([LoyaltyAccount(user_id=user.pk)], ignore_conflicts=True)
        account = LoyaltyAccount.objects.get(user_id=user.pk)
    return account


def _account_locked(user_id: int) -> LoyaltyAccount:
    account = LoyaltyAccount.objects.select_for_update().filter(user_id=user_id).first()
    if account is None:
        LoyaltyAccount.objects.bulk_create([LoyaltyAccount(user_id=user_id)], ignore_conflicts=True)
        account = LoyaltyAccount.objects.select_for_update().get(user_id=user_id)
    return account


def _entry(
    account: LoyaltyAccount,
    *,
    points: int,
    kind: str,
    source: str,
    description: str,
    now: datetime,
    actor: User | None = None,
    expires_at: datetime | None = None,
    remaining: int = 0,
) -> LedgerEntry:
    """THE ledger write: one row, and the cached balance moved by as much, on the locked ``account``.
    Every movement comes through here (``_credit`` for buckets, ``_debit`` for spending, and expiry)."""
    entry = LedgerEntry.objects.create(
        user_id=account.user_id,
        points=points,
        kind=kind,
        source=source[:100],
        description=description[:200],
        expires_at=expires_at,
        remaining=remaining,
        actor=actor,
        created=now,
    )
    account.balance += points
    account.save(update_fields=["balance", "modified"])
    return entry


def _credit(
    account: LoyaltyAccount,
    *,
    points: int,
    kind: str,
    source: str,
    description: str,
    now: datetime,
    expires_at: datetime | None = None,
    actor: User | None = None,
) -> LedgerEntry:
    """Add ``points`` (> 0) as a bucket, valid until ``expires_at`` (by default ``points_expiry(now)``, like
    earned points); a debt (negative balance) is paid from it first."""
    debt = max(-account.balance, 0)
    return _entry(
        account,
        points=points,
        kind=kind,
        source=source,
        description=description,
        now=now,
        actor=actor,
        expires_at=expires_at or points_expiry(now),
        remaining=max(points - debt, 0),
    )


def _row(*, user_id: int, kind: str, source: str) -> LedgerEntry | None:
    """The row ``source`` already moved for the user with ``kind`` (unique), if any."""
    return LedgerEntry.objects.filter(user_id=user_id, kind=kind, source=source).first()


def _credit_counted(
    account: LoyaltyAccount, *, points: int, kind: str, source: str, description: str, now: datetime
) -> LedgerEntry:
    """Credit points that count toward the tier (earned, referral rewards), then recompute the tier."""
    entry = _credit(account, points=points, kind=kind, source=source, description=description, now=now)
    _tier_refresh(account, now=now)
    return entry


def _debit(
    account: LoyaltyAccount,
    *,
    points: int,
    kind: str,
    source: str,
    description: str,
    now: datetime,
    actor: User | None = None,
    prefer: LedgerEntry | None = None,
) -> LedgerEntry:
    """Take ``points`` (> 0) from the buckets (``prefer`` first, then those expiring first). What the buckets
    do not have becomes a negative balance: callers refuse that except for reversals. A spending row records
    in ``expires_at`` the earliest expiry of the points it took: they get it back if they are returned."""
    buckets = list(
        LedgerEntry.objects.filter(user_id=account.user_id, points__gt=0, remaining__gt=0).order_by(
            F("expires_at").asc(nulls_last=True), "created", "id"
        )
    )
    if prefer is not None:
        buckets.sort(key=lambda bucket: bucket.pk != prefer.pk)  # stable: the rest keep their order
    left, touched, earliest = points, [], None
    for bucket in buckets:
        if left == 0:
            break
        take = min(bucket.remaining, left)
        bucket.remaining -= take
        left -= take
        touched.append(bucket)
        if bucket.expires_at is not None and (earliest is None or bucket.expires_at < earliest):
            earliest = bucket.expires_at
    LedgerEntry.objects.bulk_update(touched, ["remaining"])
    return _entry(
        account,
        points=-points,
        kind=kind,
        source=source,
        description=description,
        now=now,
        actor=actor,
        expires_at=earliest if kind == K.REDEEM else None,
    )


def _tier_points(*, user_id: int, now: datetime) -> int:
    since = tiers.add_months(now, -12)
    total = LedgerEntry.objects.filter(user_id=user_id, kind__in=TIER_KINDS, created__gt=since).aggregate(
        s=Sum("points")
    )["s"]
    return int(total or 0)


def _tier_refresh(account: LoyaltyAccount, *, now: datetime) -> str:
    """Recompute the account's tier; a change is saved and announced (``tier_changed``)."""
    new = tiers.tier_for(_tier_points(user_id=account.user_id, now=now))
    if new != account.tier:
        old = account.tier
        account.tier = new
        account.save(update_fields=["tier", "modified"])
        tier_changed.send(sender=LoyaltyAccount, user=account.user, old=old, new=new)
    return new


def _expire_account_due(account: LoyaltyAccount, *, now: datetime) -> int:
    """Write an ``expire`` row for each of the account's buckets whose time is up; the points expired."""
    due = list(
        LedgerEntry.objects.filter(
            user_id=account.user_id, points__gt=0, remaining__gt=0, expires_at__lte=now
        ).order_by("expires_at", "id")
    )
    expired = 0
    for bucket in due:
        _entry(
            account,
            points=-bucket.remaining,
            kind=K.EXPIRE,
            source=f"expire:{bucket.pk}",
            description=f"{bucket.get_kind_display()} {bucket.created:%Y-%m-%d}, unspent after its validity",
            now=now,
        )
        expired += bucket.remaining
        bucket.remaining = 0
    LedgerEntry.objects.bulk_update(due, ["remaining"])
    return expired


# --- Earning and reversing ----------------------------------------------------------------------------------


def points_for_amount(*, amount: Decimal, user: User, tier: str, now: datetime) -> int:
    """Points earned by paying ``amount``: ``LOYALTY_POINTS_PER_UNIT`` per currency unit, times the tier's
    multiplier, times ``LOYALTY_MEMBER_MULTIPLIER`` for an active member; rounded down."""
    factor = Decimal(str(tiers.multiplier(tier)))
    if membership_active(user=user, now=now):
        factor *= Decimal(str(settings.LOYALTY_MEMBER_MULTIPLIER))
    raw = Decimal(amount) * settings.LOYALTY_POINTS_PER_UNIT * factor
    return int(raw.to_integral_value(rounding=ROUND_DOWN))


def points_earn_for_order(*, order: Order, now: datetime | None = None) -> LedgerEntry | None:
    """The buyer earns points for a paid order (``order_paid``): the money paid (total after discounts) times
    the rate and multipliers, valid ``LOYALTY_POINTS_EXPIRE_MONTHS``. Once per order: asked again, the first
    row is returned. Guest orders and free orders earn nothing (``None``).

    A late payment on an order whose redeemed points were given back when its hold lapsed takes those
    points again (the order was paid with the discount): a ``redeem`` row, which may leave the balance below
    zero like a reversal. The tier is recomputed; a change is announced.
    """
    if order.buyer_id is None or (order.total <= 0 and order.discount_total <= 0):
        # Guests and free orders: not a query, not even a savepoint (a flash sale of free tickets pays
        # nothing here).
        return None
    return _points_earn_for_order(order=order, buyer_id=order.buyer_id, now=now)


@transaction.atomic
def _points_earn_for_order(*, order: Order, buyer_id: int, now: datetime | None) -> LedgerEntry | None:
    now = now or timezone.now()
    account = _account_locked(buyer_id)
    if order.discount_total > 0:
        _redemption_retake(account, order=order, now=now)
    source = f"order:{order.code}"
    if (entry := _row(user_id=buyer_id, kind=K.EARN, source=source)) is not None:
        return entry
    points = points_for_amount(amount=order.total, user=account.user, tier=account.tier, now=now)
    if points <= 0:
        return None
    return _credit_counted(
        account, points=points, kind=K.EARN, source=source, description=f"Order {order.code}", now=now
    )


@transaction.atomic
def points_reverse_for_refund(
    *, order: Order, refund: Refund, now: datetime | None = None
) -> list[LedgerEntry]:
    """A refund (``order_refunded``) takes back the points earned on the refunded part, in proportion to the
    money (``refund.amount`` of the order's total; the order's last refund takes what is left), and gives
    back, in the same proportion, the points that paid part of it. Points already spent are still taken: the
    balance may go below zero, and redemption is then refused until it recovers. Once per refund. Returns the
    rows written (none for a guest order, or when nothing was earned or redeemed)."""
    if order.buyer_id is None:
        return []
    now = now or timezone.now()
    account = _account_locked(order.buyer_id)
    source = f"order:{order.code}:refund:{refund.pk}"
    done = LedgerEntry.objects.filter(
        user_id=order.buyer_id, source=source, kind__in=[K.REVERSE, K.REDEEM_RETURN]
    )
    if done.exists():
        return list(done)
    full = order.status == Order.Status.REFUNDED or order.total <= 0
    share = Decimal(1) if full else min(Decimal(refund.amount) / order.total, Decimal(1))
    written = []

    earned = _row(user_id=order.buyer_id, kind=K.EARN, source=f"order:{order.code}")
    if earned is not None:
        reversed_before = -(
            LedgerEntry.objects.filter(
                user_id=order.buyer_id, kind=K.REVERSE, source__startswith=f"order:{order.code}:refund:"
            ).aggregate(s=Sum("points"))["s"]
            or 0
        )
        left = earned.points - reversed_before
        take = (
            left if full else min(left, int((earned.points * share).to_integral_value(rounding=ROUND_DOWN)))
        )
        if take > 0:
            written.append(
                _debit(
                    account,
                    points=take,
                    kind=K.REVERSE,
                    source=source,
                    description=f"Refund of order {order.code}",
                    now=now,
                    prefer=earned,
                )
            )

    outstanding, last = _redemption_state(user_id=order.buyer_id, code=order.code)
    if outstanding > 0 and last is not None:
        give = (
            outstanding
            if full
            else min(outstanding, int((-last.points * share).to_integral_value(ROUND_DOWN)))
        )
        if give > 0:
            written.append(
                _give_back(account, points=give, last=last, now=now, why="refunded", source=source)
            )
    if written:
        _tier_refresh(account, now=now)
    return written


# --- Redemption at checkout ----------------------------------------------------------------------------


def _redemption_state(*, user_id: int, code: str) -> tuple[int, LedgerEntry | None]:
    """Points spent on order ``code`` and not given back, and its latest ``redeem`` row."""
    rows = LedgerEntry.objects.filter(
        user_id=user_id, kind__in=[K.REDEEM, K.REDEEM_RETURN], source__startswith=f"order:{code}:"
    )
    outstanding = -int(rows.aggregate(s=Sum("points"))["s"] or 0)
    last = rows.filter(kind=K.REDEEM).order_by("-id").first()
    return outstanding, last


def _redemption_retake(account: LoyaltyAccount, *, order: Order, now: datetime) -> None:
    """Paid late with a points discount whose points were given back: take them again."""
    if not order.adjustments.filter(source=ADJUSTMENT_SOURCE, reference=ADJUSTMENT_REFERENCE).exists():
        return
    outstanding, last = _redemption_state(user_id=account.user_id, code=order.code)
    if outstanding > 0 or last is None:
        return
    _spend(
        account,
        code=order.code,
        points=-last.points,
        description=f"Order {order.code} (paid after its hold ended)",
        now=now,
    )


def _spend(
    account: LoyaltyAccount,
    *,
    code: str,
    points: int,
    description: str,
    now: datetime,
    actor: User | None = None,
) -> LedgerEntry:
    """Spend ``points`` on order ``code``: the order's next ``redeem`` row (``order:<code>:redeem:<n>``)."""
    count = LedgerEntry.objects.filter(
        user_id=account.user_id, kind=K.REDEEM, source__startswith=f"order:{code}:redeem:"
    ).count()
    return _debit(
        account,
        points=points,
        kind=K.REDEEM,
        source=f"order:{code}:redeem:{count + 1}",
        description=description,
        now=now,
        actor=actor,
    )


@dataclass(frozen=True)
class RedeemLimits:
    """What a buyer may redeem on an order right now: ``max_points`` (the lower of the share-of-total cap
    and the points available, counting those already on this order), what they are worth, and why it is
    zero when it is (``blocked``: "negative_balance", "no_points", "not_pending")."""

    balance: int
    on_order: int
    max_points: int
    cap_points: int
    point_value: Decimal
    blocked: str = ""

    @property
    def max_amount(self) -> Decimal:
        return (self.max_points * self.point_value).quantize(CENT, rounding=ROUND_DOWN)


def _limits(*, order: Order, balance: int, on_order: int) -> RedeemLimits:
    value = point_value()
    others = sum(
        (a.amount for a in order.adjustments.all() if a.source != ADJUSTMENT_SOURCE), Decimal("0.00")
    )
    base = max(order.subtotal - others, Decimal("0.00"))
    max_money = (base * redeem_max_share()).quantize(CENT, rounding=ROUND_DOWN)
    cap = int((max_money / value).to_integral_value(rounding=ROUND_DOWN)) if value > 0 else 0
    blocked = ""
    if order.status != Order.Status.PENDING:
        blocked = "not_pending"
    elif balance < 0:
        blocked = "negative_balance"
    elif balance + on_order <= 0:
        blocked = "no_points"
    available = max(balance + on_order, 0)
    return RedeemLimits(
        balance=balance,
        on_order=on_order,
        max_points=0 if blocked else min(cap, available),
        cap_points=cap,
        point_value=value,
        blocked=blocked,
    )


@transaction.atomic
def points_redeem(*, user: User, order: Order, points: int, now: datetime | None = None) -> Order:
    """Pay part of the user's own pending order with points: they become a discount on the order ("N loyalty
    points", worth ``LOYALTY_POINT_VALUE`` each) and leave the balance, in one transaction. Redeeming again
    on the same order replaces the earlier amount (those points come back first); ``points=0`` takes the
    discount off and gives the points back.

    Capped at ``LOYALTY_REDEEM_MAX_SHARE`` of the order's total (before this discount) and at the balance:
    more raises ``points_over_limit`` (``extra["max_points"]``). A negative balance (after a refund) raises
    ``points_balance_negative``; a negative number ``points_invalid``; someone else's or a guest's order
    ``order_not_found``; an order no longer pending (or whose hold ended) ``order_not_adjustable``.
    Concurrent redemptions of the same points wait for each other on the account's lock: only what the
    balance covers succeeds. Returns the updated order (its new ``total``).
    """
    now = now or timezone.now()
    if points < 0:
        raise PointsInvalid(extra={"points": points})
    # The order first, then the account: the same order as order_expire -> order_expired -> our receiver.
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.buyer_id is None or locked.buyer_id != user.pk:
        raise RedemptionOrderInvalid()
    if locked.status != Order.Status.PENDING or (locked.expires_at is not None and locked.expires_at <= now):
        raise OrderNotAdjustable(extra={"status": locked.status})
    account = _account_locked(user.pk)
    _expire_account_due(account, now=now)
    outstanding, last = _redemption_state(user_id=user.pk, code=locked.code)
    if points == 0:
        if outstanding > 0 and last is not None:
            _give_back(account, points=outstanding, last=last, now=now, why="removed at checkout")
        return order_remove_adjustment(
            order=locked, source=ADJUSTMENT_SOURCE, reference=ADJUSTMENT_REFERENCE, actor=user, now=now
        )
    if account.balance < 0:
        raise PointsBalanceNegative(extra={"balance": account.balance})
    limits = _limits(order=locked, balance=account.balance, on_order=outstanding)
    if points > limits.max_points:
        raise PointsOverLimit(
            f"You can use at most {limits.max_points} points on this order.",
            extra={"max_points": limits.max_points, "balance": account.balance},
        )
    amount = (points * limits.point_value).quantize(CENT, rounding=ROUND_DOWN)
    if amount <= 0:
        raise PointsInvalid("Too few points to make a discount.", extra={"points": points})
    if outstanding > 0 and last is not None:
        _give_back(account, points=outstanding, last=last, now=now, why="replaced at checkout")
    adjustment = order_add_adjustment(
        order=locked,
        source=ADJUSTMENT_SOURCE,
        reference=ADJUSTMENT_REFERENCE,
        description=f"{points} loyalty points",
        amount=amount,
        actor=user,
        now=now,
    )
    _spend(account, code=locked.code, points=points, description=f"Order {locked.code}", now=now, actor=user)
    return adjustment.order


def _give_back(
    account: LoyaltyAccount, *, points: int, last: LedgerEntry, now: datetime, why: str, source: str = ""
) -> LedgerEntry:
    """Give back ``points`` spent on the order of the ``redeem`` row ``last``, with the expiry they had: a
    ``redeem_return`` row under ``source`` (by default the redeem row's own, as checkout and a lapsed hold
    do; a refund passes its own)."""
    code = last.source.split(":")[1]
    return _credit(
        account,
        points=points,
        kind=K.REDEEM_RETURN,
        source=source or last.source,
        description=f"Points spent on order {code}, {why}",
        now=now,
        expires_at=last.expires_at,
    )


@transaction.atomic
def points_return_for_order(*, order: Order, now: datetime | None = None) -> LedgerEntry | None:
    """The order the points were spent on did not go ahead (``order_expired``, ``order_cancelled``): the
    points come back (with the expiry they had). Nothing spent, or already given back: ``None``."""
    if order.buyer_id is None:
        return None
    now = now or timezone.now()
    account = _account_locked(order.buyer_id)
    outstanding, last = _redemption_state(user_id=order.buyer_id, code=order.code)
    if outstanding <= 0 or last is None:
        return None
    status = Order.Status(order.status).label.lower()
    return _give_back(account, points=outstanding, last=last, now=now, why=status)


def redeem_limits(*, user: User, order: Order) -> RedeemLimits:
    """What ``points_redeem`` would allow on ``order`` now (read only; for the checkout form and the API)."""
    account = LoyaltyAccount.objects.filter(user_id=user.pk).first()
    outstanding, _ = _redemption_state(user_id=user.pk, code=order.code)
    return _limits(order=order, balance=account.balance if account else 0, on_order=outstanding)


# --- Expiry, staff adjustments, rewards for other modules ------------------------------------------------


def points_expire_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """The beat job: expire earned points whose validity has ended (an ``expire`` row per bucket, each user in
    their own short transaction), then recompute the tiers of users above bronze, whose points may have left
    the 12-month window (a change is announced). Safe to run twice. Returns the points expired."""
    now = now or timezone.now()
    users = list(
        LedgerEntry.objects.filter(points__gt=0, remaining__gt=0, expires_at__lte=now)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()[:limit]
    )
    expired = 0
    for user_id in users:
        with transaction.atomic():
            account = _account_locked(user_id)
            expired += _expire_account_due(account, now=now)
            _tier_refresh(account, now=now)
    above = LoyaltyAccount.objects.exclude(tier=tiers.BRONZE).exclude(user_id__in=users)
    for user_id in above.values_list("user_id", flat=True):
        with transaction.atomic():
            _tier_refresh(_account_locked(user_id), now=now)
    return expired


def points_expiry_warn_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """The beat job: tell each user whose unspent points expire within ``LOYALTY_EXPIRY_WARNING_DAYS`` how
    many expire on which day, once per batch (a user's points expiring on one day, site time zone): an
    ``ExpiryNotice`` row and the ``points_expiring`` signal (notifications: inbox and email), each batch in
    its own short transaction. Safe to run twice, or concurrently: a batch already told is skipped, and the
    notice is unique per (user, day). Returns how many notices were sent."""
    now = now or timezone.now()
    days = settings.LOYALTY_EXPIRY_WARNING_DAYS
    if days <= 0:
        return 0
    sent = 0
    for batch in points_expiring_unnoticed(now=now, until=now + timedelta(days=days), limit=limit):
        if _expiry_notice_send(batch=batch, now=now) is not None:
            sent += 1
    return sent


@transaction.atomic
def _expiry_notice_send(*, batch: ExpiringBatch, now: datetime) -> ExpiryNotice | None:
    """One batch: re-counted under the account's lock (points spent since it was found are not announced;
    none left: no notice), then written and announced, unless another run did it first (``None``)."""
    _account_locked(batch.user_id)
    points, first = points_expiring_on(user_id=batch.user_id, day=batch.expires_on, now=now)
    if points <= 0 or first is None:
        return None
    notice, created = ExpiryNotice.objects.select_related("user").get_or_create(
        user_id=batch.user_id,
        expires_on=batch.expires_on,
        defaults={"expires_at": first, "points": points, "created": now},
    )
    if not created:
        return None
    points_expiring.send(sender=ExpiryNotice, notice=notice)
    return notice


@transaction.atomic
def points_adjust(
    *, user: User, points: int, reason: str, actor: User | None, now: datetime | None = None
) -> LedgerEntry:
    """Staff add (positive) or remove (negative) points, with a reason the user sees in their history. Added
    points expire like earned ones; removing more than the balance raises ``points_insufficient``; no reason
    raises ``reason_required``; zero raises ``points_invalid``."""
    reason = reason.strip()
    if not reason:
        raise AdjustReasonRequired()
    if points == 0:
        raise PointsInvalid("An adjustment cannot be zero points.")
    now = now or timezone.now()
    account = _account_locked(user.pk)
    source = f"adjust:{uuid.uuid4().hex}"
    if points > 0:
        return _credit(
            account, points=points, kind=K.ADJUST, source=source, description=reason, now=now, actor=actor
        )
    _expire_account_due(account, now=now)
    if -points > max(account.balance, 0):
        raise PointsInsufficient(extra={"balance": account.balance})
    return _debit(
        account, points=-points, kind=K.ADJUST, source=source, description=reason, now=now, actor=actor
    )


@transaction.atomic
def points_award(
    *, user: User, points: int, kind: str, source: str, description: str, now: datetime | None = None
) -> LedgerEntry:
    """Give ``points`` (> 0) for ``source`` (e.g. kind ``referral``, source ``referral:<id>``); they expire
    like earned points. Once per ``(kind, source)``: asked again, the first row is returned. Referral points
    count toward the tier."""
    if points <= 0:
        raise PointsInvalid(extra={"points": points})
    now = now or timezone.now()
    account = _account_locked(user.pk)
    if (existing := _row(user_id=user.pk, kind=kind, source=source)) is not None:
        return existing
    return _credit_counted(account, points=points, kind=kind, source=source, description=description, now=now)


@transaction.atomic
def points_take_back(
    *, user: User, kind: str, source: str, description: str, now: datetime | None = None
) -> LedgerEntry | None:
    """Reverse what ``points_award`` gave for ``(kind, source)``: a ``reverse`` row with the same source (the
    balance may go below zero, as for a refund). Nothing given, or already taken back: ``None`` (or the
    earlier reversal)."""
    now = now or timezone.now()
    account = _account_locked(user.pk)
    given = _row(user_id=user.pk, kind=kind, source=source)
    if given is None:
        return None
    if (done := _row(user_id=user.pk, kind=K.REVERSE, source=source)) is not None:
        return done
    entry = _debit(
        account,
        points=given.points,
        kind=K.REVERSE,
        source=source,
        description=description,
        now=now,
        prefer=given,
    )
    _tier_refresh(account, now=now)
    return entry

"""Reads of loyalty data, shaped for their consumer: the account page, the API, the admin, the audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from loyalty import tiers
from loyalty.models import ExpiryNotice, LedgerEntry, LoyaltyAccount

K = LedgerEntry.Kind
TIER_KINDS = (K.EARN, K.REVERSE, K.REFERRAL)


@dataclass(frozen=True)
class NextExpiry:
    """The soonest of the user's unspent points to expire: how many, and when (``soon``: within
    ``LOYALTY_EXPIRY_WARNING_DAYS``)."""

    points: int
    expires_at: datetime
    soon: bool


@dataclass(frozen=True)
class LoyaltySummary:
    balance: int
    progress: tiers.TierProgress
    next_expiry: NextExpiry | None
    referral_code: str

    @property
    def tier(self) -> str:
        return self.progress.tier


def loyalty_summary(*, user: User, now: datetime | None = None) -> LoyaltySummary:
    """Balance, tier and progress to the next one, and what expires next. Three queries; writes nothing (a
    user without an account yet has 0 points, bronze)."""
    now = now or timezone.now()
    account = LoyaltyAccount.objects.filter(user_id=user.pk).only("balance", "referral_code").first()
    since = tiers.add_months(now, -12)
    counted = LedgerEntry.objects.filter(user_id=user.pk, kind__in=TIER_KINDS, created__gt=since).aggregate(
        s=Sum("points")
    )["s"]
    first = (
        _unspent(now=now)
        .filter(user_id=user.pk)
        .order_by("expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )
    next_expiry = None
    if first is not None:
        # Everything expiring that day, shown together: the same batch the "expiring soon" notice tells.
        due, _ = points_expiring_on(user_id=user.pk, day=timezone.localdate(first), now=now)
        next_expiry = NextExpiry(
            points=due,
            expires_at=first,
            soon=first <= now + timedelta(days=settings.LOYALTY_EXPIRY_WARNING_DAYS),
        )
    return LoyaltySummary(
        balance=account.balance if account else 0,
        progress=tiers.progress(int(counted or 0)),
        next_expiry=next_expiry,
        referral_code=account.referral_code if account else "",
    )


# --- Points expiring soon (the notice's batches) ----------------------------------------------------------


def _unspent(*, now: datetime) -> QuerySet[LedgerEntry]:
    """Buckets with points still unspent and valid at ``now``."""
    return LedgerEntry.objects.filter(points__gt=0, remaining__gt=0, expires_at__gt=now)


@dataclass(frozen=True)
class ExpiringBatch:
    """A user's unspent points that expire on one day (``expires_on``, in the site's time zone): how many,
    and the earliest moment among them."""

    user_id: int
    expires_on: date
    expires_at: datetime
    points: int


def points_expiring_unnoticed(*, now: datetime, until: datetime, limit: int = 1000) -> list[ExpiringBatch]:
    """The batches with points expiring after ``now`` and by ``until`` whose (active) users have not had an
    ``ExpiryNotice`` for that day yet, by user and day (one query; at most ``limit``). ``points`` counts
    only the buckets up to ``until``: the notice recounts the whole day (``points_expiring_on``)."""
    told = ExpiryNotice.objects.filter(user_id=OuterRef("user_id"), expires_on=OuterRef("day"))
    rows = (
        _unspent(now=now)
        .filter(expires_at__lte=until, user__is_active=True)
        .annotate(day=TruncDate("expires_at"))
        .filter(~Exists(told))
        .values("user_id", "day")
        .annotate(points=Sum("remaining"), first=Min("expires_at"))
        .order_by("user_id", "day")[:limit]
    )
    return [
        ExpiringBatch(user_id=r["user_id"], expires_on=r["day"], expires_at=r["first"], points=r["points"])
        for r in rows
    ]


def points_expiring_on(*, user_id: int, day: date, now: datetime) -> tuple[int, datetime | None]:
    """The user's unspent points that expire on ``day`` (site time zone), after ``now``, and the earliest
    moment among them (``(0, None)``: none)."""
    row = (
        _unspent(now=now)
        .filter(user_id=user_id, expires_at__date=day)
        .aggregate(points=Sum("remaining"), first=Min("expires_at"))
    )
    return int(row["points"] or 0), row["first"]


def ledger_for_user(*, user: User) -> QuerySet[LedgerEntry]:
    """The user's point movements, newest first (each row names its kind, source and description)."""
    return LedgerEntry.objects.filter(user_id=user.pk).order_by("-created", "-id")


# --- The audit ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditProblem:
    user_id: int
    problem: str

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.problem}"


def ledger_audit() -> list[AuditProblem]:
    """Every inconsistency between the ledger and what is kept beside it: the cached balance that is not the
    sum of the rows, unspent counters (``remaining``) that do not add up to the balance (or that are out of
    range), rows without an account. Empty: all consistent. A handful of aggregate queries, whatever the
    number of users."""
    problems: list[AuditProblem] = []
    sums = {
        row["user_id"]: row
        for row in LedgerEntry.objects.values("user_id").annotate(
            total=Sum("points"), unspent=Sum("remaining", filter=Q(points__gt=0))
        )
    }
    accounts = dict(LoyaltyAccount.objects.values_list("user_id", "balance"))
    for user_id in sorted(set(sums) | set(accounts)):
        row = sums.get(user_id, {"total": 0, "unspent": 0})
        total, unspent = int(row["total"] or 0), int(row["unspent"] or 0)
        if user_id not in accounts:
            problems.append(AuditProblem(user_id, f"{total} points in the ledger but no account"))
            continue
        cached = accounts[user_id]
        if cached != total:
            problems.append(AuditProblem(user_id, f"cached balance {cached} but the ledger sums to {total}"))
        if unspent != max(total, 0):
            problems.append(
                AuditProblem(user_id, f"unspent points add up to {unspent}, the balance is {max(total, 0)}")
            )
    bad = LedgerEntry.objects.filter(
        Q(points__gt=0, remaining__gt=F("points")) | Q(remaining__lt=0) | Q(points__lt=0, remaining__gt=0)
    ).values_list("user_id", "pk")
    for user_id, pk in bad:
        problems.append(AuditProblem(user_id, f"ledger row {pk} has an impossible unspent count"))
    return problems

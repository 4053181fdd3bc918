"""Reads of accounts data, shaped for their consumer (HackSoft style: keyword-only, typed)."""

from datetime import datetime

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import Membership, User


def user_normalize_email(*, email: str) -> str:
    """The form an address is stored in: trimmed and lower-cased (allauth lower-cases it the same way)."""
    return User.objects.normalize_email(email.strip()).lower()


def user_get_by_email(*, email: str) -> User | None:
    """The account that owns ``email``, whatever its case; ``None`` when there is none."""
    return User.objects.filter(email__iexact=user_normalize_email(email=email)).first()


def user_list_for_admin() -> QuerySet[User]:
    """Users for the admin list, each annotated with ``has_verified_email`` in the same query."""
    verified = EmailAddress.objects.filter(user_id=OuterRef("pk"), verified=True)
    return User.objects.annotate(has_verified_email=Exists(verified))


def membership_active(*, user: User | AnonymousUser | None, now: datetime | None = None) -> bool:
    """Whether ``user`` has member benefits ("Grasshopper Plus": presale access, the points multiplier) at
    ``now``: an active or trialing subscription whose paid period has not ended. Anonymous users, users
    without a membership row and cancelled/unpaid/past-due memberships are not members."""
    if user is None or not user.is_authenticated or user.pk is None:
        return False
    membership = Membership.objects.filter(user_id=user.pk).first()
    if membership is None:
        return False
    return membership.is_active_at(now or timezone.now())

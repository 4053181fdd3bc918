"""Reads of accounts data, shaped for their consumer (HackSoft style: keyword-only, typed)."""

from allauth.account.models import EmailAddress
from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import User


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

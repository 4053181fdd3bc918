"""Reads of the membership ("Grasshopper Plus"), shaped for the membership section of /account/loyalty/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from accounts.models import Membership, User

MS = Membership.Status


@dataclass(frozen=True)
class MembershipState:
    """What the member sees. ``code``: ``none`` (never joined, or the first payment never came),
    ``active`` (renews on ``period_end``), ``cancelling`` (ends on ``period_end``), ``past_due`` (a renewal
    failed, Stripe retries; no benefits meanwhile), ``ended`` (ended on ``period_end``)."""

    code: str
    is_member: bool
    period_end: datetime | None


def membership_state(*, membership: Membership | None, now: datetime) -> MembershipState:
    if membership is None or (membership.status == MS.INCOMPLETE and membership.current_period_end is None):
        return MembershipState("none", False, None)
    end = membership.current_period_end
    if membership.is_active_at(now):
        return MembershipState("cancelling" if membership.cancel_at_period_end else "active", True, end)
    if membership.status == MS.PAST_DUE:
        return MembershipState("past_due", False, end)
    return MembershipState("ended", False, end)


def membership_section_context(*, user: User, now: datetime) -> dict[str, Any]:
    """The membership section's context (one query): the state, the price and what members get."""
    membership = Membership.objects.filter(user=user).first()
    return {
        "state": membership_state(membership=membership, now=now),
        "name": settings.MEMBERSHIP_NAME,
        "amount": Decimal(settings.MEMBERSHIP_AMOUNT),
        "currency": settings.MEMBERSHIP_CURRENCY.upper(),
        # "1.5", not "1.50": the points multiplier members earn with (on top of their tier's).
        "multiplier": format(
            Decimal(str(getattr(settings, "LOYALTY_MEMBER_MULTIPLIER", 1))).normalize(), "f"
        ),
    }

"""Helpers of the loyalty tests: buyers with points, paid orders, ledger reads."""

from __future__ import annotations

from datetime import datetime

from accounts.models import User
from accounts.tests.factories import VerifiedUserFactory
from events.models import TicketType
from loyalty.models import LedgerEntry, LoyaltyAccount
from loyalty.services import points_adjust
from orders.models import Order
from orders.services import order_mark_paid
from orders.tests.factories import place_order, ticket_type_on_sale


def buyer_with_points(points: int = 0, **kwargs: object) -> User:
    user = VerifiedUserFactory(**kwargs)
    if points:
        points_adjust(user=user, points=points, reason="Welcome gift", actor=None)
    return user


def priced_ticket_type(price: str = "40.00", **kwargs: object) -> TicketType:
    """A ticket type whose all-in price is ``price`` (no fee)."""
    return ticket_type_on_sale(price=price, fee="0.00", **kwargs)


def paid_order(
    buyer: User, ticket_type: TicketType, quantity: int = 1, *, now: datetime | None = None
) -> Order:
    order = place_order(ticket_type, quantity, buyer=buyer, now=now)
    return order_mark_paid(order=order, provider="test", reference=f"test:{order.code}", now=now)


def balance(user: User) -> int:
    """The cached balance, after checking it against the ledger's sum."""
    account = LoyaltyAccount.objects.get(user=user)
    total = sum(LedgerEntry.objects.filter(user=user).values_list("points", flat=True))
    assert account.balance == total, (account.balance, total)
    return account.balance


def rows(user: User, kind: str | None = None) -> list[LedgerEntry]:
    qs = LedgerEntry.objects.filter(user=user).order_by("id")
    return list(qs.filter(kind=kind) if kind else qs)

"""How far one extension may take a pending order's hold (``orders.services.order_extend_hold``).

Higher apps may cap it without orders importing them (DESIGN.md section 1): in their ``AppConfig.ready()``
they register a rule (``hold_limit_register``), a function of the order that returns a ``HoldLimit`` (the
latest the hold may run to, and why, in words for the buyer) or None when it has nothing to say. The
waitlist registers one: the order of a waitlist offer never outlives the offer (the next in line waits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from orders.exceptions import HoldNotExtendable
from orders.models import Order


@dataclass(frozen=True)
class HoldLimit:
    """The latest an order's hold may run to, and why (a sentence for the buyer)."""

    until: datetime
    message: str


HoldLimitRule = Callable[[Order], HoldLimit | None]
_RULES: dict[str, HoldLimitRule] = {}


def hold_limit_register(*, key: str, rule: HoldLimitRule) -> None:
    """Add a rule under ``key`` (registering a key again replaces its rule: ``ready()`` may run twice)."""
    _RULES[key] = rule


def order_hold_limit(*, order: Order) -> HoldLimit | None:
    """The earliest limit any registered rule puts on ``order``'s hold; None: no limit."""
    limits = [limit for rule in _RULES.values() if (limit := rule(order)) is not None]
    return min(limits, key=lambda limit: limit.until, default=None)


def order_hold_extension_refused(*, order: Order) -> HoldLimit | None:
    """The limit that leaves a pending order's hold no time to add (the checkout page then offers no
    extension and says why), or None."""
    if order.expires_at is None:
        return None
    limit = order_hold_limit(order=order)
    return limit if limit is not None and limit.until <= order.expires_at else None


def hold_extended_until(*, order: Order, extension: timedelta) -> datetime:
    """Where one extension takes ``order``'s hold (running, ``expires_at`` set): ``extension`` later,
    capped by the earliest limit. Raises ``hold_not_extendable`` (with the limit's message) when the limit
    leaves no time to add."""
    assert order.expires_at is not None  # noqa: S101 # nosec B101 - the caller checked the hold runs
    wanted = order.expires_at + extension
    limit = order_hold_limit(order=order)
    if limit is None or wanted <= limit.until:
        return wanted
    if limit.until <= order.expires_at:
        raise HoldNotExtendable(limit.message, extra={"until": limit.until.isoformat()})
    return limit.until

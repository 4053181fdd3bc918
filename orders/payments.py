"""The payment seam: how an order gets paid, whatever the provider.

A provider starts a payment (``start``: where to send the buyer, or a client secret for the mobile SDK),
confirms it (``confirm``: always through ``order_mark_paid``, which is idempotent) and refunds. Only the
``free`` provider exists yet; Stripe plugs in next through ``register_provider``. Providers never hold a
row lock while talking to the outside world (STYLE.md 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from grasshopper.lib.exceptions import ApplicationError
from orders.exceptions import PaymentProviderUnknown
from orders.models import Order
from orders.services import order_mark_paid


@dataclass(frozen=True)
class PaymentStart:
    """What the client does next: follow ``redirect_url`` (web) or use ``client_secret`` (mobile SDK);
    both ``None`` when nothing is left to do (the order is already paid)."""

    redirect_url: str | None = None
    client_secret: str | None = None


class PaymentProvider(Protocol):
    """A way to pay. ``name`` is stored on the order (``payment_provider``)."""

    name: str

    def start(self, *, order: Order) -> PaymentStart:
        """Begin paying ``order``."""
        ...

    def confirm(self, *, order: Order, reference: str) -> Order:
        """The provider says ``order`` is paid (``reference``: its payment id): calls ``order_mark_paid``."""
        ...

    def refund(self, *, order: Order, amount: Decimal, reason: str) -> None:
        """Give ``amount`` back to the buyer."""
        ...


class FreeOrderNotFree(ApplicationError):
    code = "payment_required"
    status = 400
    default_message = "This order is not free: choose a way to pay."


class FreeProvider:
    """Completes orders whose total is zero: no money moves, so confirming is immediate."""

    name = "free"

    def start(self, *, order: Order) -> PaymentStart:
        """Confirm a zero-total order at once."""
        self.confirm(order=order, reference=f"free:{order.code}")
        return PaymentStart()

    def confirm(self, *, order: Order, reference: str) -> Order:
        """Mark a zero-total order paid; refuses any other (``payment_required``)."""
        if order.total != 0:
            raise FreeOrderNotFree(extra={"total": str(order.total)})
        return order_mark_paid(order=order, provider=self.name, reference=reference)

    def refund(self, *, order: Order, amount: Decimal, reason: str) -> None:
        """Nothing was paid, so only a zero refund makes sense."""
        if amount != 0:
            raise FreeOrderNotFree("A free order has no money to refund.")


_PROVIDERS: dict[str, PaymentProvider] = {FreeProvider.name: FreeProvider()}


def register_provider(provider: PaymentProvider) -> None:
    """Make ``provider`` available under its ``name`` (called from an AppConfig.ready())."""
    _PROVIDERS[provider.name] = provider


def get_provider(name: str) -> PaymentProvider:
    """The provider called ``name``; ``payment_provider_unknown`` if there is none."""
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise PaymentProviderUnknown(extra={"provider": name}) from None

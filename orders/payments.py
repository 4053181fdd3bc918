"""The payment seam: how an order gets paid, whatever the provider.

A provider starts a payment (``start``: where to send the buyer, or a client secret for the mobile SDK),
confirms it (``confirm``: always through ``order_mark_paid``, which is idempotent) and refunds. Only the
``free`` and ``stripe`` providers exist; others plug in through ``register_provider``. Providers never
hold a row lock while talking to the outside world (STYLE.md 6).
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


class StripeProvider:
    """Card payments through Stripe (``orders.services_payments``; only ``orders.gateway`` calls Stripe).

    Web: a hosted Checkout Session (``start`` with ``success_url`` and ``cancel_url`` gives its
    ``redirect_url``); mobile: a PaymentIntent (``start`` without URLs gives its ``client_secret``). The order
    is paid when Stripe confirms it (webhook or ``confirm``, which asks Stripe, never trusts the caller)."""

    name = "stripe"

    def start(
        self, *, order: Order, success_url: str | None = None, cancel_url: str | None = None
    ) -> PaymentStart:
        """A Checkout Session URL (web, with both URLs) or a PaymentIntent client secret (mobile)."""
        from orders.services_payments import payment_checkout_start, payment_intent_start

        if success_url and cancel_url:
            url = payment_checkout_start(order=order, success_url=success_url, cancel_url=cancel_url)
            return PaymentStart(redirect_url=url)
        return payment_intent_start(order=order)

    def confirm(self, *, order: Order, reference: str) -> Order:
        """Ask Stripe about PaymentIntent ``reference`` and settle ``order`` through ``payment_succeeded``
        (idempotent; a mismatch is not fulfilled). Returns the order as it is now."""
        from orders import gateway
        from orders.services_payments import payment_succeeded

        intent = gateway.payment_intent_retrieve(payment_intent_id=reference)
        return payment_succeeded(obj=intent) or Order.objects.get(pk=order.pk)

    def refund(self, *, order: Order, amount: Decimal, reason: str) -> None:
        """Refund everything still refundable (``amount`` must be exactly that: a refund by ticket goes
        through ``orders.services_payments.order_refund``)."""
        from orders.exceptions import RefundExceedsPayment
        from orders.services_payments import order_refund, order_refundable_amount

        refundable = order_refundable_amount(order=order)
        if amount != refundable:
            raise RefundExceedsPayment(
                "Refund the whole order here, or choose tickets.",
                extra={"amount": str(amount), "refundable": str(refundable)},
            )
        order_refund(order=order, actor=None, reason=reason)


_PROVIDERS: dict[str, PaymentProvider] = {
    FreeProvider.name: FreeProvider(),
    StripeProvider.name: StripeProvider(),
}


def register_provider(provider: PaymentProvider) -> None:
    """Make ``provider`` available under its ``name`` (called from an AppConfig.ready())."""
    _PROVIDERS[provider.name] = provider


def get_provider(name: str) -> PaymentProvider:
    """The provider called ``name``; ``payment_provider_unknown`` if there is none."""
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise PaymentProviderUnknown(extra={"provider": name}) from None

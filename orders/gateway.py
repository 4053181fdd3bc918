"""The Stripe gateway: the only module that calls Stripe.

Every outbound call goes through a ``stripe.StripeClient`` built from the settings: the pinned
``STRIPE_API_VERSION`` (so a stripe-python upgrade never changes the API shape under us), an idempotency
key derived from our ids (stored on the Payment / Refund row BEFORE the call, so a retried task or request
replays Stripe's saved answer instead of charging twice), and metadata linking the Stripe object back to
the order (webhook handlers cross-check it).

Money is our ``Decimal`` at the edges; Stripe's integer minor units exist only inside this module
(``to_minor`` / ``from_minor``). Every function returns plain dicts (``StripeObject.to_dict()``), never
stripe objects, so callers never depend on stripe-python's object model.

Errors: any ``stripe.StripeError`` becomes ``PaymentProviderError`` (HTTP 502, ``extra["stripe_code"]``);
a card error becomes ``PaymentDeclined`` (402) with Stripe's message for the buyer.

In tests and in offline mode (``STRIPE_OFFLINE``) ``install_transport`` swaps the HTTP layer for the
in-process fake (``orders.stripe_fake``): stripe-python still encodes the requests and parses the answers,
so this module runs unchanged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import stripe
import structlog
from django.conf import settings
from django.utils import timezone

from orders.exceptions import PaymentDeclined, PaymentProviderError

if TYPE_CHECKING:
    from collections.abc import Callable

    from accounts.models import User
    from orders.models import Payment, Refund

log = structlog.get_logger(__name__)

# Stripe's list of zero-decimal currencies (amounts are whole units: 500 JPY is `500`).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
# Stripe refuses a Checkout Session that expires sooner than this (its "limited inventory" guide).
CHECKOUT_MIN_LIFETIME = timedelta(minutes=30)
CHECKOUT_MAX_LIFETIME = timedelta(hours=24)

_lock = threading.Lock()
_transport: stripe.HTTPClient | None = None
_client: tuple[tuple[object, ...], stripe.StripeClient] | None = None


# --- client --------------------------------------------------------------------------------------------


def install_transport(http_client: stripe.HTTPClient | None) -> None:
    """Route every Stripe call (ours and dj-stripe's module-level ones) through ``http_client``.

    ``None`` restores the real network client. Used by the test fixtures and, when ``STRIPE_OFFLINE``,
    by ``OrdersConfig.ready``."""
    global _transport, _client
    with _lock:
        _transport = http_client
        _client = None
        # dj-stripe calls stripe's module-level API (``stripe.PaymentIntent.retrieve``...), which uses this.
        stripe.default_http_client = http_client


def install_offline_transport() -> bool:
    """With ``STRIPE_OFFLINE`` (and DEBUG), route every Stripe call to the process-wide fake
    (``orders.stripe_fake.offline_fake``); called by ``OrdersConfig.ready``. Never without DEBUG, even
    if the system check refusing that configuration was skipped: no payment is faked in production."""
    if not (settings.STRIPE_OFFLINE and settings.DEBUG):
        return False
    from orders.stripe_fake import offline_fake

    install_transport(offline_fake().transport)
    return True


def installed_transport() -> stripe.HTTPClient | None:
    """The transport ``install_transport`` put in place (``None``: the real network)."""
    return _transport


def secret_key() -> str:
    """The secret key our calls use (the live or the test one, by ``STRIPE_LIVE_MODE``)."""
    key = settings.STRIPE_LIVE_SECRET_KEY if settings.STRIPE_LIVE_MODE else settings.STRIPE_TEST_SECRET_KEY
    return key or settings.STRIPE_SECRET_KEY


def publishable_key() -> str:
    """The publishable key the mobile SDK needs (sent with a PaymentIntent's client secret)."""
    return settings.STRIPE_PUBLISHABLE_KEY


def client() -> stripe.StripeClient:
    """A ``StripeClient`` for the configured key and pinned API version (cached while they hold)."""
    global _client
    key = secret_key()
    transport = _transport
    retries = 0 if transport is not None else 2
    fingerprint = (key, settings.STRIPE_API_VERSION, id(transport), retries)
    with _lock:
        if _client is not None and _client[0] == fingerprint:
            return _client[1]
        built = stripe.StripeClient(
            key,
            stripe_version=settings.STRIPE_API_VERSION,
            max_network_retries=retries,
            http_client=transport,
        )
        _client = (fingerprint, built)
        return built


# --- money ---------------------------------------------------------------------------------------------


def to_minor(amount: Decimal, currency: str) -> int:
    """``Decimal("12.50"), "EUR"`` -> ``1250``; ``Decimal("500"), "JPY"`` -> ``500`` (half up)."""
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return int(Decimal(amount).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return int((Decimal(amount) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def from_minor(amount: int, currency: str) -> Decimal:
    """``1250, "EUR"`` -> ``Decimal("12.50")``; ``500, "JPY"`` -> ``Decimal("500")``."""
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return Decimal(int(amount))
    return (Decimal(int(amount)) / 100).quantize(Decimal("0.01"))


# --- calls ---------------------------------------------------------------------------------------------


def _call(operation: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one Stripe call; map its errors to ours; return the answer as a plain dict."""
    try:
        result = fn(*args, **kwargs)
    except stripe.CardError as error:
        log.info("stripe_card_declined", operation=operation, stripe_code=error.code)
        raise PaymentDeclined(
            error.user_message or None,
            extra={"stripe_code": error.code or "card_declined", "decline_code": _decline_code(error)},
        ) from error
    except stripe.StripeError as error:
        log.warning(
            "stripe_call_failed",
            operation=operation,
            stripe_code=error.code,
            http_status=error.http_status,
            request_id=error.request_id,
            error_type=type(error).__name__,
        )
        raise PaymentProviderError(
            extra={"stripe_code": error.code or type(error).__name__, "request_id": error.request_id}
        ) from error
    return result.to_dict()


def _decline_code(error: stripe.CardError) -> str | None:
    body = error.json_body or {}
    details = body.get("error") if isinstance(body, dict) else None
    return details.get("decline_code") if isinstance(details, dict) else None


def _payment_metadata(payment: Payment) -> dict[str, str]:
    order = payment.order
    return {
        "order_code": order.code,
        "event_id": str(order.event_id),
        "payment_id": str(payment.pk),
    }


def checkout_session_create(
    *, payment: Payment, success_url: str, cancel_url: str, expires_at: datetime
) -> dict[str, Any]:
    """Open a hosted Checkout Session for ``payment`` (one line: the order, its total).

    The session's own expiry is at least Stripe's 30-minute minimum: a shorter hold is enforced by
    expiring the session through the API when the hold lapses (``checkout_session_expire``)."""
    order = payment.order
    now = timezone.now()
    expires_at = min(
        max(expires_at, now + CHECKOUT_MIN_LIFETIME + timedelta(seconds=30)), now + CHECKOUT_MAX_LIFETIME
    )
    metadata = _payment_metadata(payment)
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": payment.currency.lower(),
                    "unit_amount": to_minor(payment.amount, payment.currency),
                    "product_data": {"name": f"Order {order.code} — {order.event.title}"},
                },
            }
        ],
        "client_reference_id": order.code,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
    }
    if order.email:
        params["customer_email"] = order.email
    return _call(
        "checkout_session_create",
        client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": payment.idempotency_key},
    )


def checkout_session_retrieve(*, session_id: str) -> dict[str, Any]:
    """The Checkout Session as Stripe has it now."""
    return _call("checkout_session_retrieve", client().v1.checkout.sessions.retrieve, session_id)


def checkout_session_expire(*, session_id: str) -> dict[str, Any]:
    """Close an open Checkout Session (our hold lapsed): the buyer can no longer pay through it.

    Stripe refuses (``PaymentProviderError``) when the session is already complete or expired."""
    return _call("checkout_session_expire", client().v1.checkout.sessions.expire, session_id)


def payment_intent_create(*, payment: Payment) -> dict[str, Any]:
    """A PaymentIntent for the mobile SDK (its ``client_secret`` goes to the app)."""
    params: dict[str, Any] = {
        "amount": to_minor(payment.amount, payment.currency),
        "currency": payment.currency.lower(),
        "automatic_payment_methods": {"enabled": True},
        "metadata": _payment_metadata(payment),
        "description": f"Order {payment.order.code}",
    }
    if payment.order.email:
        params["receipt_email"] = payment.order.email
    return _call(
        "payment_intent_create",
        client().v1.payment_intents.create,
        params,
        {"idempotency_key": payment.idempotency_key},
    )


def payment_intent_retrieve(*, payment_intent_id: str) -> dict[str, Any]:
    """The PaymentIntent as Stripe has it now."""
    return _call("payment_intent_retrieve", client().v1.payment_intents.retrieve, payment_intent_id)


def payment_intent_cancel(*, payment_intent_id: str) -> dict[str, Any]:
    """Cancel an unpaid PaymentIntent; Stripe refuses once it is processing or has succeeded."""
    return _call("payment_intent_cancel", client().v1.payment_intents.cancel, payment_intent_id)


def refund_create(*, refund: Refund) -> dict[str, Any]:
    """Give ``refund.amount`` of the refund's payment back to the buyer."""
    payment = refund.payment
    if payment is None or not payment.stripe_payment_intent_id:
        raise PaymentProviderError(
            "This refund has no Stripe payment to take the money from.",
            extra={"stripe_code": "payment_intent_missing"},
        )
    params: dict[str, Any] = {
        "payment_intent": payment.stripe_payment_intent_id,
        "amount": to_minor(refund.amount, refund.currency),
        "metadata": {"order_code": refund.order.code, "refund_id": str(refund.pk)},
    }
    return _call(
        "refund_create",
        client().v1.refunds.create,
        params,
        {"idempotency_key": refund.idempotency_key},
    )


# --- Subscriptions: the "Grasshopper Plus" membership (issue 7; loyalty.services_membership calls these) ---


@dataclass(frozen=True)
class SubscriptionPrice:
    """What a subscription costs: a Price created in the Stripe dashboard (``price_id``), or, without one
    (offline, tests), ``amount`` in ``currency`` billed every ``interval`` under the product ``name``."""

    price_id: str
    amount: Decimal
    currency: str
    name: str
    interval: str = "month"


def customer_create(*, user: User) -> dict[str, Any]:
    """A Stripe Customer for ``user`` (email, name, ``metadata.user_id``). One per user whatever the
    retries: the idempotency key is the user's id (Stripe keeps keys 24 hours; the caller stores the id)."""
    params: dict[str, Any] = {
        "email": user.email,
        "metadata": {"user_id": str(user.pk)},
    }
    if user.full_name:
        params["name"] = user.full_name
    return _call(
        "customer_create",
        client().v1.customers.create,
        params,
        {"idempotency_key": f"gh:user:{user.pk}:customer"},
    )


def subscription_checkout_create(
    *,
    user: User,
    customer_id: str,
    price: SubscriptionPrice,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> dict[str, Any]:
    """A hosted Checkout Session in subscription mode for ``customer_id``: one membership, billed every
    interval until cancelled. ``metadata.kind = "membership"`` and ``user_id`` are on the session and on
    the subscription (``subscription_data.metadata``), so every webhook about it names its user; orders'
    receivers ignore sessions in subscription mode.

    ``idempotency_key``: the caller's (the same key replays Stripe's first answer: a double click gets
    the same session)."""
    metadata = {"kind": "membership", "user_id": str(user.pk)}
    if price.price_id:
        item: dict[str, Any] = {"price": price.price_id, "quantity": 1}
    else:
        item = {
            "quantity": 1,
            "price_data": {
                "currency": price.currency.lower(),
                "unit_amount": to_minor(price.amount, price.currency),
                "recurring": {"interval": price.interval},
                "product_data": {"name": price.name},
            },
        }
    params: dict[str, Any] = {
        "mode": "subscription",
        "customer": customer_id,
        "line_items": [item],
        "client_reference_id": f"user-{user.pk}",
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
    }
    return _call(
        "subscription_checkout_create",
        client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": idempotency_key},
    )


def subscription_cancel_at_period_end(*, subscription_id: str) -> dict[str, Any]:
    """Stop renewing: the subscription stays active until its paid period ends, then Stripe ends it
    (``customer.subscription.deleted``). Stripe answers with the subscription and sends
    ``customer.subscription.updated``."""
    return _call(
        "subscription_cancel_at_period_end",
        client().v1.subscriptions.update,
        subscription_id,
        {"cancel_at_period_end": True},
    )


def subscription_resume(*, subscription_id: str) -> dict[str, Any]:
    """Undo ``subscription_cancel_at_period_end`` while the period runs: it renews again."""
    return _call(
        "subscription_resume",
        client().v1.subscriptions.update,
        subscription_id,
        {"cancel_at_period_end": False},
    )

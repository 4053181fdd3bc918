"""The gateway sends what Stripe needs (pinned version, our idempotency keys, metadata, minor units) and
turns Stripe's failures into our errors. Read from the fake's request log: what really went on the wire."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from orders import gateway
from orders.exceptions import PaymentDeclined, PaymentProviderError
from orders.models import Payment, Refund
from orders.stripe_fake import FakeStripe
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _payment(*, currency: str = "EUR", total: str = "27.50", kind: str = Payment.Kind.CHECKOUT) -> Payment:
    order = OrderFactory(currency=currency, subtotal=Decimal(total), total=Decimal(total))
    return Payment.objects.create(
        order=order,
        kind=kind,
        amount=order.total,
        currency=order.currency,
        idempotency_key=f"gh:order:{order.code}:{'cs' if kind == Payment.Kind.CHECKOUT else 'pi'}:1",
    )


def _checkout(payment: Payment, *, expires_in: timedelta = timedelta(minutes=15)) -> dict[str, object]:
    return gateway.checkout_session_create(
        payment=payment,
        success_url=f"https://tickets.example.com/orders/{payment.order.code}/",
        cancel_url=f"https://tickets.example.com/orders/{payment.order.code}/pay/",
        expires_at=timezone.now() + expires_in,
    )


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("27.50", "EUR", 2750),
        ("0.01", "eur", 1),
        ("19.999", "EUR", 2000),
        ("3000", "JPY", 3000),
        ("1500", "krw", 1500),
    ],
)
def test_minor_units_follow_the_currency(amount: str, currency: str, minor: int) -> None:
    assert gateway.to_minor(Decimal(amount), currency) == minor
    assert gateway.from_minor(minor, currency) == Decimal(minor) / (
        1 if currency.lower() in ("jpy", "krw") else 100
    )


def test_from_minor_gives_cents_for_eur_and_whole_yen() -> None:
    assert gateway.from_minor(2750, "EUR") == Decimal("27.50")
    assert str(gateway.from_minor(2750, "EUR")) == "27.50"
    assert gateway.from_minor(3000, "JPY") == Decimal("3000")


def test_checkout_session_carries_version_key_metadata_and_the_order(fake_stripe: FakeStripe) -> None:
    payment = _payment()

    session = _checkout(payment)

    assert isinstance(session, dict)
    [request] = fake_stripe.request_log
    assert (request.method, request.path) == ("POST", "/v1/checkout/sessions")
    assert request.headers["Stripe-Version"] == settings.STRIPE_API_VERSION == "2026-05-27.dahlia"
    assert request.idempotency_key == payment.idempotency_key
    order = payment.order
    metadata = {"order_code": order.code, "event_id": str(order.event_id), "payment_id": str(payment.pk)}
    assert request.params["metadata"] == metadata
    assert request.params["payment_intent_data"] == {"metadata": metadata}
    assert request.params["client_reference_id"] == order.code
    assert request.params["mode"] == "payment"
    [item] = request.params["line_items"]
    assert item["quantity"] == "1"
    assert item["price_data"]["unit_amount"] == "2750"
    assert item["price_data"]["currency"] == "eur"
    assert item["price_data"]["product_data"]["name"] == f"Order {order.code} — {order.event.title}"
    assert session["amount_total"] == 2750
    assert session["metadata"] == metadata
    assert session["url"].startswith("https://checkout.stripe.com/")


def test_a_short_hold_still_gets_stripes_30_minute_minimum(fake_stripe: FakeStripe) -> None:
    session = _checkout(_payment(), expires_in=timedelta(minutes=15))

    assert session["expires_at"] >= time.time() + 30 * 60


def test_retrying_the_same_payment_replays_the_same_session(fake_stripe: FakeStripe) -> None:
    payment = _payment()
    first = _checkout(payment)

    again = gateway.checkout_session_create(
        payment=payment,
        success_url=f"https://tickets.example.com/orders/{payment.order.code}/",
        cancel_url=f"https://tickets.example.com/orders/{payment.order.code}/pay/",
        expires_at=datetime.fromtimestamp(
            first["expires_at"], tz=UTC
        ),  # the same parameters, as a retry sends
    )

    assert again["id"] == first["id"]
    assert fake_stripe.request_log[-1].replayed is True


def test_yen_are_sent_as_whole_units(fake_stripe: FakeStripe) -> None:
    payment = _payment(currency="JPY", total="3000", kind=Payment.Kind.INTENT)

    intent = gateway.payment_intent_create(payment=payment)

    [request] = fake_stripe.request_log
    assert request.params["amount"] == "3000"
    assert request.params["currency"] == "jpy"
    assert request.params["automatic_payment_methods"] == {"enabled": "true"}
    assert request.params["metadata"]["order_code"] == payment.order.code
    assert request.idempotency_key == payment.idempotency_key
    assert request.headers["Stripe-Version"] == settings.STRIPE_API_VERSION
    assert intent["amount"] == 3000
    assert intent["client_secret"].startswith(intent["id"] + "_secret_")


def test_refund_sends_minor_units_key_and_metadata(fake_stripe: FakeStripe) -> None:
    payment = _payment(kind=Payment.Kind.INTENT)
    intent = gateway.payment_intent_create(payment=payment)
    fake_stripe.pay(payment_intent_id=intent["id"])
    payment.stripe_payment_intent_id = intent["id"]
    payment.save(update_fields=["stripe_payment_intent_id"])
    refund = Refund.objects.create(
        order=payment.order,
        payment=payment,
        source=Refund.Source.STAFF,
        amount=Decimal("12.25"),
        currency="EUR",
        idempotency_key="gh:refund:pending",
    )

    answer = gateway.refund_create(refund=refund)

    request = fake_stripe.request_log[-1]
    assert (request.method, request.path) == ("POST", "/v1/refunds")
    assert request.params["payment_intent"] == intent["id"]
    assert request.params["amount"] == "1225"
    assert request.params["metadata"] == {"order_code": payment.order.code, "refund_id": str(refund.pk)}
    assert request.idempotency_key == "gh:refund:pending"
    assert answer["status"] == "succeeded"
    assert answer["amount"] == 1225


def test_retrieve_expire_and_cancel_return_plain_dicts(fake_stripe: FakeStripe) -> None:
    session = _checkout(_payment())
    intent = gateway.payment_intent_create(payment=_payment(kind=Payment.Kind.INTENT))

    assert gateway.checkout_session_retrieve(session_id=session["id"])["status"] == "open"
    assert gateway.checkout_session_expire(session_id=session["id"])["status"] == "expired"
    assert (
        gateway.payment_intent_retrieve(payment_intent_id=intent["id"])["status"] == "requires_payment_method"
    )
    cancelled = gateway.payment_intent_cancel(payment_intent_id=intent["id"])
    assert type(cancelled) is dict
    assert cancelled["status"] == "canceled"


def test_stripe_errors_become_payment_provider_error(fake_stripe: FakeStripe) -> None:
    with pytest.raises(PaymentProviderError) as raised:
        gateway.payment_intent_retrieve(payment_intent_id="pi_unknown00000000000000000")

    assert raised.value.code == "payment_provider_error"
    assert raised.value.status == 502
    assert raised.value.extra["stripe_code"] == "resource_missing"


def test_an_expired_session_cannot_be_expired_again(fake_stripe: FakeStripe) -> None:
    session = _checkout(_payment())
    gateway.checkout_session_expire(session_id=session["id"])

    with pytest.raises(PaymentProviderError):
        gateway.checkout_session_expire(session_id=session["id"])


def test_a_card_error_becomes_payment_declined(fake_stripe: FakeStripe) -> None:
    fake_stripe.fail_next(
        "POST",
        "/v1/payment_intents",
        status=402,
        error_type="card_error",
        code="card_declined",
        decline_code="insufficient_funds",
        message="Your card has insufficient funds.",
    )

    with pytest.raises(PaymentDeclined) as raised:
        gateway.payment_intent_create(payment=_payment(kind=Payment.Kind.INTENT))

    assert raised.value.code == "payment_declined"
    assert raised.value.status == 402
    assert raised.value.message == "Your card has insufficient funds."
    assert raised.value.extra == {"stripe_code": "card_declined", "decline_code": "insufficient_funds"}


def test_stripe_unreachable_is_payment_provider_error_at_once() -> None:
    """Without the fake (tests never reach the network) a call fails fast, as a network outage does."""
    started = time.monotonic()

    with pytest.raises(PaymentProviderError) as raised:
        gateway.payment_intent_retrieve(payment_intent_id="pi_x")

    assert raised.value.extra["stripe_code"] == "APIConnectionError"
    assert time.monotonic() - started < 1


def test_the_client_uses_the_installed_transport_and_no_retries_with_the_fake(
    fake_stripe: FakeStripe,
) -> None:
    built = gateway.client()

    assert gateway.client() is built  # cached while settings and transport hold
    gateway.payment_intent_create(payment=_payment(kind=Payment.Kind.INTENT))
    assert fake_stripe.request_log[0].headers["Authorization"] == f"Bearer {settings.STRIPE_SECRET_KEY}"
    assert gateway.publishable_key() == settings.STRIPE_PUBLISHABLE_KEY

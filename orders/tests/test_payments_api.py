"""``POST /api/v1/orders/{code}/pay/``: the mobile app's PaymentIntent client secret and publishable key,
the order paid by Stripe's webhook (through the fake Stripe and the real dj-stripe URL), and the refusals:
409 for an order with nothing to pay, 404 for someone else's, 502 when Stripe is unreachable, 429."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import VerifiedUserFactory
from accounts.tests.helpers import api_client as api
from events.models import TicketType
from orders.models import Order, Payment
from orders.services import order_expire
from orders.stripe_fake import FakeStripe
from orders.tests.factories import place_order, ticket_type_on_sale
from orders.tests.payments_helpers import Deliver, counters, deliver_all, stripe_calls

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ORDERS_RATE_LIMIT = "1000/m"


def pay(client: APIClient, order: Order) -> Any:
    return client.post(f"/api/v1/orders/{order.code}/pay/")


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
def buyer() -> User:
    return VerifiedUserFactory()


@pytest.fixture
def tt() -> TicketType:
    return ticket_type_on_sale(capacity=10)


def test_pay_returns_the_client_secret_and_key_and_the_webhook_pays_the_order(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, buyer: User, tt: TicketType
) -> None:
    order = place_order(tt, 2, buyer=buyer)
    client = api(buyer)

    response = pay(client, order)

    assert response.status_code == 200, response.content
    data = response.json()
    intent = fake_stripe.get(data["payment_intent"])
    assert data == {
        "order": order.code,
        "client_secret": intent["client_secret"],
        "publishable_key": "pk_test_GrasshopperTestSuite0000000",
        "payment_intent": intent["id"],
        "amount": "55.00",
        "currency": "EUR",
    }
    assert (intent["amount"], intent["currency"]) == (5500, "eur")
    assert intent["metadata"]["order_code"] == order.code
    payment = Payment.objects.get(order=order)
    assert (payment.kind, payment.status, payment.stripe_payment_intent_id) == (
        "intent",
        "open",
        intent["id"],
    )
    # Asking again (the app restarted) gives the same intent, no second one at Stripe.
    assert pay(client, order).json()["client_secret"] == data["client_secret"]
    assert len(stripe_calls(fake_stripe, "POST", "/v1/payment_intents")) == 1
    # The app's word is not enough: still pending until Stripe tells the server.
    assert client.get(f"/api/v1/orders/{order.code}/").json()["status"] == "pending"

    deliver_all(stripe_deliver, fake_stripe.pay(payment_intent_id=intent["id"]))

    detail = client.get(f"/api/v1/orders/{order.code}/").json()
    assert detail["status"] == "paid"
    assert len(detail["tickets"]) == 2
    assert counters(tt) == (2, 0)


def test_nothing_to_pay_is_409(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, buyer: User, tt: TicketType
) -> None:
    client = api(buyer)
    free = place_order(ticket_type_on_sale(price="0", fee="0"), 1, buyer=buyer)
    assert free.status == Order.Status.PAID  # a free order is paid at once
    problem(pay(client, free), 409, "payment_not_needed")

    paid = place_order(tt, 1, buyer=buyer)
    intent = pay(client, paid).json()["payment_intent"]
    deliver_all(stripe_deliver, fake_stripe.pay(payment_intent_id=intent))
    problem(pay(client, paid), 409, "payment_not_needed")

    expired = place_order(tt, 1, buyer=buyer)
    later = timezone.now() + timedelta(hours=1)
    order_expire(order=expired, now=later)
    problem(pay(client, expired), 409, "payment_not_needed")

    lapsing = place_order(tt, 1, buyer=buyer)  # the hold ended, the sweep has not run yet
    Order.objects.filter(pk=lapsing.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    problem(pay(client, lapsing), 409, "hold_expired")

    assert Payment.objects.filter(order__in=[free, expired, lapsing]).count() == 0


def test_someone_elses_order_is_404_and_anonymous_is_refused(
    fake_stripe: FakeStripe, buyer: User, tt: TicketType
) -> None:
    order = place_order(tt, 1, buyer=buyer)
    guest_order = place_order(tt, 1)

    problem(pay(api(VerifiedUserFactory()), order), 404, "order_not_found")
    problem(pay(api(buyer), guest_order), 404, "order_not_found")
    assert pay(api(), order).status_code in (401, 403)
    assert fake_stripe.requests == []
    assert not Payment.objects.exists()


def test_stripe_unreachable_is_502_and_the_order_stays_pending(buyer: User, tt: TicketType) -> None:
    order = place_order(tt, 1, buyer=buyer)  # no fake_stripe: Stripe cannot be reached

    # A 5xx is also reported as an exception (logs, Sentry): the test client must not re-raise it.
    body = problem(pay(api(buyer, raise_request_exception=False), order), 502, "payment_provider_error")

    assert "try again" in body["detail"]

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert counters(tt) == (0, 1)


def test_paying_is_rate_limited_per_user(
    fake_stripe: FakeStripe, buyer: User, tt: TicketType, settings: Any
) -> None:
    settings.ORDERS_RATE_LIMIT = "2/m"
    order = place_order(tt, 1, buyer=buyer)
    client = api(buyer)
    assert pay(client, order).status_code == 200
    assert pay(client, order).status_code == 200

    refused = pay(client, order)

    problem(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_the_schema_documents_pay(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/orders/{code}/pay/"]["post"]
    assert operation["operationId"] == "orders_pay"
    assert set(operation["responses"]) >= {"200", "404", "409", "502"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    fields = schema["components"]["schemas"][ok]["properties"]
    assert {"client_secret", "publishable_key", "payment_intent", "amount", "currency"} <= set(fields)

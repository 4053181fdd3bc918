"""The fake Stripe behaves like Stripe where our code depends on it: idempotency, 404s, the shape and
order of the events its simulators produce, and a process-wide instance safe under threads."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import stripe
from django.test import override_settings

from orders.stripe_fake import FakeStripe, FakeStripeError, decode_form, offline_fake

API_VERSION = "2026-05-27.dahlia"


@pytest.fixture
def client(fake_stripe: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_" + "x" * 24,
        http_client=fake_stripe.transport,
        stripe_version=API_VERSION,
        max_network_retries=0,
    )


def _session_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 5500,
                    "product_data": {"name": "Order AB12"},
                },
            }
        ],
        "client_reference_id": "AB12",
        "success_url": "https://tickets.example.com/orders/AB12/",
        "cancel_url": "https://tickets.example.com/orders/AB12/pay/",
        "expires_at": int(time.time()) + 1900,
        "metadata": {"order_code": "AB12", "event_id": "7", "payment_id": "3"},
        "payment_intent_data": {"metadata": {"order_code": "AB12", "event_id": "7", "payment_id": "3"}},
    }
    params.update(overrides)
    return params


def test_same_idempotency_key_and_body_replays_the_first_answer(
    client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    first = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "eur", "metadata": {"order_code": "X"}}, {"idempotency_key": "gh:k1"}
    )
    again = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "eur", "metadata": {"order_code": "X"}}, {"idempotency_key": "gh:k1"}
    )

    assert again.id == first.id
    assert again.client_secret == first.client_secret
    intents = [o for o in fake_stripe.objects.values() if o["object"] == "payment_intent"]
    assert len(intents) == 1
    assert [r.replayed for r in fake_stripe.request_log] == [False, True]


def test_same_idempotency_key_with_another_body_is_an_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.payment_intents.create({"amount": 1000, "currency": "eur"}, {"idempotency_key": "gh:k2"})

    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.payment_intents.create({"amount": 1200, "currency": "eur"}, {"idempotency_key": "gh:k2"})
    assert raised.value.http_status == 400

    with pytest.raises(stripe.IdempotencyError):  # the same key on another endpoint is refused too
        client.v1.checkout.sessions.create(_session_params(), {"idempotency_key": "gh:k2"})


def test_a_request_that_failed_validation_is_not_saved_under_its_key(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.create({"amount": 0, "currency": "eur"}, {"idempotency_key": "gh:k3"})

    intent = client.v1.payment_intents.create(
        {"amount": 500, "currency": "eur"}, {"idempotency_key": "gh:k3"}
    )
    assert intent.status == "requires_payment_method"


def test_unknown_ids_are_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.retrieve("pi_doesnotexist000000000000")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert "No such payment_intent" in str(raised.value)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.retrieve("pi_wrongkind")  # an id of another kind is missing too
    assert raised.value.code == "resource_missing"


def test_form_decoding_rebuilds_nested_params() -> None:
    decoded = decode_form(
        "line_items[0][price_data][currency]=eur&line_items[0][quantity]=2&line_items[1][quantity]=1"
        "&metadata[order_code]=AB12&expand[0]=line_items&expand[1]=payment_intent&mode=payment"
    )

    assert decoded == {
        "line_items": [{"price_data": {"currency": "eur"}, "quantity": "2"}, {"quantity": "1"}],
        "metadata": {"order_code": "AB12"},
        "expand": ["line_items", "payment_intent"],
        "mode": "payment",
    }


def test_paying_a_session_sends_completed_then_intent_and_charge_events(
    client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = client.v1.checkout.sessions.create(_session_params(), {"idempotency_key": "gh:order:AB12:cs:1"})
    assert session.payment_intent is None  # Stripe creates it when the buyer pays
    assert session.status == "open"
    assert session.payment_status == "unpaid"

    events = fake_stripe.pay(checkout_session_id=session.id)

    assert [e["type"] for e in events] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
    ]
    for event in events:
        assert event["id"].startswith("evt_")
        assert event["object"] == "event"
        assert event["livemode"] is False
        assert event["api_version"] == API_VERSION
        assert isinstance(event["created"], int)
    completed, succeeded, charged = (e["data"]["object"] for e in events)
    assert completed["id"] == session.id
    assert completed["payment_status"] == "paid"
    assert completed["status"] == "complete"
    assert completed["amount_total"] == 5500
    assert completed["currency"] == "eur"
    assert completed["client_reference_id"] == "AB12"
    assert completed["metadata"] == {"order_code": "AB12", "event_id": "7", "payment_id": "3"}
    assert completed["payment_intent"] == succeeded["id"]
    assert "_payment_intent_data" not in completed
    assert succeeded["status"] == "succeeded"
    assert succeeded["amount"] == succeeded["amount_received"] == 5500
    assert succeeded["metadata"] == {"order_code": "AB12", "event_id": "7", "payment_id": "3"}
    assert succeeded["latest_charge"] == charged["id"]
    assert charged["payment_intent"] == succeeded["id"]
    assert charged["paid"] is True
    assert charged["amount_refunded"] == 0
    assert charged["refunded"] is False
    # The API now answers with the same state.
    assert client.v1.payment_intents.retrieve(succeeded["id"]).status == "succeeded"
    with pytest.raises(FakeStripeError):
        fake_stripe.pay(checkout_session_id=session.id)


def test_a_decline_leaves_the_session_open_and_the_intent_retryable(
    client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = client.v1.checkout.sessions.create(_session_params())

    events = fake_stripe.decline(checkout_session_id=session.id)

    assert [e["type"] for e in events] == ["payment_intent.payment_failed", "charge.failed"]
    intent = events[0]["data"]["object"]
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["code"] == "card_declined"
    assert events[1]["data"]["object"]["status"] == "failed"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    # The buyer tries another card: same intent, now paid.
    paid = fake_stripe.pay(checkout_session_id=session.id)
    assert paid[1]["data"]["object"]["id"] == intent["id"]


def test_expiring_a_session_through_the_api_queues_the_expired_event(
    client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = client.v1.checkout.sessions.create(_session_params())

    expired = client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert expired.url is None
    [event] = fake_stripe.pending_events()
    assert event["type"] == "checkout.session.expired"
    assert event["data"]["object"]["id"] == session.id
    assert fake_stripe.pending_events() == []  # drained
    with pytest.raises(stripe.InvalidRequestError):  # only an open session can be expired
        client.v1.checkout.sessions.expire(session.id)
    with pytest.raises(FakeStripeError):
        fake_stripe.pay(checkout_session_id=session.id)


def test_the_simulated_expiry_returns_its_event(client: stripe.StripeClient, fake_stripe: FakeStripe) -> None:
    session = client.v1.checkout.sessions.create(_session_params())

    [event] = fake_stripe.expire_session(session.id)

    assert event["type"] == "checkout.session.expired"
    assert event["data"]["object"]["status"] == "expired"


def test_api_refunds_are_partial_cumulative_and_bounded(
    client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    intent = client.v1.payment_intents.create({"amount": 9000, "currency": "eur"})
    fake_stripe.pay(payment_intent_id=intent.id)

    first = client.v1.refunds.create(
        {"payment_intent": intent.id, "amount": 3000, "metadata": {"refund_id": "1"}},
        {"idempotency_key": "gh:refund:1"},
    )
    created, refunded = fake_stripe.pending_events()
    second = client.v1.refunds.create({"payment_intent": intent.id, "amount": 3000})
    _, refunded_again = fake_stripe.pending_events()

    assert first.status == "succeeded"
    assert first.amount == 3000
    assert first.payment_intent == intent.id
    assert created["type"] == "refund.created"
    assert created["data"]["object"]["metadata"] == {"refund_id": "1"}
    assert refunded["type"] == "charge.refunded"
    assert refunded["data"]["object"]["amount_refunded"] == 3000
    assert refunded["data"]["object"]["refunded"] is False
    assert refunded_again["data"]["object"]["amount_refunded"] == 6000
    assert {r["id"] for r in refunded_again["data"]["object"]["refunds"]["data"]} == {first.id, second.id}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create({"payment_intent": intent.id, "amount": 3001})
    assert raised.value.code == "amount_too_large"
    rest = client.v1.refunds.create({"payment_intent": intent.id})  # no amount: everything left
    assert rest.amount == 3000
    assert fake_stripe.pending_events()[1]["data"]["object"]["refunded"] is True


def test_a_dashboard_refund_carries_no_metadata_of_ours(
    client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 4000, "currency": "eur", "metadata": {"order_code": "Z"}}
    )
    fake_stripe.pay(payment_intent_id=intent.id)

    created, refunded = fake_stripe.refund(payment_intent_id=intent.id, amount=1500)

    assert (created["type"], refunded["type"]) == ("refund.created", "charge.refunded")
    assert created["data"]["object"]["metadata"] == {}
    assert created["data"]["object"]["amount"] == 1500
    assert refunded["data"]["object"]["amount_refunded"] == 1500
    assert refunded["data"]["object"]["metadata"] == {"order_code": "Z"}  # the charge keeps the intent's


def test_a_failed_refund_gives_the_amount_back_to_the_charge(
    client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    intent = client.v1.payment_intents.create({"amount": 4000, "currency": "eur"})
    fake_stripe.pay(payment_intent_id=intent.id)
    refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 4000})

    failed, updated = fake_stripe.fail_refund(refund.id)

    assert (failed["type"], updated["type"]) == ("refund.failed", "refund.updated")
    assert failed["data"]["object"]["status"] == "failed"
    assert failed["data"]["object"]["failure_reason"] == "expired_or_canceled_card"
    charge = client.v1.charges.retrieve(failed["data"]["object"]["charge"])
    assert charge.amount_refunded == 0
    assert charge.refunded is False


def test_a_dispute_is_created_then_closed(client: stripe.StripeClient, fake_stripe: FakeStripe) -> None:
    intent = client.v1.payment_intents.create({"amount": 4000, "currency": "eur"})
    fake_stripe.pay(payment_intent_id=intent.id)

    [created] = fake_stripe.dispute(payment_intent_id=intent.id)
    [closed] = fake_stripe.dispute(payment_intent_id=intent.id, close_as="lost")

    assert created["type"] == "charge.dispute.created"
    assert created["data"]["object"]["status"] == "needs_response"
    assert created["data"]["object"]["payment_intent"] == intent.id
    assert closed["type"] == "charge.dispute.closed"
    assert closed["data"]["object"]["id"] == created["data"]["object"]["id"]
    assert closed["data"]["object"]["status"] == "lost"


def test_expand_is_tolerated_and_fills_known_objects(
    client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    session = client.v1.checkout.sessions.create(_session_params())
    fake_stripe.pay(checkout_session_id=session.id)

    expanded = client.v1.checkout.sessions.retrieve(
        session.id, {"expand": ["line_items", "payment_intent", "total_details.breakdown", "nonsense.path"]}
    )

    assert expanded.line_items.data[0].amount_total == 5500
    assert expanded.payment_intent.object == "payment_intent"
    assert expanded.total_details.breakdown.discounts == []


def test_the_account_answers_for_dj_stripe(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.retrieve_current()
    assert account.object == "account"
    assert account.id.startswith("acct_")


def test_checkout_url_is_stripe_online_and_the_local_page_offline(
    client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    online = client.v1.checkout.sessions.create(_session_params())
    with override_settings(STRIPE_OFFLINE=True, SITE_URL="http://127.0.0.1:8000"):
        offline = client.v1.checkout.sessions.create(_session_params())

    assert online.url == f"https://checkout.stripe.com/c/pay/{online.id}"
    assert offline.url == f"http://127.0.0.1:8000/_fakestripe/checkout/{offline.id}/"


def test_fail_next_injects_a_stripe_error(client: stripe.StripeClient, fake_stripe: FakeStripe) -> None:
    fake_stripe.fail_next(
        "POST", "/v1/payment_intents", status=402, error_type="card_error", code="card_declined"
    )

    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create({"amount": 100, "currency": "eur"})
    assert client.v1.payment_intents.create({"amount": 100, "currency": "eur"}).status  # only once


def test_offline_fake_is_one_instance_safe_under_threads() -> None:
    fake = offline_fake()
    assert offline_fake() is fake
    client = stripe.StripeClient("sk_test_" + "x" * 24, http_client=fake.transport, max_network_retries=0)
    run = uuid.uuid4().hex  # the instance lives as long as the process: keys of this run only
    ids: list[str] = []
    errors: list[BaseException] = []

    def create(n: int) -> None:
        try:
            # Half the threads share one key: all of them must get the same intent back.
            key = f"gh:{run}:shared" if n % 2 else f"gh:{run}:own:{n}"
            ids.append(
                client.v1.payment_intents.create(
                    {"amount": 100, "currency": "eur"}, {"idempotency_key": key}
                ).id
            )
        except BaseException as error:
            errors.append(error)

    before = sum(1 for o in fake.objects.values() if o["object"] == "payment_intent")
    threads = [threading.Thread(target=create, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    after = sum(1 for o in fake.objects.values() if o["object"] == "payment_intent")
    assert after - before == 9  # 8 own keys + the shared one
    assert len(ids) == 16
    assert len(set(ids)) == 9

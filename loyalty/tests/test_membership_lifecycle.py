"""The membership ("Grasshopper Plus") through its whole life, as Stripe drives it: signed webhooks from the
fake Stripe, delivered to the real dj-stripe URL (dj-stripe verifies, stores, re-fetches each object from
the fake, then our receivers keep accounts.Membership current)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Membership
from accounts.selectors import membership_active
from accounts.tests.factories import UserFactory
from loyalty.exceptions import (
    MembershipAlreadyActive,
    MembershipAlreadyCancelling,
    MembershipNotActive,
    MembershipNotCancelling,
)
from loyalty.services_membership import (
    membership_cancel,
    membership_checkout_start,
    membership_resume,
    membership_subscription_changed,
)
from orders.models import Order
from orders.stripe_fake import FakeStripe
from orders.tests.payments_helpers import CANCEL_URL, SUCCESS_URL, Deliver, deliver_all, stripe_calls

pytestmark = pytest.mark.django_db
MS = Membership.Status


def _join(fake: FakeStripe, deliver: Deliver, user: Any) -> str:
    """The user clicks "Join", pays on Stripe's page; every event Stripe sends is delivered."""
    url = membership_checkout_start(user=user, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    deliver_all(deliver, fake.subscribe(checkout_session_id=session_id))
    return str(fake.get(session_id)["subscription"])


def _period_end(fake: FakeStripe, subscription_id: str) -> datetime:
    item = fake.get(subscription_id)["items"]["data"][0]
    return datetime.fromtimestamp(item["current_period_end"], tz=UTC)


def test_subscribe_renew_cancel_at_period_end_then_deleted(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    user = UserFactory()
    assert not membership_active(user=user)

    # Join: Checkout in subscription mode for the user's (new) Stripe customer, metadata naming the user.
    url = membership_checkout_start(user=user, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    (create,) = stripe_calls(fake_stripe, "POST", "/v1/checkout/sessions")
    params = create[2]
    assert params["mode"] == "subscription"
    assert params["metadata"] == {"kind": "membership", "user_id": str(user.pk)}
    assert params["subscription_data"]["metadata"] == params["metadata"]
    membership = Membership.objects.get(user=user)
    assert membership.status == MS.INCOMPLETE  # nothing paid yet: no benefits
    assert params["customer"] == membership.stripe_customer_id
    assert fake_stripe.get(membership.stripe_customer_id)["email"] == user.email
    assert not membership_active(user=user)

    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    events = fake_stripe.subscribe(checkout_session_id=session_id)
    assert [e["type"] for e in events] == [
        "customer.subscription.created",
        "invoice.paid",
        "invoice.payment_succeeded",
        "checkout.session.completed",
    ]
    deliver_all(stripe_deliver, events)
    subscription_id = str(fake_stripe.get(session_id)["subscription"])
    membership.refresh_from_db()
    assert (membership.status, membership.stripe_subscription_id) == (MS.ACTIVE, subscription_id)
    first_end = _period_end(fake_stripe, subscription_id)
    assert membership.current_period_end == first_end
    assert first_end > timezone.now() + timedelta(days=27)
    assert membership_active(user=user)
    assert not Order.objects.exists()  # orders' receiver ignored the subscription-mode session

    # Renewal: the next month is paid; the membership runs a month longer.
    deliver_all(stripe_deliver, fake_stripe.renew(subscription_id=subscription_id))
    membership.refresh_from_db()
    assert membership.current_period_end == _period_end(fake_stripe, subscription_id) > first_end
    assert membership_active(user=user, now=first_end + timedelta(days=1))

    # Cancel at period end (the member's button): still a member until the paid period ends.
    membership_cancel(user=user)
    assert fake_stripe.get(subscription_id)["cancel_at_period_end"] is True
    membership.refresh_from_db()
    assert membership.cancel_at_period_end  # at once, from Stripe's answer
    assert membership_active(user=user)
    assert not membership_active(user=user, now=membership.current_period_end)
    deliver_all(stripe_deliver, fake_stripe.pending_events())  # customer.subscription.updated: no-op
    membership.refresh_from_db()
    assert (membership.status, membership.cancel_at_period_end) == (MS.ACTIVE, True)

    # The period runs out: Stripe ends the subscription.
    deliver_all(stripe_deliver, fake_stripe.cancel(subscription_id=subscription_id))
    membership.refresh_from_db()
    assert membership.status == MS.CANCELED
    assert not membership.cancel_at_period_end
    assert not membership_active(user=user)


def test_events_out_of_order_and_twice_end_in_stripes_state(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    user = UserFactory()
    url = membership_checkout_start(user=user, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    events = fake_stripe.subscribe(checkout_session_id=url.rstrip("/").rsplit("/", 1)[-1])
    deliver_all(stripe_deliver, list(reversed(events)))
    deliver_all(stripe_deliver, events)  # Stripe retries: dj-stripe drops the repeated event ids
    membership = Membership.objects.get(user=user)
    assert membership.status == MS.ACTIVE
    assert membership_active(user=user)


def test_a_failed_renewal_pauses_the_benefits_and_a_paid_invoice_restores_them(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    user = UserFactory()
    subscription_id = _join(fake_stripe, stripe_deliver, user)
    events = fake_stripe.fail_renewal(subscription_id=subscription_id)
    assert [e["type"] for e in events] == ["invoice.payment_failed", "customer.subscription.updated"]
    deliver_all(stripe_deliver, events)
    membership = Membership.objects.get(user=user)
    assert membership.status == MS.PAST_DUE
    assert not membership_active(user=user)
    # Stripe's retry goes through: the invoice is paid (and the subscription active again).
    deliver_all(stripe_deliver, fake_stripe.renew(subscription_id=subscription_id))
    membership.refresh_from_db()
    assert membership.status == MS.ACTIVE
    assert membership_active(user=user)


def test_keep_undoes_a_cancellation_and_the_buttons_refuse_what_makes_no_sense(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    user = UserFactory()
    with pytest.raises(MembershipNotActive):
        membership_cancel(user=user)
    subscription_id = _join(fake_stripe, stripe_deliver, user)
    with pytest.raises(MembershipAlreadyActive):  # a second subscription would charge twice
        membership_checkout_start(user=user, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    with pytest.raises(MembershipNotCancelling):
        membership_resume(user=user)

    membership_cancel(user=user)
    with pytest.raises(MembershipAlreadyCancelling):
        membership_cancel(user=user)
    with pytest.raises(MembershipAlreadyActive):  # still a member until the period ends
        membership_checkout_start(user=user, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    membership = membership_resume(user=user)
    assert not membership.cancel_at_period_end
    assert fake_stripe.get(subscription_id)["cancel_at_period_end"] is False
    deliver_all(stripe_deliver, fake_stripe.pending_events())
    deliver_all(stripe_deliver, fake_stripe.renew(subscription_id=subscription_id))  # it renews again
    membership.refresh_from_db()
    assert (membership.status, membership.cancel_at_period_end) == (MS.ACTIVE, False)


def test_stripe_unreachable_on_join_changes_nothing_and_the_next_click_works(fake_stripe: FakeStripe) -> None:
    from orders.exceptions import PaymentProviderError

    user = UserFactory()
    fake_stripe.fail_next("POST", "/v1/customers", status=500)
    with pytest.raises(PaymentProviderError):
        membership_checkout_start(user=user, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    assert Membership.objects.get(user=user).stripe_customer_id == ""
    membership_checkout_start(user=user, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    membership_checkout_start(user=user, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)  # a second click
    customers = [o for o in fake_stripe.objects.values() if o.get("object") == "customer"]
    assert len(customers) == 1  # one Stripe customer per user, whatever the clicks
    assert Membership.objects.get(user=user).stripe_customer_id == customers[0]["id"]


def test_subscriptions_that_are_not_ours_are_ignored(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    # Made in the Stripe dashboard for a customer we never created: no user to give it to.
    customer = fake_stripe._customer_create({"email": "stranger@example.com"})
    price = fake_stripe._price_from_params(
        {"price_data": {"currency": "eur", "unit_amount": "499", "recurring": {"interval": "month"}}}
    )
    subscription = fake_stripe._subscription_create(customer=customer, price=price, quantity=1, metadata={})
    deliver_all(stripe_deliver, fake_stripe.cancel(subscription_id=subscription["id"], at_period_end=True))
    assert not Membership.objects.exists()


def test_a_second_paid_subscription_is_reported_and_the_running_one_kept(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.WARNING, logger="security")
    user = UserFactory()
    first = _join(fake_stripe, stripe_deliver, user)
    # Two tabs: a second session was opened before the first was paid, and is paid too.
    Membership.objects.filter(user=user).update(status=MS.INCOMPLETE)
    url = membership_checkout_start(
        user=user, success_url=SUCCESS_URL, cancel_url=CANCEL_URL, now=timezone.now() + timedelta(minutes=2)
    )
    Membership.objects.filter(user=user).update(status=MS.ACTIVE)
    deliver_all(stripe_deliver, fake_stripe.subscribe(checkout_session_id=url.rstrip("/").rsplit("/", 1)[-1]))
    membership = Membership.objects.get(user=user)
    assert membership.stripe_subscription_id == first
    assert [r.msg["event"] for r in caplog.records if r.name == "security"] == [
        "membership_second_subscription"
    ]
    # The end of the first one ends the membership; news of the second does not revive it by itself...
    deliver_all(stripe_deliver, fake_stripe.cancel(subscription_id=first))
    membership.refresh_from_db()
    assert membership.status == MS.CANCELED


def test_news_of_an_older_subscription_does_not_end_the_current_one(
    fake_stripe: FakeStripe, stripe_deliver: Deliver
) -> None:
    user = UserFactory()
    old = _join(fake_stripe, stripe_deliver, user)
    deliver_all(stripe_deliver, fake_stripe.cancel(subscription_id=old))
    new = _join(fake_stripe, stripe_deliver, user)
    assert new != old
    membership = Membership.objects.get(user=user)
    assert (membership.stripe_subscription_id, membership.status) == (new, MS.ACTIVE)
    # A late copy of the old subscription's end (Stripe re-sends it): the current one is untouched.
    membership_subscription_changed(subscription=fake_stripe.get(old))
    membership.refresh_from_db()
    assert (membership.stripe_subscription_id, membership.status) == (new, MS.ACTIVE)
    assert membership_active(user=user)

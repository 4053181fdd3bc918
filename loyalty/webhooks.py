"""Stripe webhooks of the membership: dj-stripe receivers, thin. Each reads the object and calls one service
(loyalty.services_membership).

dj-stripe verifies the signature, stores each event once, and re-fetches subscriptions, invoices and
sessions from Stripe BEFORE these receivers run: they decide on that synced, current state
(``stripe_data``), not on the event's snapshot, so events arriving out of order do no harm. Everything
runs in dj-stripe's transaction: an exception rolls the event back, answers 500, and Stripe retries.
Connected by ``LoyaltyConfig.ready()``. Checkout Sessions in payment mode are orders' (orders.webhooks),
which in turn ignores sessions in subscription mode.
"""

from __future__ import annotations

from typing import Any

from djstripe import models as djstripe_models
from djstripe.event_handlers import djstripe_receiver

from loyalty.services_membership import (
    membership_checkout_completed,
    membership_invoice_paid,
    membership_subscription_changed,
)


def _synced(model: type[djstripe_models.StripeModel], event: djstripe_models.Event) -> dict[str, Any]:
    """The object as dj-stripe has just synced it from Stripe; the event's snapshot if it has none."""
    snapshot: dict[str, Any] = dict(event.data.get("object") or {})
    row = model.objects.filter(id=snapshot.get("id")).only("stripe_data").first()
    return dict(row.stripe_data) if row is not None and row.stripe_data else snapshot


@djstripe_receiver(
    ["customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted"]
)
def on_subscription_changed(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    membership_subscription_changed(subscription=_synced(djstripe_models.Subscription, event))


@djstripe_receiver("invoice.payment_succeeded")
def on_invoice_payment_succeeded(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    membership_invoice_paid(invoice=_synced(djstripe_models.Invoice, event))


@djstripe_receiver("checkout.session.completed")
def on_membership_checkout_completed(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    session = _synced(djstripe_models.Session, event)
    if session.get("mode") == "subscription":
        membership_checkout_completed(session=session)

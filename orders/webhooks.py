"""Stripe webhooks: dj-stripe receivers, thin. Each reads the object and calls one service.

dj-stripe verifies the signature, stores the event once (a repeated ``evt_`` id never reaches us again),
and for payment intents, sessions, charges and disputes re-fetches the object from Stripe and syncs it
BEFORE these receivers run (its own receivers are connected first): we decide on that synced, current
state (``stripe_data``), not on the event's snapshot. Refund events are not synced by dj-stripe: their
payload is used. Everything runs inside dj-stripe's transaction: an exception rolls the event back and
answers 500, and Stripe retries. Imported (connected) by ``OrdersConfig.ready()``.
"""

from __future__ import annotations

from typing import Any

from djstripe import models as djstripe_models
from djstripe.event_handlers import djstripe_receiver

from orders.services_payments import (
    charge_refunded,
    checkout_session_expired,
    dispute_changed,
    payment_failed,
    payment_succeeded,
    refund_updated,
)


def _synced(model: type[djstripe_models.StripeModel], event: djstripe_models.Event) -> dict[str, Any]:
    """The object as dj-stripe has just synced it from Stripe; the event's snapshot if it has none."""
    snapshot: dict[str, Any] = dict(event.data.get("object") or {})
    row = model.objects.filter(id=snapshot.get("id")).only("stripe_data").first()
    return dict(row.stripe_data) if row is not None and row.stripe_data else snapshot


@djstripe_receiver(["checkout.session.completed", "checkout.session.async_payment_succeeded"])
def on_checkout_session_paid(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    session = _synced(djstripe_models.Session, event)
    if session.get("mode") == "subscription":
        return  # a membership (loyalty.webhooks handles it), never an order
    payment_succeeded(obj=session)


@djstripe_receiver("payment_intent.succeeded")
def on_payment_intent_succeeded(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    payment_succeeded(obj=_synced(djstripe_models.PaymentIntent, event))


@djstripe_receiver("checkout.session.async_payment_failed")
def on_checkout_session_payment_failed(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    payment_failed(obj=_synced(djstripe_models.Session, event))


@djstripe_receiver("payment_intent.payment_failed")
def on_payment_intent_failed(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    payment_failed(obj=_synced(djstripe_models.PaymentIntent, event))


@djstripe_receiver("checkout.session.expired")
def on_checkout_session_expired(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    checkout_session_expired(session=_synced(djstripe_models.Session, event))


@djstripe_receiver("charge.refunded")
def on_charge_refunded(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    charge_refunded(charge=_synced(djstripe_models.Charge, event))


@djstripe_receiver(["refund.created", "refund.updated", "refund.failed"])
def on_refund(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    refund_updated(refund=dict(event.data.get("object") or {}))


@djstripe_receiver(["charge.dispute.created", "charge.dispute.closed"])
def on_dispute(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    dispute_changed(dispute=_synced(djstripe_models.Dispute, event))

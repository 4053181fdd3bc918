"""What the notifications app does when the apps below announce a fact (their ``signals.py``).

Each receiver calls one service. Orders' signals arrive INSIDE the transaction that made the change, so
the outbox and inbox rows are written with it (a rolled-back payment writes none) and the emails go out
after commit. Connected in ``NotificationsConfig.ready()`` (``connect``), once (``dispatch_uid``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import User
from events.models import Event, Venue
from events.signals import event_cancelled, event_changed
from loyalty.models import ExpiryNotice, Referral
from loyalty.signals import points_expiring, referral_rewarded, tier_changed
from notifications import kinds
from notifications.services import broadcast_create, notify, order_notify
from orders.models import Order, Payment, Refund
from orders.signals import (
    order_expired,
    order_paid,
    order_refunded,
    order_unfulfillable,
    payment_failed,
    refund_failed,
)
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.signals import entry_closed, entry_joined, offer_created, offer_lapsed


def on_order_paid(sender: Any, order: Order, **kwargs: Any) -> None:
    order_notify(kind=kinds.ORDER_CONFIRMED.key, order=order, loaded=kinds.order_context_in_memory(order))


def on_order_unfulfillable(sender: Any, order: Order, **kwargs: Any) -> None:
    order_notify(kind=kinds.ORDER_UNFULFILLABLE.key, order=order)


def on_order_expired(sender: Any, order: Order, **kwargs: Any) -> None:
    if WaitlistOffer.objects.filter(order_id=order.pk).exists():
        return  # a waitlist offer's hold: "waitlist_offer_lapsed" tells it (on_waitlist_offer_lapsed)
    order_notify(kind=kinds.ORDER_EXPIRED.key, order=order)


def on_payment_failed(sender: Any, order: Order, payment: Payment, **kwargs: Any) -> None:
    # One message per failed attempt: a buyer whose second card fails too hears about it again.
    order_notify(
        kind=kinds.PAYMENT_FAILED.key,
        order=order,
        reference=f"orders.Payment:{payment.pk}",
        context={"payment_id": payment.pk},
    )


def on_order_refunded(sender: Any, order: Order, refund: Refund, **kwargs: Any) -> None:
    order_notify(
        kind=kinds.REFUND_ISSUED.key,
        order=order,
        reference=f"orders.Refund:{refund.pk}",
        context={"refund_id": refund.pk},
    )


def on_refund_failed(sender: Any, order: Order, refund: Refund, **kwargs: Any) -> None:
    # The card refused the money back: the buyer hears it from us, not first from their bank statement.
    order_notify(
        kind=kinds.REFUND_FAILED.key,
        order=order,
        reference=f"orders.Refund:{refund.pk}:failed",
        context={"refund_id": refund.pk},
    )


def on_event_changed(sender: Any, event: Event, changes: dict[str, tuple[Any, Any]], **kwargs: Any) -> None:
    # Each saved change is its own broadcast (the signal comes once per change, inside its transaction).
    broadcast_create(
        event=event,
        kind=kinds.EVENT_CHANGED.key,
        reference=f"events.Event:{event.pk}:changed:{uuid.uuid4().hex}",
        context={"changes": {field: [_json(old), _json(new)] for field, (old, new) in changes.items()}},
    )


def on_event_cancelled(sender: Any, event: Event, **kwargs: Any) -> None:
    broadcast_create(event=event, kind=kinds.EVENT_CANCELLED.key, reference=f"events.Event:{event.pk}")


def _json(value: Any) -> Any:
    """A changed value as the messages show it: times as ISO 8601, a venue as "name, city"."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Venue):
        return str(value)
    return value


def on_referral_rewarded(sender: Any, referral: Referral, **kwargs: Any) -> None:
    # Both sides are told, each in their own words (the kind's ``side``); once each (the reference).
    for side, user in (("referrer", referral.referrer), ("referee", referral.referee)):
        notify(
            kind=kinds.REFERRAL_REWARDED.key,
            reference=f"loyalty.Referral:{referral.pk}:{side}",
            user=user,
            context={"referral_id": referral.pk, "side": side},
        )


def on_tier_changed(sender: Any, user: User, old: str, new: str, **kwargs: Any) -> None:
    # Once per change (a tier may go up, down and up again: each move is its own message).
    notify(
        kind=kinds.LOYALTY_TIER_CHANGED.key,
        reference=f"loyalty.tier:{user.pk}:{old}-{new}:{uuid.uuid4().hex}",
        user=user,
        context={"old": old, "new": new},
    )


def on_points_expiring(sender: Any, notice: ExpiryNotice, **kwargs: Any) -> None:
    # Once per batch: the user and the day their points expire (whoever announces it twice).
    notify(
        kind=kinds.LOYALTY_POINTS_EXPIRING.key,
        reference=f"loyalty.points_expiring:{notice.user_id}:{notice.expires_on.isoformat()}",
        user=notice.user,
        context={"notice_id": notice.pk},
    )


# --- Waitlist (waitlist.signals, sent inside the waitlist's transactions; the emails go after commit) -----

# A guest asking again before confirming gets the link again, at most once in this many seconds.
WAITLIST_CONFIRM_RESEND_SECONDS = 300


def on_waitlist_entry_joined(sender: Any, entry: WaitlistEntry, **kwargs: Any) -> None:
    # A guest: the confirmation link (each time they ask, within the resend window once); a user: once.
    if entry.status == WaitlistEntry.Status.UNVERIFIED:
        window = int(timezone.now().timestamp()) // WAITLIST_CONFIRM_RESEND_SECONDS
        reference = f"waitlist.WaitlistEntry:{entry.pk}:confirm:{window}"
    else:
        reference = f"waitlist.WaitlistEntry:{entry.pk}:joined"
    notify(
        kind=kinds.WAITLIST_JOINED.key,
        reference=reference,
        user=entry.user,
        email=entry.email,
        context={"entry_id": entry.pk},
    )


def on_waitlist_offer_created(sender: Any, offer: WaitlistOffer, **kwargs: Any) -> None:
    order_notify(
        kind=kinds.WAITLIST_OFFER.key,
        order=offer.order,
        reference=f"waitlist.WaitlistOffer:{offer.pk}",
        context={"offer_id": offer.pk},
    )


def on_waitlist_offer_lapsed(sender: Any, offer: WaitlistOffer, **kwargs: Any) -> None:
    order_notify(
        kind=kinds.WAITLIST_OFFER_LAPSED.key,
        order=offer.order,
        reference=f"waitlist.WaitlistOffer:{offer.pk}:lapsed",
        context={"offer_id": offer.pk},
    )


def on_waitlist_entry_closed(sender: Any, entry: WaitlistEntry, **kwargs: Any) -> None:
    # The event's cancellation broadcast reaches ticket holders only (paid orders): people in line and
    # those whose offer was withdrawn hear it here, once per entry.
    notify(
        kind=kinds.WAITLIST_CLOSED.key,
        reference=f"waitlist.WaitlistEntry:{entry.pk}:closed",
        user=entry.user,
        email=entry.email,
        context={"entry_id": entry.pk},
    )


def connect() -> None:
    order_paid.connect(on_order_paid, dispatch_uid="notifications.order_paid")
    order_unfulfillable.connect(on_order_unfulfillable, dispatch_uid="notifications.order_unfulfillable")
    order_expired.connect(on_order_expired, dispatch_uid="notifications.order_expired")
    payment_failed.connect(on_payment_failed, dispatch_uid="notifications.payment_failed")
    order_refunded.connect(on_order_refunded, dispatch_uid="notifications.order_refunded")
    refund_failed.connect(on_refund_failed, dispatch_uid="notifications.refund_failed")
    event_changed.connect(on_event_changed, dispatch_uid="notifications.event_changed")
    event_cancelled.connect(on_event_cancelled, dispatch_uid="notifications.event_cancelled")
    referral_rewarded.connect(on_referral_rewarded, dispatch_uid="notifications.referral_rewarded")
    tier_changed.connect(on_tier_changed, dispatch_uid="notifications.tier_changed")
    points_expiring.connect(on_points_expiring, dispatch_uid="notifications.points_expiring")
    entry_joined.connect(on_waitlist_entry_joined, dispatch_uid="notifications.waitlist_entry_joined")
    offer_created.connect(on_waitlist_offer_created, dispatch_uid="notifications.waitlist_offer_created")
    offer_lapsed.connect(on_waitlist_offer_lapsed, dispatch_uid="notifications.waitlist_offer_lapsed")
    entry_closed.connect(on_waitlist_entry_closed, dispatch_uid="notifications.waitlist_entry_closed")

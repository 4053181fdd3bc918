"""Referrals reacting to other apps' facts, connected in ``LoyaltyConfig.ready()`` (``connect``). Each
receiver calls one service (loyalty.services_referrals).

- allauth's ``user_signed_up`` -> link the new account to the referrer of this browser's referral cookie.
- ``order_paid`` -> the referee's first paid order: decide the rewards (or wait for its charge).
- dj-stripe's ``charge.succeeded`` (synced before we run) -> a first order waiting for its card: decide.
- ``order_refunded`` -> that first order fully refunded: take both rewards back.
"""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_signed_up
from django.http import HttpRequest
from djstripe import models as djstripe_models
from djstripe.event_handlers import djstripe_receiver

from accounts.models import User
from loyalty import services_referrals
from loyalty.referral_cookie import SPENT_ATTR, referral_cookie_read
from orders.models import Order, Refund
from orders.signals import order_paid, order_refunded


def on_user_signed_up(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    code = referral_cookie_read(request) if request is not None else None
    if code is None:
        return
    services_referrals.referral_link(referee=user, code=code)
    setattr(request, SPENT_ATTR, True)  # linked or refused, the link has done its job: forget it


def on_order_paid(sender: Any, order: Order, **kwargs: Any) -> None:
    services_referrals.referral_order_paid(order=order)


def on_order_refunded(sender: Any, order: Order, refund: Refund, **kwargs: Any) -> None:
    services_referrals.referral_reverse_for_refund(order=order)


@djstripe_receiver("charge.succeeded")
def on_charge_succeeded(sender: object, event: djstripe_models.Event, **kwargs: Any) -> None:
    snapshot: dict[str, Any] = dict(event.data.get("object") or {})
    row = djstripe_models.Charge.objects.filter(id=snapshot.get("id")).only("stripe_data").first()
    services_referrals.referral_charge_succeeded(charge=dict(row.stripe_data) if row else snapshot)


def connect() -> None:
    user_signed_up.connect(on_user_signed_up, dispatch_uid="loyalty.referral_link")
    order_paid.connect(on_order_paid, sender=Order, dispatch_uid="loyalty.referral_order_paid")
    order_refunded.connect(on_order_refunded, sender=Order, dispatch_uid="loyalty.referral_reverse")

"""``{% welcome_discount_form order %}``: the checkout page's welcome-discount offer for a referred new user
(reward "discount"; loyalty/_welcome_discount.html). A template tag, like ``loyalty_checkout``, because the
checkout view belongs to orders, which never imports loyalty. Shows nothing to anyone else.
"""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from loyalty.services_referrals import (
    ADJUSTMENT_SOURCE,
    referral_discount_amount,
    referral_discount_available,
)
from orders.models import Order

register = template.Library()


@register.inclusion_tag("loyalty/_welcome_discount.html", takes_context=True)
def welcome_discount_form(context: template.Context, order: Order) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, User):
        return {"show": False}
    referral = referral_discount_available(user=user, order=order)
    if referral is None:
        return {"show": False}
    applied = next(
        (
            a
            for a in order.adjustments.all()
            if a.source == ADJUSTMENT_SOURCE and a.reference == f"referral:{referral.pk}"
        ),
        None,
    )
    return {
        "show": True,
        "order": order,
        "applied": applied,
        "amount": applied.amount if applied else referral_discount_amount(order=order),
        "csrf_token": context.get("csrf_token"),
    }

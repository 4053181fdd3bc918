"""``{% redeem_points_form order %}``: the checkout page's "Pay with points" (loyalty/_redeem_form.html).

A template tag rather than a view context, because the checkout view belongs to orders, which never imports
loyalty (DESIGN.md section 1): the page asks loyalty for its part when it is rendered. Shown only to the
signed-in buyer of a pending order; a guest (or anyone else) sees nothing.
"""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from loyalty.services import redeem_limits, redeem_max_share
from orders.models import Order

register = template.Library()


@register.inclusion_tag("loyalty/_redeem_form.html", takes_context=True)
def redeem_points_form(context: template.Context, order: Order) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, User) or order.buyer_id != user.pk or order.status != Order.Status.PENDING:
        return {"show": False}
    limits = redeem_limits(user=user, order=order)
    return {
        "show": True,
        "order": order,
        "limits": limits,
        "share_percent": int(redeem_max_share() * 100),
        "csrf_token": context.get("csrf_token"),
    }

"""The referral pages: the share link ``/r/<code>/`` and the checkout's welcome-discount form.

``/r/<code>/`` works for anyone: a visitor is remembered as referred (a signed cookie,
loyalty.referral_cookie) and sent to sign up; a signed-in user already has an account, so they are shown
their own link instead.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from accounts.models import User
from grasshopper.lib.exceptions import ApplicationError
from loyalty.referral_cookie import referral_cookie_set
from loyalty.selectors_referrals import referral_account_by_code, referral_display_name
from loyalty.services_referrals import referral_discount_apply
from orders import selectors as order_selectors


def _welcome_text() -> str:
    if settings.REFERRAL_REFEREE_REWARD == "discount":
        return f"{settings.REFERRAL_REFEREE_DISCOUNT} off your first order"
    return f"{settings.REFERRAL_REFEREE_POINTS} points with your first order"


@require_safe
@never_cache
@ratelimit(key="ip", rate="60/m", method="GET", block=True)
def referral_link(request: HttpRequest, code: str) -> HttpResponse:
    """A shared referral link: remember it and go to the sign-up page (a signed-in user: their own link)."""
    if request.user.is_authenticated:
        messages.info(
            request, "Invitation links are for people new to Grasshopper. Here is your own to share."
        )
        return redirect(f"{reverse('loyalty:account')}#referrals")
    account = referral_account_by_code(code=code)
    if account is None:
        messages.warning(request, "This invitation link is not valid any more, but you can still sign up.")
        return redirect("account_signup")
    name = referral_display_name(account.user)
    messages.info(request, f"{name} invited you to Grasshopper: sign up now and get {_welcome_text()}.")
    response = redirect("account_signup")
    referral_cookie_set(response, code=account.referral_code)
    return response


@require_POST
@login_required
@ratelimit(key="user", rate="30/m", method="POST", block=True)
def welcome_discount(request: HttpRequest, code: str) -> HttpResponse:
    """The checkout's "use my welcome discount" button (reward "discount"): back to the checkout page."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionError("signed-in user expected")
    try:
        order = order_selectors.order_get_for_buyer(code=code, user=user)
    except order_selectors.OrderNotFound:
        raise Http404("No such order") from None
    try:
        adjustment = referral_discount_apply(user=user, order=order)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if adjustment is None:
            messages.error(request, "There is no welcome discount to use on this order.")
        else:
            messages.success(request, f"Welcome discount applied: {adjustment.amount} {order.currency} off.")
    return redirect(reverse("orders:checkout", kwargs={"code": order.code}))

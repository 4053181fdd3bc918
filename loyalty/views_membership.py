"""The membership's pages and buttons ("Grasshopper Plus"): join (a page that explains it, then Stripe's
hosted Checkout), back from Stripe, cancel at period end, keep. Thin: each calls one service; refusals
come back as messages on /account/loyalty/ (the membership section, loyalty/_membership.html)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from grasshopper.lib.exceptions import ApplicationError
from loyalty import services_membership as services
from loyalty.selectors_membership import membership_section_context

# The join form's POST answers 303 to Stripe's hosted Checkout page; browsers check that redirect against
# the CSP form-action. Offline, the local stand-in lives at SITE_URL.
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"
SECTION_ANCHOR = "#membership"


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required ran first; this narrows the type
        raise TypeError("signed-in user expected")
    return user


def _account_url() -> str:
    """The loyalty page's membership section."""
    return reverse("loyalty:account") + SECTION_ANCHOR


def _form_action_sources() -> list[str]:
    sources = [STRIPE_CHECKOUT_ORIGIN]
    if settings.STRIPE_OFFLINE and settings.DEBUG:
        sources.append(settings.SITE_URL)
    return sources


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@never_cache
def join(request: HttpRequest) -> HttpResponse:
    """GET: what Grasshopper Plus costs and gives, and a button to pay on Stripe. POST: to Stripe's
    Checkout (303); back to the loyalty page with a message if Stripe is unreachable or the user is a
    member already."""
    user = _user(request)
    if request.method == "POST":
        try:
            url = services.membership_checkout_start(
                user=user,
                success_url=request.build_absolute_uri(reverse("membership:welcome")),
                cancel_url=request.build_absolute_uri(_account_url()),
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(_account_url())
        to_stripe = HttpResponseRedirect(url)
        to_stripe.status_code = 303
        return to_stripe
    context = membership_section_context(user=user, now=timezone.now())
    if context["state"].is_member:
        messages.info(request, "You are already a member.")
        return HttpResponseRedirect(_account_url())
    response = render(request, "loyalty/membership_join.html", {"section": context})
    response._csp_update = {"form-action": _form_action_sources()}  # type: ignore[attr-defined]
    return response


@require_safe
@login_required
@never_cache
def welcome(request: HttpRequest) -> HttpResponse:
    """Where Stripe sends the member after paying. The membership starts when Stripe's webhook says the
    first month is paid, usually a second later: the message says so rather than claiming it."""
    context = membership_section_context(user=_user(request), now=timezone.now())
    if context["state"].is_member:
        messages.success(request, f"Welcome to {context['name']}! Your membership is active.")
    else:
        messages.info(
            request,
            f"Thank you! Stripe is confirming your payment; {context['name']} starts in a moment. "
            "Reload this page to see it.",
        )
    return HttpResponseRedirect(_account_url())


@require_POST
@login_required
@never_cache
def cancel(request: HttpRequest) -> HttpResponse:
    """ "Cancel at period end": no renewal; benefits last until the paid month ends."""
    try:
        membership = services.membership_cancel(user=_user(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        end = membership.current_period_end
        when = date_format(timezone.localtime(end), "j F Y") if end else "the end of the paid period"
        messages.success(request, f"Your membership will not renew. Your benefits last until {when}.")
    return HttpResponseRedirect(_account_url())


@require_POST
@login_required
@never_cache
def keep(request: HttpRequest) -> HttpResponse:
    """ "Keep my membership": undo a cancellation before the paid period ends."""
    try:
        services.membership_resume(user=_user(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your membership will renew as usual.")
    return HttpResponseRedirect(_account_url())

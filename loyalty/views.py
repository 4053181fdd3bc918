"""The loyalty pages: ``/account/loyalty/`` (balance, tier and progress, what expires next, the history of
every point; below them the sections other modules register in ``loyalty.sections``: referrals,
membership), and the checkout's "pay with points" form (POST, back to the checkout page with a message).

Each view calls one service or selector; a refusal (ApplicationError) is shown as a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from accounts.models import User
from events.templatetags.catalogue import money
from grasshopper.lib.exceptions import ApplicationError
from loyalty import selectors, services
from loyalty.forms import RedeemPointsForm
from loyalty.sections import account_sections
from orders import selectors as order_selectors

PAGE_SIZE = 20


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required ran first; this narrows the type
        raise PermissionError("signed-in user expected")
    return user


@require_safe
@login_required
@never_cache
def account_loyalty(request: HttpRequest) -> HttpResponse:
    """The signed-in user's points: balance, tier and progress, next expiry, history (20 a page), and the
    registered sections (referrals, membership)."""
    user = _user(request)
    now = timezone.now()
    raw = request.GET.get("page", "1")
    page = Paginator(selectors.ledger_for_user(user=user), PAGE_SIZE).get_page(
        int(raw) if raw.isdigit() else 1
    )
    summary = selectors.loyalty_summary(user=user, now=now)
    context = {
        "summary": summary,
        "progress": summary.progress,
        "page": page,
        "entries": list(page.object_list),
        "points_per_unit": services.settings.LOYALTY_POINTS_PER_UNIT,
        "points_per_unit_off": int(1 / services.point_value()) if services.point_value() > 0 else 0,
        "share_percent": int(services.redeem_max_share() * 100),
        "sections": account_sections(user=user, now=now),
    }
    return render(request, "loyalty/account.html", context)


@require_POST
@login_required
@ratelimit(key="user", rate="30/m", method="POST", block=True)
def redeem_points(request: HttpRequest, code: str) -> HttpResponse:
    """The checkout's "pay with points" form: use that many points on the order (0 or "Remove": take them
    off), then back to the checkout page, which shows the new total. Someone else's order: 404."""
    user = _user(request)
    try:
        order = order_selectors.order_get_for_buyer(code=code, user=user)
    except order_selectors.OrderNotFound:
        raise Http404("No such order") from None
    checkout = reverse("orders:checkout", kwargs={"code": order.code})
    form = RedeemPointsForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("points", []):
            messages.error(request, f"Points: {error}")
        return redirect(f"{checkout}#pay-with-points")
    points = 0 if form.cleaned_data.get("remove") else form.cleaned_data["points"]
    try:
        order = services.points_redeem(user=user, order=order, points=points)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if points:
            total = money(order.total, order.currency)
            messages.success(request, f"{points} points used: the total is now {total}.")
        else:
            messages.success(request, "Points removed from this order; they are back in your balance.")
    return redirect(f"{checkout}#pay-with-points")

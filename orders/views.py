"""The checkout's pages: start (POST from the event page), checkout with the hold timer, holder names,
extend, cancel, pay (Stripe's hosted Checkout page), and the confirmation with tickets, calendar file and
PDF.

Who may see an order: its buyer (signed in), or a browser holding the guest link (``?t=`` signed token,
then remembered in the session; orders.signing). Anybody else gets 404, never 403: an order's existence
is not revealed. Views call one service each and show its ApplicationError as a message.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from accounts.models import User
from events import selectors as event_selectors
from events.ics import event_ics
from grasshopper.lib.exceptions import ApplicationError
from orders import selectors, services
from orders.exceptions import HoldExpired, PaymentNotNeeded
from orders.forms import BuyForm, HolderNamesForm
from orders.models import Order, Payment
from orders.payments import get_provider
from orders.pdf import tickets_pdf_render
from orders.qr import ticket_qr_svg
from orders.services import PAID_STATUSES
from orders.services_payments import payment_checkout_start
from orders.signing import guest_session_allow, guest_session_allows, guest_token_check, guest_token_make

# The hold timer warns (visibly, and once to screen readers) when this much time is left (WCAG 2.2.1).
WARN_BEFORE = timedelta(minutes=2)
# Added to the success URL given to Stripe: the buyer is back from a completed payment (the checkout page
# then says "Payment received, confirming…" until the webhook marks the order paid).
RETURN_PARAM = "paying"
# Where the pay button's form may lead (CSP form-action covers the redirect after the POST): Stripe's
# hosted Checkout page.
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"


def _order_or_404(request: HttpRequest, code: str) -> Order:
    try:
        order = selectors.order_get_by_code(code=code)
    except selectors.OrderNotFound:
        raise Http404("No such order") from None
    user = request.user
    if user.is_authenticated and order.buyer_id == user.pk:
        return order
    token = request.GET.get("t", "")
    if token and guest_token_check(token=token, code=order.code):
        guest_session_allow(request, code=order.code)
        return order
    if order.buyer_id is None and guest_session_allows(request, code=order.code):
        return order
    raise Http404("No such order")


def _order_url(name: str, order: Order) -> str:
    """The order's page; for a guest order with the signed token, so the address bar is a link to keep."""
    url = reverse(name, kwargs={"code": order.code})
    if order.buyer_id is None:
        url += f"?t={guest_token_make(code=order.code)}"
    return url


def _event_url(order_or_slug: Order | str) -> str:
    slug = order_or_slug if isinstance(order_or_slug, str) else order_or_slug.event.slug
    return reverse("events:detail", kwargs={"slug": slug})


def _error_message(error: ApplicationError) -> str:
    available = error.extra.get("available")
    if error.code == "sold_out" and available is not None and str(available) not in error.message:
        return f"{error.message} Tickets left: {available}."
    return error.message


@require_POST
@ratelimit(key="ip", rate="30/m", method="POST", block=True)
def checkout_start(request: HttpRequest) -> HttpResponse:
    """Quantities (and a guest's email) from the event page: hold the seats now, then the checkout page.

    Nothing is written unless the service succeeds; on any refusal the buyer is back on the event page
    with the reason as a message.
    """
    slug = request.POST.get("event", "")
    event = event_selectors.event_get_for_page(slug=slug, user=request.user) if slug else None
    if event is None:
        raise Http404("No such event")
    guest = not request.user.is_authenticated
    form = BuyForm.for_post(request.POST, ticket_types=event.ticket_types.all(), guest=guest)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else None
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else str(error))
        return redirect(_event_url(event.slug))
    buyer = request.user if isinstance(request.user, User) and not guest else None
    try:
        order = services.order_create(
            event_id=event.pk,
            lines=form.lines(),
            buyer=buyer,
            email=buyer.email if buyer else form.cleaned_data["email"],
        )
    except ApplicationError as error:
        messages.error(request, _error_message(error))
        return redirect(_event_url(event.slug))
    if guest:
        guest_session_allow(request, code=order.code)
    if order.status == Order.Status.PAID:
        messages.success(request, "Your tickets are booked.")
        return HttpResponseRedirect(_order_url("orders:confirmation", order))
    return HttpResponseRedirect(_order_url("orders:checkout", order))


@require_safe
@never_cache
def checkout(request: HttpRequest, code: str) -> HttpResponse:
    order = _order_or_404(request, code)
    if order.status == Order.Status.PAID:
        return redirect("orders:confirmation", code=order.code)
    return _checkout_render(request, order)


def _returned_from_payment(request: HttpRequest) -> bool:
    return request.GET.get(RETURN_PARAM) == "1"


def _with_return_param(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{RETURN_PARAM}=1"


def _payment_confirming(order: Order, latest: Payment | None, *, returned: bool) -> bool:
    """The buyer paid and waits for Stripe's word: the order is still pending, and its last attempt either
    succeeded (recorded, not yet applied) or is a Checkout Session the buyer has just come back from."""
    if order.status != Order.Status.PENDING or latest is None:
        return False
    if latest.status == Payment.Status.SUCCEEDED:
        return not latest.failure_message  # a payment that does not match the order is never "confirming"
    return returned and latest.status == Payment.Status.OPEN and latest.kind == Payment.Kind.CHECKOUT


def _form_action_sources() -> list[str]:
    """CSP form-action for the checkout page: the Pay form's POST answers 303 to Stripe's hosted page, and
    browsers check that redirect against form-action. Offline, the local test page lives at SITE_URL
    (the same origin, unless the site is browsed under another host name)."""
    sources = [STRIPE_CHECKOUT_ORIGIN]
    if settings.STRIPE_OFFLINE and settings.DEBUG:
        sources.append(settings.SITE_URL)
    return sources


def _checkout_render(
    request: HttpRequest, order: Order, *, holder_form: HolderNamesForm | None = None, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    pending = order.status == Order.Status.PENDING
    remaining = max(int((order.expires_at - now).total_seconds()), 0) if pending and order.expires_at else 0
    latest = selectors.order_payment_latest(order=order) if pending and order.total else None
    confirming = _payment_confirming(order, latest, returned=_returned_from_payment(request))
    declined = (
        latest.failure_message
        if latest is not None and latest.status == Payment.Status.FAILED and not confirming
        else ""
    )
    context = {
        "order": order,
        "event": order.event,
        "lines": order.lines.all(),
        "pending": pending,
        "hold_lapsed": pending and remaining == 0,
        "remaining": remaining,
        "remaining_text": f"{remaining // 60}:{remaining % 60:02d}",
        "warn": pending and 0 < remaining <= WARN_BEFORE.total_seconds(),
        "warn_seconds": int(WARN_BEFORE.total_seconds()),
        "guest_link": request.build_absolute_uri(_order_url("orders:checkout", order))
        if order.buyer_id is None
        else "",
        "holder_form": holder_form or HolderNamesForm.for_order(order),
        "confirming": confirming,
        "declined": declined,
        "payment_status_url": _order_url("orders:payment_status", order),
        "check_again_url": _with_return_param(_order_url("orders:checkout", order)),
        "stripe_offline": settings.STRIPE_OFFLINE and settings.DEBUG,
    }
    response = render(request, "orders/checkout.html", context, status=status)
    response._csp_update = {"form-action": _form_action_sources()}  # type: ignore[attr-defined]
    return response


@require_POST
def extend_hold(request: HttpRequest, code: str) -> HttpResponse:
    order = _order_or_404(request, code)
    try:
        order = services.order_extend_hold(order=order)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        expires = timezone.localtime(order.expires_at, ZoneInfo(order.event.timezone))
        messages.success(request, f"Your seats are held until {expires:%H:%M}.")
    return redirect("orders:checkout", code=order.code)


@require_POST
@never_cache
def holder_names(request: HttpRequest, code: str) -> HttpResponse:
    """Names on the tickets, from the checkout page. Invalid fields: the page again (400) with each error
    next to its field; a refusal by the service (too many names, order no longer pending): a message."""
    order = _order_or_404(request, code)
    form = HolderNamesForm.for_order(order, data=request.POST)
    if not form.is_valid():
        # The page again: the form's own summary (role="alert") announces the errors.
        return _checkout_render(request, order, holder_form=form, status=400)
    try:
        services.order_set_holder_names(
            order=order,
            names=form.names(),
            actor=request.user if isinstance(request.user, User) else None,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Names saved. They will be printed on your tickets.")
    return redirect(_order_url("orders:checkout", order))


@require_POST
def cancel(request: HttpRequest, code: str) -> HttpResponse:
    order = _order_or_404(request, code)
    try:
        services.order_cancel(
            order=order,
            actor=request.user if request.user.is_authenticated else None,
            reason="Cancelled by the buyer at checkout",
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("orders:checkout", code=order.code)
    messages.success(request, f"Order {order.code} is cancelled; the seats you held are released.")
    return redirect(_event_url(order))


@require_POST
@ratelimit(key="ip", rate="30/m", method="POST", block=True)
def pay(request: HttpRequest, code: str) -> HttpResponse:
    """Pay the order: a free order is confirmed at once; a priced pending order goes to Stripe's hosted
    Checkout page (303), which sends the buyer back to the order (paid: the confirmation, which says
    "confirming…" until Stripe's webhook arrives; cancelled: the checkout page).

    When Stripe cannot be reached or the hold has just ended, the buyer stays on the checkout page with the
    reason as a message; nothing is charged and the held seats stay held while the hold runs.
    """
    order = _order_or_404(request, code)
    if order.status in PAID_STATUSES:
        return redirect(_order_url("orders:confirmation", order))
    if order.status == Order.Status.PENDING and not order.total:
        try:
            get_provider("free").start(order=order)
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect(_order_url("orders:checkout", order))
    confirmation = request.build_absolute_uri(_order_url("orders:confirmation", order))
    try:
        url = payment_checkout_start(
            order=order,
            success_url=_with_return_param(confirmation),
            cancel_url=request.build_absolute_uri(_order_url("orders:checkout", order)),
        )
    except ApplicationError as error:
        messages.error(request, _pay_error_message(error, order))
        return redirect(_order_url("orders:checkout", order))
    response = HttpResponseRedirect(url)
    response.status_code = 303  # See Other: the browser GETs Stripe's page
    return response


def _pay_error_message(error: ApplicationError, order: Order) -> str:
    if isinstance(error, HoldExpired):
        return "Your hold has ended, so this order can no longer be paid. Nothing was charged."
    if isinstance(error, PaymentNotNeeded):
        if order.status in (Order.Status.EXPIRED, Order.Status.CANCELLED):
            return f"This order is {order.get_status_display().lower()}, so it can no longer be paid."
        return "This order has nothing left to pay."
    if error.code == "payment_provider_error":
        return (
            "We could not reach our payment provider, so nothing was charged. Your seats are still held: "
            "please try again in a moment."
        )
    return error.message


@require_safe
@never_cache
def payment_status(request: HttpRequest, code: str) -> HttpResponse:
    """Polled by the checkout page while a payment is being confirmed (htmx, every 2 seconds): 204 while
    nothing changed; once the order is paid, or the payment is no longer being confirmed, the page moves
    on (``HX-Redirect``: the confirmation, or the checkout page showing what happened). Without htmx, a
    plain redirect to the same pages."""
    order = _order_or_404(request, code)
    if order.status in PAID_STATUSES:
        target = _order_url("orders:confirmation", order)
    else:
        latest = selectors.order_payment_latest(order=order)
        if _payment_confirming(order, latest, returned=True):
            if request.htmx:  # type: ignore[attr-defined]
                return HttpResponse(status=204)
            target = _with_return_param(_order_url("orders:checkout", order))
        else:
            target = _order_url("orders:checkout", order)
    if request.htmx:  # type: ignore[attr-defined]
        response = HttpResponse(status=200)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


@require_safe
def confirmation(request: HttpRequest, code: str) -> HttpResponse:
    order = _order_or_404(request, code)
    if order.status == Order.Status.PENDING:
        # Back from Stripe before its webhook: the checkout page says "confirming…" (and polls).
        url = _order_url("orders:checkout", order)
        return redirect(_with_return_param(url) if _returned_from_payment(request) else url)
    tickets = [
        {"ticket": ticket, "qr": ticket_qr_svg(secret=ticket.secret, label=f"QR code for ticket {n}")}
        for n, ticket in enumerate(order.tickets.all(), start=1)
    ]
    context = {
        "order": order,
        "event": order.event,
        "lines": order.lines.all(),
        "tickets": tickets,
        "guest_link": request.build_absolute_uri(_order_url("orders:confirmation", order))
        if order.buyer_id is None
        else "",
    }
    return render(request, "orders/confirmation.html", context)


@require_safe
def calendar(request: HttpRequest, code: str) -> HttpResponse:
    order = _order_or_404(request, code)
    url = request.build_absolute_uri(_event_url(order))
    response = HttpResponse(
        event_ics(event=order.event, url=url), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{order.event.slug}.ics"'
    return response


@require_safe
def tickets_pdf(request: HttpRequest, code: str) -> HttpResponse:
    order = _order_or_404(request, code)
    tickets = [t for t in order.tickets.all() if t.status != t.Status.VOID]
    if not tickets:
        raise Http404("No tickets")
    pdf = tickets_pdf_render(order=order, tickets=tickets, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="tickets-{order.code}.pdf"'
    return response

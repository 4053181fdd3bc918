"""The offline stand-in for Stripe's hosted Checkout page: ``/_fakestripe/checkout/<cs_id>/``.

Only with ``STRIPE_OFFLINE`` and ``DEBUG`` (the ``make run`` default), and only while the in-process fake
Stripe (``orders.stripe_fake``) answers our Stripe calls: anywhere else every URL here is a 404. A Checkout
Session created offline points here instead of checkout.stripe.com.

The page shows the amount and the order, and three buttons that do what the buyer or Stripe would do:
**Pay**, **Decline card**, **Let it expire**. Each runs the fake's simulator, then delivers the events
Stripe would send, signed with the local endpoint's secret, to dj-stripe's real webhook view (called in
process: no network, and it works with a single-process ``runserver``), so the production path runs:
signature check, dj-stripe's sync, our receivers, ``order_mark_paid``. Events that earlier API calls queued
(a session expired through the API, a refund from the admin) are delivered first. Then the browser goes
where Stripe would send it: the session's success URL after paying, its cancel URL otherwise.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.test import RequestFactory
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from djstripe.views import ProcessWebhookView

from orders import gateway
from orders.models import Order
from orders.services_stripe import stripe_webhook_endpoint_local
from orders.stripe_fake import FakeStripe, FakeStripeError, webhook_signature_header

ACTIONS = {
    "pay": "Paid: Stripe sends checkout.session.completed and payment_intent.succeeded.",
    "decline": "Card declined: Stripe sends payment_intent.payment_failed.",
    "expire": "Session expired: Stripe sends checkout.session.expired.",
}


class OfflineWebhookRejected(RuntimeError):
    """dj-stripe refused an event the offline page signed (a misconfigured local endpoint)."""


def _offline_fake() -> FakeStripe:
    """The fake Stripe answering this process's Stripe calls; 404 unless offline mode and DEBUG."""
    if not (settings.STRIPE_OFFLINE and settings.DEBUG):
        raise Http404("Offline Stripe is off")
    fake = getattr(gateway.installed_transport(), "fake", None)
    if not isinstance(fake, FakeStripe):
        raise Http404("Offline Stripe is off")
    return fake


def offline_events_deliver(events: list[dict[str, Any]]) -> None:
    """POST each event, signed like Stripe does, to dj-stripe's webhook view for the local endpoint, in this
    process. Raises ``OfflineWebhookRejected`` when dj-stripe answers anything but 200 (processing errors
    propagate as they are: the debug page shows them)."""
    endpoint = stripe_webhook_endpoint_local().endpoint
    path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
    view = ProcessWebhookView.as_view()
    factory = RequestFactory()
    for event in events:
        payload = json.dumps(event)
        request = factory.post(
            path,
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": webhook_signature_header(payload, endpoint.secret)},
        )
        response = view(request, uuid=endpoint.djstripe_uuid)
        if response.status_code != 200:
            raise OfflineWebhookRejected(
                f"dj-stripe answered {response.status_code} to {event.get('type')} ({event.get('id')})"
            )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """GET: the test payment page of Checkout Session ``session_id``. POST ``action`` = pay | decline |
    expire: simulate it, deliver the webhooks, then 303 to the session's success URL (paid) or cancel URL."""
    fake = _offline_fake()
    try:
        session = fake.get(session_id)
    except KeyError:
        raise Http404("No such Checkout Session") from None
    if session.get("object") != "checkout.session":
        raise Http404("No such Checkout Session")
    if request.method == "POST":
        return _act(request, fake=fake, session=session)
    return _page(request, session=session)


def _act(request: HttpRequest, *, fake: FakeStripe, session: dict[str, Any]) -> HttpResponse:
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, "Choose Pay, Decline card or Let it expire.")
        return redirect(request.path)
    if session.get("mode") == "subscription" and action != "expire":
        return _act_subscription(request, fake=fake, session=session, action=action)
    try:
        if action == "pay":
            simulated = fake.pay(checkout_session_id=session["id"])
        elif action == "decline":
            simulated = fake.decline(checkout_session_id=session["id"])
        else:
            simulated = fake.expire_session(session["id"])
    except FakeStripeError as error:
        messages.error(request, f"Stripe would not allow that: {error}")
        return redirect(request.path)
    offline_events_deliver([*fake.pending_events(), *simulated])
    target = session.get("success_url") if action == "pay" else session.get("cancel_url")
    response = HttpResponseRedirect(target or "/")
    response.status_code = 303
    return response


def _act_subscription(
    request: HttpRequest, *, fake: FakeStripe, session: dict[str, Any], action: str
) -> HttpResponse:
    """A membership's session (mode subscription, issue 7): "pay" subscribes (the subscription, its paid
    first invoice, checkout.session.completed); a declined card creates nothing and leaves the page open,
    as on Stripe, where the buyer may try another card."""
    if action == "decline":
        messages.error(request, "Card declined: no subscription was created. Try again or go back.")
        return redirect(request.path)
    try:
        simulated = fake.subscribe(checkout_session_id=session["id"])
    except FakeStripeError as error:
        messages.error(request, f"Stripe would not allow that: {error}")
        return redirect(request.path)
    offline_events_deliver([*fake.pending_events(), *simulated])
    response = HttpResponseRedirect(session.get("success_url") or "/")
    response.status_code = 303
    return response


def _origins(session: dict[str, Any]) -> list[str]:
    origins = []
    for url in (session.get("success_url"), session.get("cancel_url")):
        parts = urlsplit(str(url or ""))
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


def _page(request: HttpRequest, *, session: dict[str, Any]) -> HttpResponse:
    code = (session.get("metadata") or {}).get("order_code") or session.get("client_reference_id") or ""
    order = (
        Order.objects.select_related("event__venue")
        .prefetch_related("lines__ticket_type")
        .filter(code=code)
        .first()
        if code
        else None
    )
    currency = str(session.get("currency") or "eur")
    context = {
        "session": session,
        "open": session.get("status") == "open",
        "amount": gateway.from_minor(int(session.get("amount_total") or 0), currency),
        "currency": currency.upper(),
        "order": order,
        "event": order.event if order else None,
        "lines": order.lines.all() if order else [],
        "back_url": session.get("cancel_url") or "/",
        "done_url": session.get("success_url") if session.get("payment_status") == "paid" else None,
        "subscription": session.get("mode") == "subscription",  # a membership (issue 7), not an order
    }
    response = render(request, "orders/fakestripe_checkout.html", context)
    # The buttons' POST answers 303 to the success / cancel URL, on the buyer's host, which may not be
    # this page's (SITE_URL: 127.0.0.1 vs localhost); browsers check that redirect against form-action.
    response._csp_update = {"form-action": _origins(session)}  # type: ignore[attr-defined]
    return response

"""Stripe plumbing: the webhook endpoint row dj-stripe verifies signatures with, and the prune of raw
webhook requests. (Payments and refunds themselves live in ``orders.services_payments``.)

dj-stripe accepts a webhook only at ``/stripe/webhook/<uuid>/`` of a ``WebhookEndpoint`` row, checking the
``Stripe-Signature`` header with that row's secret. Its admin form creates the endpoint by calling Stripe;
we write the row from the environment instead (the endpoint is created once in the Stripe dashboard), so a
secret rotation is a deploy, not a database edit.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from djstripe.models import WebhookEndpoint, WebhookEventTrigger

from grasshopper.lib.exceptions import ApplicationError

# The events Grasshopper acts on: what to tick when creating the endpoint in the Stripe dashboard.
WEBHOOK_EVENTS = [
    "checkout.session.completed",
    "checkout.session.expired",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
    "charge.dispute.closed",
    # The membership (Grasshopper Plus, loyalty.webhooks); its Checkout is checkout.session.completed above.
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_succeeded",
]
# The row the offline mode (STRIPE_OFFLINE) delivers its simulated webhooks to.
OFFLINE_ENDPOINT_ID = "we_offline_grasshopper_local"


class WebhookEndpointNotConfigured(ApplicationError):
    code = "stripe_webhook_endpoint_not_configured"
    status = 500
    default_message = (
        "Set STRIPE_WEBHOOK_ENDPOINT_ID, STRIPE_WEBHOOK_SECRET and STRIPE_WEBHOOK_UUID (all three), from the "
        "endpoint created in the Stripe dashboard."
    )


@dataclass(frozen=True)
class EndpointResult:
    endpoint: WebhookEndpoint
    created: bool
    changed: bool


def webhook_url(endpoint_uuid: uuid.UUID | str) -> str:
    """The public URL Stripe posts to for this endpoint."""
    path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": uuid.UUID(str(endpoint_uuid))})
    return settings.SITE_URL + path


@transaction.atomic
def stripe_webhook_endpoint_ensure() -> EndpointResult:
    """Create or update the webhook endpoint row from the environment; safe to run at every deploy.

    With the three ``STRIPE_WEBHOOK_*`` variables set, the row ``STRIPE_WEBHOOK_ENDPOINT_ID`` gets that
    secret and UUID. Without them, offline mode keeps (or creates, with a fresh secret) a local endpoint;
    anywhere else it is an error (``stripe_webhook_endpoint_not_configured``)."""
    endpoint_id = settings.STRIPE_WEBHOOK_ENDPOINT_ID
    secret = settings.STRIPE_WEBHOOK_SECRET
    raw_uuid = settings.STRIPE_WEBHOOK_UUID
    given = [bool(endpoint_id), bool(secret), bool(raw_uuid)]
    if not any(given) and settings.STRIPE_OFFLINE:
        return stripe_webhook_endpoint_local()
    if not all(given):
        raise WebhookEndpointNotConfigured()
    try:
        endpoint_uuid = uuid.UUID(raw_uuid)
    except ValueError:
        raise WebhookEndpointNotConfigured("STRIPE_WEBHOOK_UUID is not a UUID.") from None
    if not secret.startswith("whsec_"):
        raise WebhookEndpointNotConfigured("STRIPE_WEBHOOK_SECRET is not a signing secret (whsec_...).")
    return _upsert(
        endpoint_id=endpoint_id,
        secret=secret,
        endpoint_uuid=endpoint_uuid,
        livemode=bool(settings.STRIPE_LIVE_MODE),
    )


@transaction.atomic
def stripe_webhook_endpoint_local() -> EndpointResult:
    """The offline mode's endpoint: created once with a random secret, then kept as it is."""
    existing = WebhookEndpoint.objects.select_for_update().filter(id=OFFLINE_ENDPOINT_ID).first()
    if existing is not None:
        return EndpointResult(endpoint=existing, created=False, changed=False)
    return _upsert(
        endpoint_id=OFFLINE_ENDPOINT_ID,
        secret="whsec_" + secrets.token_urlsafe(32),
        endpoint_uuid=uuid.uuid4(),
        livemode=False,
    )


def _upsert(*, endpoint_id: str, secret: str, endpoint_uuid: uuid.UUID, livemode: bool) -> EndpointResult:
    url = webhook_url(endpoint_uuid)
    values = {
        "secret": secret,
        "djstripe_uuid": endpoint_uuid,
        "livemode": livemode,
        "url": url,
        "enabled_events": WEBHOOK_EVENTS,
        "status": "enabled",
        "api_version": settings.STRIPE_API_VERSION,
        "djstripe_validation_method": "verify_signature",
    }
    stripe_data = {
        "id": endpoint_id,
        "object": "webhook_endpoint",
        "api_version": settings.STRIPE_API_VERSION,
        "enabled_events": WEBHOOK_EVENTS,
        "livemode": livemode,
        "metadata": {"djstripe_uuid": str(endpoint_uuid)},
        "status": "enabled",
        "url": url,
    }
    endpoint = WebhookEndpoint.objects.select_for_update().filter(id=endpoint_id).first()
    if endpoint is None:
        endpoint = WebhookEndpoint.objects.create(id=endpoint_id, stripe_data=stripe_data, **values)
        return EndpointResult(endpoint=endpoint, created=True, changed=True)
    changed = [name for name, value in values.items() if getattr(endpoint, name) != value]
    if changed:
        for name in changed:
            setattr(endpoint, name, values[name])
        endpoint.stripe_data = stripe_data
        endpoint.save(update_fields=[*changed, "stripe_data"])
    return EndpointResult(endpoint=endpoint, created=False, changed=bool(changed))


def stripe_webhook_triggers_prune(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete dj-stripe's raw webhook requests older than ``days`` (default
    ``STRIPE_WEBHOOK_TRIGGER_RETENTION_DAYS``); they hold payloads with buyers' personal data. The
    processed ``Event`` rows stay (dj-stripe deduplicates Stripe's retries by them). Returns how many."""
    now = now or timezone.now()
    keep_days = settings.STRIPE_WEBHOOK_TRIGGER_RETENTION_DAYS if days is None else days
    cutoff = now - timedelta(days=keep_days)
    deleted = 0
    while True:  # in batches: one prune after a long outage must not hold a huge lock
        ids = list(WebhookEventTrigger.objects.filter(created__lt=cutoff).values_list("id", flat=True)[:5000])
        if not ids:
            return deleted
        deleted += WebhookEventTrigger.objects.filter(id__in=ids).delete()[0]

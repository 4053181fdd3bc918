"""Stripe's webhooks reach dj-stripe signed, once, and nothing else gets in; the configuration refuses
to run production on the fake; old raw webhook requests are pruned; the endpoint row comes from the
environment. No socket is opened (pytest runs with --disable-socket): dj-stripe's calls go to the fake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpResponse
from django.test import override_settings
from django.utils import timezone
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import Event, PaymentIntent, WebhookEndpoint, WebhookEventTrigger
from djstripe.signals import WEBHOOK_SIGNALS

from orders import gateway
from orders.checks import check_stripe_settings
from orders.services_stripe import OFFLINE_ENDPOINT_ID, WEBHOOK_EVENTS
from orders.stripe_fake import FakeStripe, offline_fake, webhook_signature_header
from orders.tasks import stripe_webhook_triggers_prune_task

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
Deliver = Callable[..., HttpResponse]


@pytest.fixture
def paid_intent_events(fake_stripe: FakeStripe) -> list[dict[str, Any]]:
    """A PaymentIntent (not one of our orders) paid at the fake: its two events."""
    intent = gateway.client().v1.payment_intents.create({"amount": 2750, "currency": "eur"})
    return fake_stripe.pay(payment_intent_id=intent.id)


@pytest.fixture
def received() -> Iterator[list[str]]:
    """Event ids our test receiver saw for ``payment_intent.succeeded``, as an app handler would."""
    seen: list[str] = []

    def on_succeeded(sender: object, event: Event, **kwargs: object) -> None:
        seen.append(event.id)

    djstripe_receiver("payment_intent.succeeded")(on_succeeded)
    yield seen
    WEBHOOK_SIGNALS["payment_intent.succeeded"].disconnect(on_succeeded, sender=Event)


def test_a_signed_event_reaches_dj_stripe_which_syncs_through_the_fake(
    stripe_deliver: Deliver,
    paid_intent_events: list[dict[str, Any]],
    fake_stripe: FakeStripe,
    received: list[str],
) -> None:
    succeeded = paid_intent_events[0]
    assert succeeded["type"] == "payment_intent.succeeded"

    response = stripe_deliver(succeeded)

    assert response.status_code == 200, response.content
    assert Event.objects.filter(id=succeeded["id"], type="payment_intent.succeeded").exists()
    assert received == [succeeded["id"]]
    intent_id = succeeded["data"]["object"]["id"]
    # dj-stripe fetched the current object (and the account, once) from "Stripe": the fake.
    assert ("GET", f"/v1/payment_intents/{intent_id}") in [(m, p) for m, p, _ in fake_stripe.requests]
    assert ("GET", "/v1/account") in [(m, p) for m, p, _ in fake_stripe.requests]
    assert PaymentIntent.objects.get(id=intent_id).stripe_data["status"] == "succeeded"
    assert WebhookEventTrigger.objects.get().processed is True


def test_the_same_event_twice_is_handled_once(
    stripe_deliver: Deliver, paid_intent_events: list[dict[str, Any]], received: list[str]
) -> None:
    succeeded = paid_intent_events[0]

    first = stripe_deliver(succeeded)
    second = stripe_deliver(succeeded)  # Stripe retries (e.g. our 200 got lost)

    assert (first.status_code, second.status_code) == (200, 200)
    assert received == [succeeded["id"]]
    assert Event.objects.filter(id=succeeded["id"]).count() == 1
    assert WebhookEventTrigger.objects.count() == 2


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param({"secret": "whsec_someone_else"}, id="other-secret"),
        pytest.param({"timestamp": int(time.time()) - 301}, id="stale-signature"),
        pytest.param({"signature": "t=1,v1=deadbeef"}, id="garbage-signature"),
        pytest.param({"signature": None}, id="unsigned"),
    ],
)
def test_a_forged_stale_or_missing_signature_is_400_and_nothing_happens(
    stripe_deliver: Deliver,
    paid_intent_events: list[dict[str, Any]],
    received: list[str],
    fake_stripe: FakeStripe,
    forgery: dict[str, Any],
) -> None:
    before = len(fake_stripe.requests)

    response = stripe_deliver(paid_intent_events[0], **forgery)

    assert response.status_code == 400
    assert received == []
    assert not Event.objects.exists()
    assert not PaymentIntent.objects.exists()
    assert len(fake_stripe.requests) == before  # nothing was fetched for it
    assert not WebhookEventTrigger.objects.filter(valid=True).exists()


def test_a_tampered_body_is_400(stripe_deliver: Deliver, paid_intent_events: list[dict[str, Any]]) -> None:
    event = paid_intent_events[0]
    endpoint = WebhookEndpoint.objects.get()
    signature = webhook_signature_header(json.dumps(event), endpoint.secret)
    tampered = dict(event, data={"object": {**event["data"]["object"], "amount": 1}})

    response = stripe_deliver(tampered, signature=signature)

    assert response.status_code == 400
    assert not Event.objects.exists()


def test_an_unknown_endpoint_uuid_is_404(client: Any, stripe_webhook_endpoint: WebhookEndpoint) -> None:
    response = client.post(
        f"/stripe/webhook/{uuid.uuid4()}/",
        data="{}",
        content_type="application/json",
        secure=True,
        headers={"Stripe-Signature": webhook_signature_header("{}", stripe_webhook_endpoint.secret)},
    )
    assert response.status_code == 404


def test_the_webhook_is_not_redirected_csrf_blocked_or_rate_limited(
    stripe_deliver: Deliver, fake_stripe: FakeStripe, received: list[str]
) -> None:
    """Production settings: HTTPS redirect on, CSRF on; Stripe bursts events without cookies or tokens."""
    with override_settings(SECURE_SSL_REDIRECT=True):
        for _ in range(15):
            intent = gateway.client().v1.payment_intents.create({"amount": 500, "currency": "eur"})
            response = stripe_deliver(fake_stripe.pay(payment_intent_id=intent.id)[0])
            assert response.status_code == 200, response.content
    assert len(received) == 15


# --- configuration checks ---------------------------------------------------------------------------------


def _ids(**settings: object) -> list[str]:
    with override_settings(**settings):
        return [message.id for message in check_stripe_settings()]


def test_the_test_settings_pass_the_checks() -> None:
    assert _ids() == []


def test_offline_stripe_is_refused_without_debug() -> None:
    assert _ids(DEBUG=False, STRIPE_OFFLINE=True) == ["orders.E101"]
    assert _ids(DEBUG=True, STRIPE_OFFLINE=True) == []


def test_missing_malformed_or_wrong_mode_keys_are_errors() -> None:
    live = "sk_live_" + "a" * 24
    assert _ids(STRIPE_SECRET_KEY="") == ["orders.E102"]
    assert _ids(STRIPE_PUBLISHABLE_KEY="") == ["orders.E102"]
    assert _ids(STRIPE_SECRET_KEY="sk_test_short") == ["orders.E103"]
    assert _ids(STRIPE_SECRET_KEY="pk_test_" + "a" * 24) == ["orders.E103"]  # a publishable key as the secret
    assert _ids(STRIPE_SECRET_KEY=live) == ["orders.E104"]  # a live key while STRIPE_LIVE_MODE is off
    assert (
        _ids(STRIPE_SECRET_KEY=live, STRIPE_PUBLISHABLE_KEY="pk_live_" + "a" * 24, STRIPE_LIVE_MODE=True)
        == []
    )


def _manage_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STRIPE_", "DATABASE_URL"))}
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "grasshopper.settings.base",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "prod-like-" + "k7Qz9xW2pL4mN8vB1cR6tY3uI0oP5aS" * 2,
            "DATABASE_URL": "sqlite:////nonexistent-dir/never-opened.sqlite3",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "DJANGO_ALLOWED_HOSTS": "tickets.example.com",
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_start_stops_on_offline_stripe() -> None:
    """A real start (``manage.py check``, as migrate and runserver run it) with DEBUG off, no keys and
    STRIPE_OFFLINE on: refused, naming the problem."""
    result = _manage_check({"STRIPE_OFFLINE": "true"})

    assert result.returncode == 1
    assert "orders.E101" in result.stderr
    assert "STRIPE_OFFLINE" in result.stderr


def test_the_test_databases_dj_stripe_schema_matches_dj_stripes_models() -> None:
    """The suite builds dj-stripe's tables from one generated migration (settings/test.py): it must
    describe the installed dj-stripe exactly (regenerate it after an upgrade, see its docstring)."""
    call_command("makemigrations", "djstripe", check=True, dry_run=True, stdout=open(os.devnull, "w"))  # noqa: SIM115


# --- offline mode -----------------------------------------------------------------------------------------


def test_offline_mode_routes_every_stripe_call_to_the_process_fake() -> None:
    import stripe

    with override_settings(STRIPE_OFFLINE=True, DEBUG=True):
        assert gateway.install_offline_transport() is True

    assert gateway.installed_transport() is offline_fake().transport
    assert stripe.default_http_client is offline_fake().transport  # dj-stripe's calls too
    # (the autouse fixture puts the test transport back afterwards)


def test_offline_mode_never_fakes_payments_without_debug() -> None:
    before = gateway.installed_transport()

    with override_settings(STRIPE_OFFLINE=True, DEBUG=False):
        assert gateway.install_offline_transport() is False

    assert gateway.installed_transport() is before


# --- prune ------------------------------------------------------------------------------------------------


def test_prune_deletes_only_triggers_older_than_the_retention(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_TRIGGER_RETENTION_DAYS = 30
    now = timezone.now()
    ages = {"old": 31, "older": 90, "recent": 29, "today": 0}
    for label, days in ages.items():
        trigger = WebhookEventTrigger.objects.create(remote_ip="127.0.0.1", headers={}, body=label)
        WebhookEventTrigger.objects.filter(pk=trigger.pk).update(created=now - timedelta(days=days))

    deleted = stripe_webhook_triggers_prune_task.delay().get()

    assert deleted == 2
    assert sorted(WebhookEventTrigger.objects.values_list("body", flat=True)) == ["recent", "today"]


def test_the_prune_runs_hourly_on_beat(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["stripe-webhook-triggers-prune"]
    assert entry["task"] == stripe_webhook_triggers_prune_task.name


# --- endpoint from the environment --------------------------------------------------------------------------


def test_ensure_upserts_the_endpoint_from_the_environment(settings: Any) -> None:
    endpoint_uuid = uuid.uuid4()
    settings.STRIPE_WEBHOOK_ENDPOINT_ID = "we_1Prod"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_first"  # nosec B105
    settings.STRIPE_WEBHOOK_UUID = str(endpoint_uuid)
    settings.SITE_URL = "https://tickets.example.com"

    call_command("stripe_webhook_endpoint_ensure", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("stripe_webhook_endpoint_ensure", stdout=open(os.devnull, "w"))  # noqa: SIM115
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.id == "we_1Prod"
    assert endpoint.secret == "whsec_first"
    assert endpoint.djstripe_uuid == endpoint_uuid
    assert endpoint.url == f"https://tickets.example.com/stripe/webhook/{endpoint_uuid}/"
    assert endpoint.livemode is False
    assert endpoint.enabled_events == WEBHOOK_EVENTS
    assert endpoint.api_version == settings.STRIPE_API_VERSION

    settings.STRIPE_WEBHOOK_SECRET = "whsec_rotated"  # nosec B105
    call_command("stripe_webhook_endpoint_ensure", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert WebhookEndpoint.objects.get().secret == "whsec_rotated"


def test_ensure_refuses_a_partial_configuration(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_ENDPOINT_ID = "we_1Prod"
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_WEBHOOK_UUID = str(uuid.uuid4())

    with pytest.raises(CommandError, match="STRIPE_WEBHOOK_SECRET"):
        call_command("stripe_webhook_endpoint_ensure")
    assert not WebhookEndpoint.objects.exists()


def test_offline_ensure_creates_one_local_endpoint_and_keeps_its_secret(
    settings: Any, fake_stripe: FakeStripe
) -> None:
    settings.STRIPE_OFFLINE = True
    settings.STRIPE_WEBHOOK_ENDPOINT_ID = settings.STRIPE_WEBHOOK_SECRET = settings.STRIPE_WEBHOOK_UUID = ""

    call_command("stripe_webhook_endpoint_ensure", stdout=open(os.devnull, "w"))  # noqa: SIM115
    first = WebhookEndpoint.objects.get()
    call_command("stripe_webhook_endpoint_ensure", stdout=open(os.devnull, "w"))  # noqa: SIM115
    again = WebhookEndpoint.objects.get()

    assert first.id == again.id == OFFLINE_ENDPOINT_ID
    assert again.secret == first.secret
    assert first.secret.startswith("whsec_")
    assert len(first.secret) > 30

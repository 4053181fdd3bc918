"""An in-process fake of Stripe's HTTP API, for the tests and the offline mode (``STRIPE_OFFLINE``).

No machine here reaches Stripe, and dj-stripe calls Stripe's API inside every webhook it processes. So
instead of mocking our code, we fake the network: ``FakeStripeTransport`` is a ``stripe.HTTPClient``
installed as ``stripe.default_http_client`` (dj-stripe's calls) and as our gateway's ``http_client``
(``orders.gateway.install_transport``). stripe-python still encodes every request and parses every answer,
dj-stripe still verifies signatures, stores and syncs, and our code runs exactly as in production.

``FakeStripe`` is the in-memory Stripe account behind the transport; its simulators (``pay``, ``decline``,
``expire_session``, ``refund``, ``fail_refund``, ``dispute``) change the objects the way Stripe does when
the buyer or the dashboard acts, and return the events Stripe would send (``id evt_...``, ``type``,
``data.object`` = the object's JSON at that moment). Calls made through the API that make Stripe send
events (``POST /v1/refunds``, session expiry, intent cancel) queue them in ``pending_events()``.

Faithful (on purpose, because our code depends on it):

- Idempotency: the same ``Idempotency-Key`` with the same parameters replays the saved answer
  (``Idempotent-Replayed: true``); with other parameters, or on another endpoint, it is a 400
  ``idempotency_error`` (stripe-python raises ``stripe.IdempotencyError``). Answers that failed
  validation (400) are not saved, as on Stripe.
- Unknown ids answer 404 ``resource_missing`` ("No such payment_intent: 'pi_x'"); unknown URLs 404.
- Request bodies are decoded like Stripe's form encoding (``a[b][0]=x`` -> nested dicts and lists);
  ``expand`` is tolerated (ids of known objects are replaced by the objects; ``line_items`` and
  ``total_details.breakdown`` are filled in; anything else is ignored).
- Object shapes follow Stripe's API reference for ``STRIPE_API_VERSION`` (dahlia) for the fields we and
  dj-stripe read: a Checkout Session gets its PaymentIntent only when the buyer pays (API >= 2022-08-01),
  carries ``payment_intent_data.metadata`` over to it, ``payment_status``/``status`` move
  unpaid/open -> paid/complete or expired; ``charge.refunded`` carries the cumulative
  ``amount_refunded``; refunds of card payments succeed at once (test mode); a declined attempt leaves the
  intent in ``requires_payment_method`` with ``last_payment_error`` (the buyer may retry); expiring a
  session cancels its intent; ``checkout.session.expired`` is sent for API expiry too.
- Zero-decimal currencies: amounts are kept as given (integers in minor units), as on Stripe.

Not faithful (good enough for our tests, documented so nobody relies on it):

- Every object lives in one process's memory. ``offline_fake()`` is per process: in ``make run`` Celery is
  eager (no REDIS_URL), so web and tasks share it; with a separate worker process they would not.
- No parameter validation beyond what our code needs (missing required params are mostly accepted),
  no list endpoints, no pagination, no search, no rate limits, no 3-D Secure / ``requires_action``.
- Not every event Stripe sends is generated: ``payment_intent.created``/``charge.updated``/
  ``charge.refund.updated``/``balance.available`` are left out; the order of events within one
  simulator is a plausible one (Stripe guarantees no order, so our handlers must not depend on it).
- Fees are a flat made-up 1.5% + 25 minor units; no payouts; disputes have empty evidence.
- Subscriptions (the membership, issue 7): Checkout in ``mode=subscription`` (one recurring line item, a
  stored ``price`` or ``price_data``), simulators ``subscribe``, ``renew``, ``fail_renewal``, ``cancel``;
  ``POST /v1/subscriptions/<id>`` (``cancel_at_period_end``, metadata) and ``DELETE`` queue
  ``customer.subscription.updated`` / ``.deleted``. Shapes follow dahlia: the period is on the
  subscription items (``items.data[].current_period_end``), an invoice names its subscription under
  ``parent.subscription_details``. No PaymentIntents or charges for invoices, no trials, no proration,
  no customer portal, no dunning schedule (``fail_renewal`` goes straight to ``past_due``).
- Invoices, customers, products and prices otherwise are minimal (create/retrieve/update/delete of the
  stored dict).
"""

from __future__ import annotations

import calendar
import copy
import hashlib
import hmac
import json
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

API_VERSION_FALLBACK = "2026-05-27.dahlia"
LOCAL_CHECKOUT_PATH = "/_fakestripe/checkout/{id}/"
STRIPE_CHECKOUT_URL = "https://checkout.stripe.com/c/pay/{id}"
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "vnd", "vuv", "xaf", "xof", "xpf"}
)
_ALPHABET = string.ascii_letters + string.digits

Json = dict[str, Any]


class FakeStripeError(Exception):
    """A simulator was asked for something Stripe would not allow (e.g. paying an expired session)."""


class _ApiError(Exception):
    def __init__(
        self, status: int, message: str, *, type_: str = "invalid_request_error", **fields: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **fields}}


@dataclass
class FakeRequest:
    """One request the transport received."""

    method: str
    path: str
    params: Json
    headers: dict[str, str]
    status: int = 0
    idempotency_key: str | None = None
    replayed: bool = False


@dataclass
class _Failure:
    method: str
    path_prefix: str
    status: int
    body: Json
    times: int = 1


@dataclass
class _Saved:
    method: str
    path: str
    params: Json
    response: tuple[str, int, dict[str, str]]
    request_id: str = ""


def new_id(prefix: str) -> str:
    """A Stripe-looking id: ``pi_`` + 24 letters and digits."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def _api_version() -> str:
    try:
        from django.conf import settings

        return getattr(settings, "STRIPE_API_VERSION", "") or API_VERSION_FALLBACK
    except Exception:  # settings not configured (a plain script)
        return API_VERSION_FALLBACK


def _offline_mode() -> bool:
    try:
        from django.conf import settings

        return bool(getattr(settings, "STRIPE_OFFLINE", False))
    except Exception:
        return False


def _site_url() -> str:
    from django.conf import settings

    return str(getattr(settings, "SITE_URL", "http://127.0.0.1:8000")).rstrip("/")


# --- form decoding --------------------------------------------------------------------------------------


def decode_form(encoded: str) -> Json:
    """Stripe's form encoding back to nested data: ``a[b][0]=x&a[c]=y`` -> ``{"a": {"b": ["x"], "c": "y"}}``.

    Values stay strings (as Stripe receives them); dicts whose keys are all indexes become lists."""
    root: Json = {}
    for raw_key, value in parse_qsl(encoded, keep_blank_values=True):
        parts = _split_key(raw_key)
        node: Json = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        last = parts[-1]
        if last == "":  # "a[]=x": append
            node.setdefault("", [])
            node[""].append(value)
        else:
            node[last] = value
    return _listify(root)


def _split_key(key: str) -> list[str]:
    if "[" not in key:
        return [key]
    head, _, rest = key.partition("[")
    return [head, *rest.rstrip("]").split("][")]


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        if "" in value and len(value) == 1:
            return [_listify(v) for v in value[""]]
        if value and all(k.isdigit() for k in value):
            return [_listify(value[k]) for k in sorted(value, key=int)]
        return {k: _listify(v) for k, v in value.items()}
    return value


def _int(value: Any, *, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _ApiError(400, f"Invalid integer: {value}", param=param) from None


def _bool(value: Any) -> bool:
    return value in (True, "true", "True", "1")


# --- signing (what Stripe does to every webhook) --------------------------------------------------------


def webhook_signature_header(payload: str | bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send for ``payload``: ``t=<ts>,v1=<HMAC-SHA256>``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    body = payload.decode() if isinstance(payload, bytes) else payload
    digest = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


# --- the account ----------------------------------------------------------------------------------------


class FakeStripe:
    """An in-memory Stripe account; ``transport`` answers stripe-python's requests from it.

    Thread-safe: one lock guards every request and simulator (the offline dev server is threaded)."""

    def __init__(self, *, checkout_page_base: str | None = None) -> None:
        self._lock = threading.RLock()
        # Where Checkout Session ``url`` points: None = our local page when STRIPE_OFFLINE, else Stripe's.
        self.checkout_page_base = checkout_page_base
        self.transport: stripe.HTTPClient = FakeStripeTransport(self)
        self.reset()

    # --- state ---

    def reset(self) -> None:
        """Forget every object, request, idempotency key and queued event (a fresh account)."""
        with self._lock:
            self.objects: dict[str, Json] = {}
            self.requests: list[tuple[str, str, Json]] = []
            self.request_log: list[FakeRequest] = []
            self.events: list[Json] = []
            self._pending: list[Json] = []
            self._idempotency: dict[str, _Saved] = {}
            self._failures: list[_Failure] = []
            self._session_line_items: dict[str, Json] = {}
            self.account = self._put(
                {
                    "id": "acct_" + "1GrasshopperFake0000000",
                    "object": "account",
                    "business_profile": {
                        "mcc": "7922",
                        "name": "Grasshopper (offline Stripe)",
                        "support_email": None,
                        "support_phone": None,
                        "support_url": None,
                        "url": None,
                    },
                    "business_type": "company",
                    "capabilities": {"card_payments": "active", "transfers": "active"},
                    "charges_enabled": True,
                    "country": "DE",
                    "created": int(time.time()),
                    "default_currency": "eur",
                    "details_submitted": True,
                    "email": "payments@grasshopper.localhost",
                    "metadata": {},
                    "payouts_enabled": True,
                    "settings": {
                        "branding": {
                            "icon": None,
                            "logo": None,
                            "primary_color": None,
                            "secondary_color": None,
                        },
                        "dashboard": {"display_name": "Grasshopper", "timezone": "Etc/UTC"},
                        "payments": {"statement_descriptor": "GRASSHOPPER"},
                    },
                    "type": "standard",
                }
            )

    def get(self, object_id: str) -> Json:
        """A copy of the stored object (``KeyError`` if unknown)."""
        with self._lock:
            return copy.deepcopy(self.objects[object_id])

    def pending_events(self) -> list[Json]:
        """Events queued by API calls (refunds, session expiry, intent cancel) since the last call.

        Drained: a second call returns only what was queued in between."""
        with self._lock:
            drained, self._pending = self._pending, []
            return drained

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int = 500,
        error_type: str = "api_error",
        code: str | None = None,
        message: str = "An error occurred with our connection to Stripe.",
        decline_code: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` requests to ``METHOD path_prefix...`` fail with this Stripe error
        (e.g. ``fail_next("POST", "/v1/refunds", status=402, error_type="card_error",
        code="card_declined")``).
        Failures are answered before idempotency replay, and are not saved under the key."""
        body: Json = {"type": error_type, "message": message}
        if code:
            body["code"] = code
        if decline_code:
            body["decline_code"] = decline_code
        with self._lock:
            self._failures.append(_Failure(method.upper(), path_prefix, status, {"error": body}, times))

    # --- simulators (the buyer, the bank, the dashboard) ---

    def pay(
        self, *, checkout_session_id: str | None = None, payment_intent_id: str | None = None
    ) -> list[Json]:
        """The buyer pays (a Checkout Session, or a PaymentIntent through the mobile SDK).

        Session: ``checkout.session.completed`` (payment_status=paid), ``payment_intent.succeeded``,
        ``charge.succeeded``. Intent: ``payment_intent.succeeded``, ``charge.succeeded``."""
        with self._lock:
            session = self._session_for_simulator(checkout_session_id) if checkout_session_id else None
            if session is not None:
                intent = self._session_intent(session)
            else:
                intent = self._intent_for_simulator(payment_intent_id)
            if intent["status"] in ("succeeded", "canceled"):
                raise FakeStripeError(
                    f"PaymentIntent {intent['id']} is {intent['status']}: it cannot be paid."
                )
            charge = self._charge_create(intent, succeeded=True)
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=charge["id"],
                payment_method=charge["payment_method"],
                last_payment_error=None,
            )
            events = []
            if session is not None:
                session.update(
                    status="complete",
                    payment_status="paid",
                    url=None,
                    customer_details={
                        "address": _empty_address(),
                        "email": session.get("customer_email") or "buyer@example.com",
                        "name": "Offline Buyer",
                        "phone": None,
                        "tax_exempt": "none",
                        "tax_ids": [],
                    },
                )
                events.append(self._event("checkout.session.completed", session))
            events.append(self._event("payment_intent.succeeded", intent))
            events.append(self._event("charge.succeeded", charge))
            return events

    def decline(
        self, *, checkout_session_id: str | None = None, payment_intent_id: str | None = None
    ) -> list[Json]:
        """The buyer's card is declined: ``payment_intent.payment_failed``, ``charge.failed``.

        The intent goes back to ``requires_payment_method`` (the buyer may try another card); a session
        stays open."""
        with self._lock:
            session = self._session_for_simulator(checkout_session_id) if checkout_session_id else None
            intent = (
                self._session_intent(session)
                if session is not None
                else self._intent_for_simulator(payment_intent_id)
            )
            if intent["status"] in ("succeeded", "canceled"):
                raise FakeStripeError(f"PaymentIntent {intent['id']} is {intent['status']}: it cannot fail.")
            charge = self._charge_create(intent, succeeded=False)
            intent.update(
                status="requires_payment_method",
                latest_charge=charge["id"],
                payment_method=None,
                last_payment_error={
                    "charge": charge["id"],
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                    "message": "Your card was declined.",
                    "payment_method": self.objects[charge["payment_method"]],
                    "type": "card_error",
                },
            )
            return [
                self._event("payment_intent.payment_failed", intent),
                self._event("charge.failed", charge),
            ]

    def expire_session(self, checkout_session_id: str) -> list[Json]:
        """The session's ``expires_at`` passed (or it was expired): ``checkout.session.expired``."""
        with self._lock:
            session = self._session_for_simulator(checkout_session_id)
            return [self._expire(session)]

    def refund(self, *, payment_intent_id: str, amount: int | None = None) -> list[Json]:
        """A refund made in the Stripe DASHBOARD (no metadata of ours): ``refund.created``,
        ``charge.refunded``. ``amount`` in minor units; None = everything not yet refunded."""
        with self._lock:
            intent = self._intent_for_simulator(payment_intent_id)
            try:
                refund, charge = self._refund_create(intent, amount=amount, metadata={}, reason=None)
            except _ApiError as error:
                raise FakeStripeError(error.body["error"]["message"]) from None
            return [self._event("refund.created", refund), self._event("charge.refunded", charge)]

    def fail_refund(self, refund_id: str) -> list[Json]:
        """The bank could not return the money: ``refund.failed``, ``refund.updated``; the charge's
        ``amount_refunded`` goes back down."""
        with self._lock:
            refund = self.objects.get(refund_id)
            if refund is None or refund.get("object") != "refund":
                raise FakeStripeError(f"No such refund: {refund_id!r}")
            if refund["status"] == "failed":
                raise FakeStripeError(f"Refund {refund_id} already failed.")
            refund.update(status="failed", failure_reason="expired_or_canceled_card")
            charge = self.objects[refund["charge"]]
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            self._sync_charge_refunds(charge)
            return [self._event("refund.failed", refund), self._event("refund.updated", refund)]

    def dispute(self, *, payment_intent_id: str, close_as: str | None = None) -> list[Json]:
        """The buyer disputes the payment: ``charge.dispute.created``; with ``close_as`` ("won" or "lost")
        an open dispute is closed (``charge.dispute.closed``), opened first if there is none."""
        if close_as not in (None, "won", "lost"):
            raise FakeStripeError("close_as is 'won', 'lost' or None")
        with self._lock:
            intent = self._intent_for_simulator(payment_intent_id)
            charge = self.objects.get(intent.get("latest_charge") or "")
            if charge is None or charge["status"] != "succeeded":
                raise FakeStripeError(
                    f"PaymentIntent {payment_intent_id} has no successful charge to dispute."
                )
            events = []
            dispute = next(
                (
                    d
                    for d in self.objects.values()
                    if d.get("object") == "dispute"
                    and d["charge"] == charge["id"]
                    and d["status"] not in ("won", "lost")
                ),
                None,
            )
            if dispute is None:
                dispute = self._put(
                    {
                        "id": new_id("du"),
                        "object": "dispute",
                        "amount": charge["amount"] - charge["amount_refunded"],
                        "balance_transactions": [],
                        "charge": charge["id"],
                        "created": int(time.time()),
                        "currency": charge["currency"],
                        "enhanced_eligibility_types": [],
                        "evidence": {},
                        "evidence_details": {
                            "due_by": int(time.time()) + 7 * 86400,
                            "enhanced_eligibility": {},
                            "has_evidence": False,
                            "past_due": False,
                            "submission_count": 0,
                        },
                        "is_charge_refundable": False,
                        "livemode": False,
                        "metadata": {},
                        "payment_intent": intent["id"],
                        "payment_method_details": {
                            "card": {"brand": "visa", "network_reason_code": "10.4"},
                            "type": "card",
                        },
                        "reason": "fraudulent",
                        "status": "needs_response",
                    }
                )
                charge["disputed"] = True
                events.append(self._event("charge.dispute.created", dispute))
            if close_as is not None:
                dispute["status"] = close_as
                dispute["is_charge_refundable"] = False
                events.append(self._event("charge.dispute.closed", dispute))
            return events

    # --- simulators: subscriptions ("Grasshopper Plus" membership, issue 7) ---

    def subscribe(self, *, checkout_session_id: str) -> list[Json]:
        """The buyer completes a Checkout Session in subscription mode: the customer (created when the
        session named none), an active subscription for one month, its first invoice paid.

        Events: ``customer.created`` (a new customer only), ``customer.subscription.created``,
        ``invoice.paid``, ``invoice.payment_succeeded``, ``checkout.session.completed`` (mode
        subscription, ``subscription`` and ``invoice`` set)."""
        with self._lock:
            session = self._session_for_simulator(checkout_session_id)
            if session.get("mode") != "subscription":
                raise FakeStripeError(f"Checkout Session {checkout_session_id} is not in subscription mode.")
            events: list[Json] = []
            customer = self.objects.get(session.get("customer") or "")
            if customer is None:
                customer = self._customer_create(
                    {"email": session.get("customer_email") or "buyer@example.com", "name": "Offline Buyer"}
                )
                events.append(self._event("customer.created", customer))
            data = session.get("_subscription_data") or {}
            subscription = self._subscription_create(
                customer=customer,
                price=self.objects[session["_price"]],
                quantity=session["_quantity"],
                metadata=dict(data.get("metadata") or {}),
            )
            invoice = self._invoice_create(subscription, billing_reason="subscription_create", paid=True)
            session.update(
                status="complete",
                payment_status="paid",
                url=None,
                customer=customer["id"],
                subscription=subscription["id"],
                invoice=invoice["id"],
                customer_details={
                    "address": _empty_address(),
                    "email": customer.get("email"),
                    "name": customer.get("name"),
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
            )
            events.append(self._event("customer.subscription.created", subscription))
            events.append(self._event("invoice.paid", invoice))
            events.append(self._event("invoice.payment_succeeded", invoice))
            events.append(self._event("checkout.session.completed", session))
            return events

    def renew(self, *, subscription_id: str) -> list[Json]:
        """The period ended and the next month was paid: a new period, a paid ``subscription_cycle``
        invoice. Events: ``invoice.paid``, ``invoice.payment_succeeded``, ``customer.subscription.updated``.
        A subscription set to cancel at period end does not renew (use ``cancel``)."""
        with self._lock:
            subscription = self._subscription_for_simulator(subscription_id)
            if subscription["cancel_at_period_end"]:
                raise FakeStripeError(
                    f"Subscription {subscription_id} cancels at period end: it does not renew."
                )
            self._subscription_next_period(subscription)
            invoice = self._invoice_create(subscription, billing_reason="subscription_cycle", paid=True)
            subscription["status"] = "active"
            return [
                self._event("invoice.paid", invoice),
                self._event("invoice.payment_succeeded", invoice),
                self._event("customer.subscription.updated", subscription),
            ]

    def fail_renewal(self, *, subscription_id: str) -> list[Json]:
        """The period ended and the card was declined: the subscription moves to its next period but is
        ``past_due`` (Stripe retries), the invoice stays ``open``. Events: ``invoice.payment_failed``,
        ``customer.subscription.updated``."""
        with self._lock:
            subscription = self._subscription_for_simulator(subscription_id)
            self._subscription_next_period(subscription)
            invoice = self._invoice_create(subscription, billing_reason="subscription_cycle", paid=False)
            subscription["status"] = "past_due"
            return [
                self._event("invoice.payment_failed", invoice),
                self._event("customer.subscription.updated", subscription),
            ]

    def cancel(self, *, subscription_id: str, at_period_end: bool = False) -> list[Json]:
        """The subscription is cancelled from the dashboard or the customer portal.

        ``at_period_end``: it stays active until its period ends (``customer.subscription.updated`` with
        ``cancel_at_period_end``). Otherwise it ends now (``customer.subscription.deleted``, status
        ``canceled``); this is also what Stripe sends when the period of a subscription set to cancel at
        period end runs out."""
        with self._lock:
            subscription = self._subscription_for_simulator(subscription_id)
            if at_period_end:
                self._subscription_set_cancel_at_period_end(subscription, True)
                return [self._event("customer.subscription.updated", subscription)]
            self._subscription_end(subscription)
            return [self._event("customer.subscription.deleted", subscription)]

    # --- helpers for simulators ---

    def _session_for_simulator(self, session_id: str) -> Json:
        session = self.objects.get(session_id)
        if session is None or session.get("object") != "checkout.session":
            raise FakeStripeError(f"No such checkout.session: {session_id!r}")
        if session["status"] != "open":
            raise FakeStripeError(f"Checkout Session {session_id} is {session['status']}, not open.")
        return session

    def _intent_for_simulator(self, intent_id: str | None) -> Json:
        if not intent_id:
            raise FakeStripeError("Give checkout_session_id or payment_intent_id.")
        intent = self.objects.get(intent_id)
        if intent is None or intent.get("object") != "payment_intent":
            raise FakeStripeError(f"No such payment_intent: {intent_id!r}")
        return intent

    def _session_intent(self, session: Json) -> Json:
        """The session's PaymentIntent, created when the buyer first confirms (as Stripe does)."""
        if session["payment_intent"]:
            return self.objects[session["payment_intent"]]
        data = session.pop("_payment_intent_data", {}) or {}
        intent = self._intent_create(
            {
                "amount": session["amount_total"],
                "currency": session["currency"],
                "metadata": data.get("metadata") or {},
                "description": data.get("description"),
                "receipt_email": session.get("customer_email"),
            }
        )
        intent["automatic_payment_methods"] = None
        intent["payment_method_types"] = session["payment_method_types"]
        session["payment_intent"] = intent["id"]
        return intent

    def _expire(self, session: Json) -> Json:
        session.update(status="expired", url=None)
        intent = self.objects.get(session.get("payment_intent") or "")
        if intent is not None and intent["status"] not in ("succeeded", "canceled"):
            intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason="automatic")
        return self._event("checkout.session.expired", session)

    # --- objects ---

    def _put(self, obj: Json) -> Json:
        self.objects[obj["id"]] = obj
        return obj

    def _event(
        self, type_: str, obj: Json, *, request_id: str | None = None, idempotency_key: str | None = None
    ) -> Json:
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": _api_version(),
            "created": int(time.time()),
            "data": {"object": _public(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": type_,
        }
        self._put(event)
        self.events.append(event)
        return copy.deepcopy(event)

    def _intent_create(self, params: Json) -> Json:
        amount = _int(params.get("amount"), param="amount")
        if amount < 1:
            raise _ApiError(
                400, "Amount must be at least 1 minor unit", code="amount_too_small", param="amount"
            )
        currency = str(params.get("currency") or "").lower()
        if len(currency) != 3:
            raise _ApiError(
                400, "Missing required param: currency.", code="parameter_missing", param="currency"
            )
        apm = params.get("automatic_payment_methods")
        intent_id = new_id("pi")
        return self._put(
            {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_details": {"tip": {}},
                "amount_received": 0,
                "application": None,
                "application_fee_amount": None,
                "automatic_payment_methods": (
                    {"allow_redirects": "always", "enabled": True}
                    if isinstance(apm, dict) and _bool(apm.get("enabled"))
                    else None
                ),
                "canceled_at": None,
                "cancellation_reason": None,
                "capture_method": "automatic_async",
                "client_secret": f"{intent_id}_secret_"
                + "".join(secrets.choice(_ALPHABET) for _ in range(25)),
                "confirmation_method": "automatic",
                "created": int(time.time()),
                "currency": currency,
                "customer": params.get("customer") or None,
                "description": params.get("description") or None,
                "excluded_payment_method_types": None,
                "last_payment_error": None,
                "latest_charge": None,
                "livemode": False,
                "metadata": dict(params.get("metadata") or {}),
                "next_action": None,
                "on_behalf_of": None,
                "payment_method": None,
                "payment_method_configuration_details": None,
                "payment_method_options": {
                    "card": {
                        "installments": None,
                        "mandate_options": None,
                        "network": None,
                        "request_three_d_secure": "automatic",
                    }
                },
                "payment_method_types": ["card"],
                "processing": None,
                "receipt_email": params.get("receipt_email") or None,
                "review": None,
                "setup_future_usage": None,
                "shipping": None,
                "source": None,
                "statement_descriptor": None,
                "statement_descriptor_suffix": None,
                "status": "requires_payment_method",
                "transfer_data": None,
                "transfer_group": None,
            }
        )

    def _charge_create(self, intent: Json, *, succeeded: bool) -> Json:
        now = int(time.time())
        method = self._put(
            {
                "id": new_id("pm"),
                "object": "payment_method",
                "allow_redisplay": "unspecified",
                "billing_details": {
                    "address": _empty_address(),
                    "email": intent.get("receipt_email"),
                    "name": "Offline Buyer",
                    "phone": None,
                },
                "card": {
                    "brand": "visa",
                    "checks": {
                        "address_line1_check": None,
                        "address_postal_code_check": None,
                        "cvc_check": "pass",
                    },
                    "country": "US",
                    "display_brand": "visa",
                    "exp_month": 12,
                    "exp_year": 2034,
                    # Stripe gives one card one fingerprint: here, one per buyer (the intent's customer or
                    # receipt email), so two people never share a card by accident (referral abuse rules).
                    "fingerprint": _card_fingerprint(intent),
                    "funding": "credit",
                    "last4": "4242" if succeeded else "0002",
                    "networks": {"available": ["visa"], "preferred": None},
                    "wallet": None,
                },
                "created": now,
                "customer": intent.get("customer"),
                "livemode": False,
                "metadata": {},
                "type": "card",
            }
        )
        charge_id = new_id("ch")
        txn = None
        if succeeded:
            fee = round(intent["amount"] * 0.015) + (
                0 if intent["currency"] in ZERO_DECIMAL_CURRENCIES else 25
            )
            txn = self._put(
                {
                    "id": new_id("txn"),
                    "object": "balance_transaction",
                    "amount": intent["amount"],
                    "available_on": now + 2 * 86400,
                    "created": now,
                    "currency": intent["currency"],
                    "description": intent.get("description"),
                    "exchange_rate": None,
                    "fee": fee,
                    "fee_details": [
                        {
                            "amount": fee,
                            "application": None,
                            "currency": intent["currency"],
                            "description": "Stripe processing fees",
                            "type": "stripe_fee",
                        }
                    ],
                    "net": intent["amount"] - fee,
                    "reporting_category": "charge",
                    "source": charge_id,
                    "status": "pending",
                    "type": "charge",
                }
            )
        charge = self._put(
            {
                "id": charge_id,
                "object": "charge",
                "amount": intent["amount"],
                "amount_captured": intent["amount"] if succeeded else 0,
                "amount_refunded": 0,
                "application": None,
                "application_fee": None,
                "application_fee_amount": None,
                "balance_transaction": txn["id"] if txn else None,
                "billing_details": method["billing_details"],
                "calculated_statement_descriptor": "GRASSHOPPER",
                "captured": succeeded,
                "created": now,
                "currency": intent["currency"],
                "customer": intent.get("customer"),
                "description": intent.get("description"),
                "disputed": False,
                "failure_balance_transaction": None,
                "failure_code": None if succeeded else "card_declined",
                "failure_message": None if succeeded else "Your card was declined.",
                "fraud_details": {},
                "livemode": False,
                "metadata": dict(intent.get("metadata") or {}),
                "on_behalf_of": None,
                "outcome": {
                    "network_status": "approved_by_network" if succeeded else "declined_by_network",
                    "reason": None if succeeded else "generic_decline",
                    "risk_level": "normal",
                    "risk_score": 20,
                    "seller_message": "Payment complete."
                    if succeeded
                    else "The bank did not return any further details with this decline.",
                    "type": "authorized" if succeeded else "issuer_declined",
                },
                "paid": succeeded,
                "payment_intent": intent["id"],
                "payment_method": method["id"],
                "payment_method_details": {
                    "card": {
                        k: method["card"][k]
                        for k in (
                            "brand",
                            "country",
                            "exp_month",
                            "exp_year",
                            "fingerprint",
                            "funding",
                            "last4",
                        )
                    },
                    "type": "card",
                },
                "receipt_email": intent.get("receipt_email"),
                "receipt_number": None,
                "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge_id}",
                "refunded": False,
                "refunds": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "total_count": 0,
                    "url": f"/v1/charges/{charge_id}/refunds",
                },
                "review": None,
                "shipping": None,
                "source_transfer": None,
                "statement_descriptor": None,
                "statement_descriptor_suffix": None,
                "status": "succeeded" if succeeded else "failed",
                "transfer_data": None,
                "transfer_group": None,
            }
        )
        return charge

    def _refund_create(
        self, intent: Json, *, amount: int | None, metadata: Json, reason: str | None
    ) -> tuple[Json, Json]:
        charge = self.objects.get(intent.get("latest_charge") or "")
        if intent["status"] != "succeeded" or charge is None or charge["status"] != "succeeded":
            raise _ApiError(
                400,
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise _ApiError(
                400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise _ApiError(400, "Refund amount must be positive.", param="amount")
        if amount > remaining:
            raise _ApiError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                code="amount_too_large",
                param="amount",
            )
        now = int(time.time())
        refund = self._put(
            {
                "id": new_id("re"),
                "object": "refund",
                "amount": amount,
                "balance_transaction": None,
                "charge": charge["id"],
                "created": now,
                "currency": charge["currency"],
                "destination_details": {
                    "card": {
                        "reference_status": "pending",
                        "reference_type": "acquirer_reference_number",
                        "type": "refund",
                    },
                    "type": "card",
                },
                "metadata": dict(metadata),
                "payment_intent": intent["id"],
                "reason": reason,
                "receipt_number": None,
                "source_transfer_reversal": None,
                "status": "succeeded",
                "transfer_reversal": None,
            }
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self._sync_charge_refunds(charge)
        return refund, charge

    def _sync_charge_refunds(self, charge: Json) -> None:
        refunds = [
            o for o in self.objects.values() if o.get("object") == "refund" and o["charge"] == charge["id"]
        ]
        refunds.sort(key=lambda r: r["created"], reverse=True)
        charge["refunds"] = {
            "object": "list",
            "data": [_public(r) for r in refunds],
            "has_more": False,
            "total_count": len(refunds),
            "url": f"/v1/charges/{charge['id']}/refunds",
        }

    def _checkout_url(self, session_id: str) -> str:
        """Where the buyer pays: our local page when offline (or ``checkout_page_base``), else Stripe's."""
        if self.checkout_page_base is not None:
            return self.checkout_page_base.rstrip("/") + LOCAL_CHECKOUT_PATH.format(id=session_id)
        if _offline_mode():
            return _site_url() + LOCAL_CHECKOUT_PATH.format(id=session_id)
        return STRIPE_CHECKOUT_URL.format(id=session_id)

    def _session_create(self, params: Json) -> Json:
        mode = params.get("mode")
        if mode == "subscription":
            return self._subscription_session_create(params)
        if mode != "payment":
            raise _ApiError(400, "The fake supports mode=payment and mode=subscription only.", param="mode")
        items = params.get("line_items") or []
        if not items:
            raise _ApiError(
                400, "line_items is required in payment mode.", code="parameter_missing", param="line_items"
            )
        session_id = new_id("cs_test")
        currency = ""
        total = 0
        line_data = []
        for index, item in enumerate(items):
            price = item.get("price_data") or {}
            quantity = _int(item.get("quantity", 1), param=f"line_items[{index}][quantity]")
            unit = _int(price.get("unit_amount"), param=f"line_items[{index}][price_data][unit_amount]")
            currency = str(price.get("currency") or currency).lower()
            total += unit * quantity
            name = (price.get("product_data") or {}).get("name") or ""
            line_data.append(
                {
                    "id": new_id("li"),
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": unit * quantity,
                    "amount_tax": 0,
                    "amount_total": unit * quantity,
                    "currency": currency,
                    "description": name,
                    "price": {
                        "id": new_id("price"),
                        "object": "price",
                        "currency": currency,
                        "unit_amount": unit,
                        "type": "one_time",
                        "product": new_id("prod"),
                    },
                    "quantity": quantity,
                }
            )
        now = int(time.time())
        expires_at = _int(params.get("expires_at", now + 86400), param="expires_at")
        if not now + 1800 - 5 <= expires_at <= now + 86400 + 5:
            raise _ApiError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session "
                "creation.",
                param="expires_at",
            )
        url = self._checkout_url(session_id)
        self._session_line_items[session_id] = {
            "object": "list",
            "data": line_data,
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }
        return self._put(
            {
                "id": session_id,
                "object": "checkout.session",
                "_payment_intent_data": params.get("payment_intent_data") or {},
                "adaptive_pricing": {"enabled": False},
                "after_expiration": None,
                "allow_promotion_codes": None,
                "amount_subtotal": total,
                "amount_total": total,
                "automatic_tax": {"enabled": False, "liability": None, "status": None},
                "billing_address_collection": None,
                "cancel_url": params.get("cancel_url"),
                "client_reference_id": params.get("client_reference_id") or None,
                "client_secret": None,  # nosec B105
                "consent": None,
                "consent_collection": None,
                "created": now,
                "currency": currency,
                "custom_fields": [],
                "custom_text": {
                    "after_submit": None,
                    "shipping_address": None,
                    "submit": None,
                    "terms_of_service_acceptance": None,
                },
                "customer": params.get("customer") or None,
                "customer_creation": "if_required",
                "customer_details": None,
                "customer_email": params.get("customer_email") or None,
                "expires_at": expires_at,
                "invoice": None,
                "invoice_creation": None,
                "livemode": False,
                "locale": params.get("locale") or None,
                "metadata": dict(params.get("metadata") or {}),
                "mode": "payment",
                "payment_intent": None,
                "payment_link": None,
                "payment_method_collection": "if_required",
                "payment_method_configuration_details": None,
                "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
                "payment_method_types": ["card"],
                "payment_status": "unpaid",
                "phone_number_collection": {"enabled": False},
                "recovered_from": None,
                "setup_intent": None,
                "shipping_address_collection": None,
                "shipping_cost": None,
                "shipping_options": [],
                "status": "open",
                "submit_type": None,
                "subscription": None,
                "success_url": params.get("success_url"),
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
                "ui_mode": "hosted",
                "url": url,
            }
        )

    # --- helpers: subscriptions ---

    def _subscription_for_simulator(self, subscription_id: str) -> Json:
        subscription = self.objects.get(subscription_id)
        if subscription is None or subscription.get("object") != "subscription":
            raise FakeStripeError(f"No such subscription: {subscription_id!r}")
        if subscription["status"] in ("canceled", "incomplete_expired"):
            raise FakeStripeError(f"Subscription {subscription_id} is {subscription['status']}.")
        return subscription

    def _customer_create(self, params: Json) -> Json:
        customer: Json = {
            "id": new_id("cus"),
            "object": "customer",
            "address": None,
            "created": int(time.time()),
            "default_source": None,
            "discount": None,
            "invoice_prefix": "".join(secrets.choice(string.ascii_uppercase) for _ in range(8)),
            "livemode": False,
            "metadata": dict(params.get("metadata") or {}),
            "next_invoice_sequence": 1,
            "phone": None,
            "shipping": None,
            "test_clock": None,
        }
        customer.update(_defaults("customer"))
        customer.update(email=params.get("email") or None, name=params.get("name") or None)
        return self._put(customer)

    def _price_from_params(self, item: Json) -> Json:
        """The Price of a subscription-mode line item: a stored one (``price``) or one made from
        ``price_data`` (with its Product), as Stripe does."""
        if item.get("price"):
            return self._require(str(item["price"]), "price", param="line_items[0][price]")
        data = item.get("price_data") or {}
        recurring = data.get("recurring") or {}
        if not recurring.get("interval"):
            raise _ApiError(
                400,
                "You must specify `recurring` in `price_data` when using `subscription` mode.",
                param="line_items[0][price_data][recurring]",
            )
        now = int(time.time())
        product_data = data.get("product_data") or {}
        product = self._put(
            {
                "id": new_id("prod"),
                "object": "product",
                **_defaults("product"),
                "created": now,
                "default_price": None,
                "images": [],
                "livemode": False,
                "marketing_features": [],
                "metadata": dict(product_data.get("metadata") or {}),
                "name": product_data.get("name") or "",
                "package_dimensions": None,
                "shippable": None,
                "statement_descriptor": None,
                "tax_code": None,
                "unit_label": None,
                "updated": now,
                "url": None,
            }
        )
        unit = _int(data.get("unit_amount"), param="line_items[0][price_data][unit_amount]")
        return self._put(
            {
                "id": new_id("price"),
                "object": "price",
                "active": True,
                "billing_scheme": "per_unit",
                "created": now,
                "currency": str(data.get("currency") or "").lower(),
                "custom_unit_amount": None,
                "livemode": False,
                "lookup_key": None,
                "metadata": {},
                "nickname": None,
                "product": product["id"],
                "recurring": {
                    "interval": str(recurring["interval"]),
                    "interval_count": _int(recurring.get("interval_count", 1), param="interval_count"),
                    "meter": None,
                    "usage_type": "licensed",
                },
                "tax_behavior": "unspecified",
                "tiers_mode": None,
                "transform_quantity": None,
                "type": "recurring",
                "unit_amount": unit,
                "unit_amount_decimal": str(unit),
            }
        )

    def _subscription_session_create(self, params: Json) -> Json:
        items = params.get("line_items") or []
        if len(items) != 1:
            raise _ApiError(400, "The fake supports one line item in subscription mode.", param="line_items")
        price = self._price_from_params(items[0])
        if price.get("type") != "recurring":
            raise _ApiError(
                400,
                "You must provide at least one recurring price in `subscription` mode when using prices.",
                param="line_items",
            )
        quantity = _int(items[0].get("quantity", 1), param="line_items[0][quantity]")
        customer_id = params.get("customer") or None
        if customer_id:
            self._require(str(customer_id), "customer", param="customer")
        now = int(time.time())
        expires_at = _int(params.get("expires_at", now + 86400), param="expires_at")
        session_id = new_id("cs_test")
        total = int(price["unit_amount"]) * quantity
        product = self.objects.get(price["product"]) or {}
        self._session_line_items[session_id] = {
            "object": "list",
            "data": [
                {
                    "id": new_id("li"),
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": total,
                    "amount_tax": 0,
                    "amount_total": total,
                    "currency": price["currency"],
                    "description": product.get("name") or "",
                    "price": _public(price),
                    "quantity": quantity,
                }
            ],
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }
        return self._put(
            {
                "id": session_id,
                "object": "checkout.session",
                "_price": price["id"],
                "_quantity": quantity,
                "_subscription_data": params.get("subscription_data") or {},
                "after_expiration": None,
                "allow_promotion_codes": None,
                "amount_subtotal": total,
                "amount_total": total,
                "automatic_tax": {"enabled": False, "liability": None, "status": None},
                "billing_address_collection": None,
                "cancel_url": params.get("cancel_url"),
                "client_reference_id": params.get("client_reference_id") or None,
                "client_secret": None,  # nosec B105
                "created": now,
                "currency": price["currency"],
                "custom_fields": [],
                "customer": customer_id,
                "customer_creation": None if customer_id else "always",
                "customer_details": None,
                "customer_email": params.get("customer_email") or None,
                "expires_at": expires_at,
                "invoice": None,
                "invoice_creation": None,
                "livemode": False,
                "locale": params.get("locale") or None,
                "metadata": dict(params.get("metadata") or {}),
                "mode": "subscription",
                "payment_intent": None,
                "payment_link": None,
                "payment_method_collection": "always",
                "payment_method_types": ["card"],
                "payment_status": "unpaid",
                "setup_intent": None,
                "status": "open",
                "subscription": None,
                "success_url": params.get("success_url"),
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
                "ui_mode": "hosted",
                "url": self._checkout_url(session_id),
            }
        )

    def _subscription_create(self, *, customer: Json, price: Json, quantity: int, metadata: Json) -> Json:
        now = int(time.time())
        subscription_id = new_id("sub")
        end = _add_interval(now, price["recurring"])
        item: Json = {
            "id": new_id("si"),
            "object": "subscription_item",
            "billing_thresholds": None,
            "created": now,
            "current_period_end": end,
            "current_period_start": now,
            "discounts": [],
            "metadata": {},
            "price": _public(price),
            "quantity": quantity,
            "subscription": subscription_id,
            "tax_rates": [],
        }
        return self._put(
            {
                "id": subscription_id,
                "object": "subscription",
                "application": None,
                "application_fee_percent": None,
                "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
                "billing_cycle_anchor": now,
                "billing_cycle_anchor_config": None,
                "billing_thresholds": None,
                "cancel_at": None,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "cancellation_details": {"comment": None, "feedback": None, "reason": None},
                "collection_method": "charge_automatically",
                "created": now,
                "currency": price["currency"],
                "customer": customer["id"],
                "days_until_due": None,
                "default_payment_method": None,
                "default_source": None,
                "default_tax_rates": [],
                "description": None,
                "discounts": [],
                "ended_at": None,
                "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
                "items": {
                    "object": "list",
                    "data": [item],
                    "has_more": False,
                    "total_count": 1,
                    "url": f"/v1/subscription_items?subscription={subscription_id}",
                },
                "latest_invoice": None,
                "livemode": False,
                "metadata": metadata,
                "next_pending_invoice_item_invoice": None,
                "on_behalf_of": None,
                "pause_collection": None,
                "payment_settings": {
                    "payment_method_options": None,
                    "payment_method_types": None,
                    "save_default_payment_method": "off",
                },
                "pending_invoice_item_interval": None,
                "pending_setup_intent": None,
                "pending_update": None,
                "schedule": None,
                "start_date": now,
                "status": "active",
                "test_clock": None,
                "transfer_data": None,
                "trial_end": None,
                "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
                "trial_start": None,
            }
        )

    def _subscription_next_period(self, subscription: Json) -> None:
        for item in subscription["items"]["data"]:
            start = item["current_period_end"]
            item.update(
                current_period_start=start,
                current_period_end=_add_interval(start, item["price"]["recurring"]),
            )

    def _subscription_set_cancel_at_period_end(self, subscription: Json, cancel: bool) -> None:
        end = max(item["current_period_end"] for item in subscription["items"]["data"])
        subscription.update(
            cancel_at_period_end=cancel,
            cancel_at=end if cancel else None,
            canceled_at=int(time.time()) if cancel else None,
            cancellation_details={
                "comment": None,
                "feedback": None,
                "reason": "cancellation_requested" if cancel else None,
            },
        )

    def _subscription_end(self, subscription: Json) -> None:
        now = int(time.time())
        subscription.update(status="canceled", ended_at=now, canceled_at=subscription["canceled_at"] or now)
        if subscription["cancellation_details"]["reason"] is None:
            subscription["cancellation_details"]["reason"] = "cancellation_requested"

    def _invoice_create(self, subscription: Json, *, billing_reason: str, paid: bool) -> Json:
        now = int(time.time())
        customer = self.objects.get(subscription["customer"]) or {}
        invoice_id = new_id("in")
        lines = []
        total = 0
        for item in subscription["items"]["data"]:
            price = item["price"]
            product = self.objects.get(price["product"]) or {}
            amount = int(price["unit_amount"]) * int(item["quantity"])
            total += amount
            lines.append(
                {
                    "id": new_id("il"),
                    "object": "line_item",
                    "amount": amount,
                    "currency": subscription["currency"],
                    "description": f"{item['quantity']} x {product.get('name') or 'subscription'}",
                    "discount_amounts": [],
                    "discountable": True,
                    "discounts": [],
                    "invoice": invoice_id,
                    "livemode": False,
                    "metadata": {},
                    "parent": {
                        "invoice_item_details": None,
                        "subscription_item_details": {
                            "invoice_item": None,
                            "proration": False,
                            "proration_details": {"credited_items": None},
                            "subscription": subscription["id"],
                            "subscription_item": item["id"],
                        },
                        "type": "subscription_item_details",
                    },
                    "period": {"end": item["current_period_end"], "start": item["current_period_start"]},
                    "pretax_credit_amounts": [],
                    "pricing": {
                        "price_details": {"price": price["id"], "product": price["product"]},
                        "type": "price_details",
                        "unit_amount_decimal": str(price["unit_amount"]),
                    },
                    "quantity": item["quantity"],
                    "taxes": [],
                }
            )
        sequence = int(customer.get("next_invoice_sequence") or 1)
        if customer:
            customer["next_invoice_sequence"] = sequence + 1
        invoice = self._put(
            {
                "id": invoice_id,
                "object": "invoice",
                "account_country": "DE",
                "account_name": "Grasshopper",
                "account_tax_ids": None,
                "amount_due": total,
                "amount_overpaid": 0,
                "amount_paid": total if paid else 0,
                "amount_remaining": 0 if paid else total,
                "amount_shipping": 0,
                "application": None,
                "attempt_count": 1,
                "attempted": True,
                "auto_advance": not paid,
                "automatic_tax": {
                    "disabled_reason": None,
                    "enabled": False,
                    "liability": None,
                    "status": None,
                },
                "billing_reason": billing_reason,
                "collection_method": "charge_automatically",
                "created": now,
                "currency": subscription["currency"],
                "custom_fields": None,
                "customer": subscription["customer"],
                "customer_address": None,
                "customer_email": customer.get("email"),
                "customer_name": customer.get("name"),
                "customer_phone": None,
                "customer_shipping": None,
                "customer_tax_exempt": "none",
                "customer_tax_ids": [],
                "default_payment_method": None,
                "default_source": None,
                "default_tax_rates": [],
                "description": None,
                "discounts": [],
                "due_date": None,
                "effective_at": now,
                "ending_balance": 0,
                "footer": None,
                "from_invoice": None,
                "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice_id}",
                "invoice_pdf": f"https://pay.stripe.com/invoice/{invoice_id}/pdf",
                "issuer": {"type": "self"},
                "last_finalization_error": None,
                "latest_revision": None,
                "lines": {
                    "object": "list",
                    "data": lines,
                    "has_more": False,
                    "total_count": len(lines),
                    "url": f"/v1/invoices/{invoice_id}/lines",
                },
                "livemode": False,
                "metadata": {},
                "next_payment_attempt": None if paid else now + 3 * 86400,
                "number": f"{customer.get('invoice_prefix') or 'FAKE'}-{sequence:04d}",
                "on_behalf_of": None,
                "parent": {
                    "quote_details": None,
                    "subscription_details": {
                        "metadata": dict(subscription.get("metadata") or {}),
                        "subscription": subscription["id"],
                    },
                    "type": "subscription_details",
                },
                "payment_settings": {
                    "default_mandate": None,
                    "payment_method_options": None,
                    "payment_method_types": None,
                },
                "period_end": now,
                "period_start": now,
                "post_payment_credit_notes_amount": 0,
                "pre_payment_credit_notes_amount": 0,
                "receipt_number": None,
                "rendering": None,
                "shipping_cost": None,
                "shipping_details": None,
                "starting_balance": 0,
                "statement_descriptor": None,
                "status": "paid" if paid else "open",
                "status_transitions": {
                    "finalized_at": now,
                    "marked_uncollectible_at": None,
                    "paid_at": now if paid else None,
                    "voided_at": None,
                },
                "subtotal": total,
                "subtotal_excluding_tax": total,
                "test_clock": None,
                "total": total,
                "total_discount_amounts": [],
                "total_excluding_tax": total,
                "total_taxes": [],
                "webhooks_delivered_at": now,
            }
        )
        subscription["latest_invoice"] = invoice_id
        return invoice

    # --- HTTP routing ---

    def handle(
        self, method: str, url: str, headers: dict[str, str], post_data: Any
    ) -> tuple[str, int, dict[str, str]]:
        """Answer one stripe-python request: ``(json body, status, headers)``."""
        parts = urlsplit(url)
        path = parts.path
        if isinstance(post_data, bytes):
            post_data = post_data.decode()
        params = decode_form(post_data or "") if method in ("POST", "DELETE") and post_data else {}
        if parts.query:
            params = {**decode_form(parts.query), **params}
        key = _header(headers, "Idempotency-Key") if method == "POST" else None
        request_id = new_id("req")
        record = FakeRequest(method, path, params, dict(headers), idempotency_key=key)
        with self._lock:
            self.requests.append((method, path, params))
            self.request_log.append(record)
            response = self._failure_for(method, path, request_id)
            if response is None and key is not None and key in self._idempotency:
                saved = self._idempotency[key]
                if (saved.method, saved.path, saved.params) == (method, path, params):
                    body, status, rheaders = saved.response
                    response = (
                        body,
                        status,
                        {
                            **rheaders,
                            "Request-Id": request_id,
                            "Idempotent-Replayed": "true",
                            "Original-Request": saved.request_id,
                        },
                    )
                    record.replayed = True
                else:
                    response = _error_response(
                        _ApiError(
                            400,
                            "Keys for idempotent requests can only be used with the same parameters they "
                            f"were first used with. Try using a key other than '{key}' if you meant to "
                            "execute a different request.",
                            type_="idempotency_error",
                        ),
                        request_id,
                    )
            if response is None:
                try:
                    result, status = self._route(
                        method, path, params, request_id=request_id, idempotency_key=key
                    )
                    response = (json.dumps(result), status, {"Request-Id": request_id})
                except _ApiError as error:
                    response = _error_response(error, request_id)
                if key is not None and (response[1] < 400 or response[1] == 402):
                    self._idempotency[key] = _Saved(method, path, params, response, request_id)
            record.status = response[1]
            return response

    def _failure_for(self, method: str, path: str, request_id: str) -> tuple[str, int, dict[str, str]] | None:
        for failure in self._failures:
            if failure.method == method and path.startswith(failure.path_prefix):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                headers = {"Request-Id": request_id}
                if failure.status >= 500:
                    headers["Stripe-Should-Retry"] = "false"
                body = copy.deepcopy(failure.body)
                body["error"]["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
                return json.dumps(body), failure.status, headers
        return None

    def _route(
        self, method: str, path: str, params: Json, *, request_id: str, idempotency_key: str | None
    ) -> tuple[Json, int]:
        segments = [s for s in path.split("/") if s]
        if not segments or segments[0] != "v1":
            raise _ApiError(404, f"Unrecognized request URL ({method}: {path}).")
        segments = segments[1:]
        expand = _expand_list(params)

        if segments == ["account"] and method == "GET":
            return self._render(self.account, expand), 200
        if segments[:1] == ["accounts"] and len(segments) == 2 and method == "GET":
            return self._render(self._require(segments[1], "account"), expand), 200

        if segments == ["payment_intents"] and method == "POST":
            return self._render(self._intent_create(params), expand), 200
        if segments[:1] == ["payment_intents"] and len(segments) >= 2:
            intent = self._require(segments[1], "payment_intent")
            if len(segments) == 2 and method == "GET":
                return self._render(intent, expand), 200
            if len(segments) == 2 and method == "POST":
                _update(intent, params, ("metadata", "description", "receipt_email", "customer"))
                return self._render(intent, expand), 200
            if segments[2:] == ["cancel"] and method == "POST":
                if intent["status"] in ("succeeded", "canceled", "processing"):
                    raise _ApiError(
                        400,
                        "You cannot cancel this PaymentIntent because it has a status of "
                        f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
                        "canceled: requires_payment_method, requires_capture, requires_confirmation, "
                        "requires_action, processing.",
                        code="payment_intent_unexpected_state",
                        payment_intent=_public(intent),
                    )
                intent.update(
                    status="canceled",
                    canceled_at=int(time.time()),
                    cancellation_reason=params.get("cancellation_reason") or "requested_by_customer",
                )
                self._pending.append(
                    self._event(
                        "payment_intent.canceled",
                        intent,
                        request_id=request_id,
                        idempotency_key=idempotency_key,
                    )
                )
                return self._render(intent, expand), 200

        if segments == ["checkout", "sessions"] and method == "POST":
            return self._render(self._session_create(params), expand), 200
        if segments[:2] == ["checkout", "sessions"] and len(segments) >= 3:
            session = self._require(segments[2], "checkout.session")
            if len(segments) == 3 and method == "GET":
                return self._render(session, expand), 200
            if segments[3:] == ["expire"] and method == "POST":
                if session["status"] != "open":
                    raise _ApiError(
                        400,
                        'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
                        f'Session has a status of "{session["status"]}".',
                    )
                self._pending.append(self._expire(session))
                return self._render(session, expand), 200
            if segments[3:] == ["line_items"] and method == "GET":
                return copy.deepcopy(self._session_line_items.get(session["id"], _empty_list(path))), 200

        if segments == ["refunds"] and method == "POST":
            intent_id = params.get("payment_intent")
            if not intent_id and params.get("charge"):
                intent_id = self._require(params["charge"], "charge")["payment_intent"]
            if not intent_id:
                raise _ApiError(
                    400,
                    "One of the following params should be provided for this request: payment_intent or "
                    "charge.",
                )
            intent = self._require(intent_id, "payment_intent", param="payment_intent")
            amount = (
                _int(params["amount"], param="amount") if params.get("amount") not in (None, "") else None
            )
            refund, charge = self._refund_create(
                intent,
                amount=amount,
                metadata=params.get("metadata") or {},
                reason=params.get("reason") or None,
            )
            self._pending.append(
                self._event("refund.created", refund, request_id=request_id, idempotency_key=idempotency_key)
            )
            self._pending.append(
                self._event("charge.refunded", charge, request_id=request_id, idempotency_key=idempotency_key)
            )
            return self._render(refund, expand), 200

        # Customers and subscriptions (membership, issue 7): created / changed as Stripe does, with events.
        if segments == ["customers"] and method == "POST":
            return self._render(self._customer_create(params), expand), 200
        if segments[:1] == ["subscriptions"] and len(segments) == 2 and method in ("POST", "DELETE"):
            subscription = self._require(segments[1], "subscription")
            if subscription["status"] == "canceled":
                raise _ApiError(
                    400,
                    "A canceled subscription can only update its cancellation_details and metadata.",
                    code="resource_missing" if method == "DELETE" else None,
                )
            if method == "DELETE":
                self._subscription_end(subscription)
                event_type = "customer.subscription.deleted"
            else:
                _update(subscription, params, ("metadata", "description"))
                if "cancel_at_period_end" in params:
                    self._subscription_set_cancel_at_period_end(
                        subscription, _bool(params["cancel_at_period_end"])
                    )
                event_type = "customer.subscription.updated"
            self._pending.append(
                self._event(event_type, subscription, request_id=request_id, idempotency_key=idempotency_key)
            )
            return self._render(subscription, expand), 200

        if segments[:1] == ["products"] and segments[2:] == ["features"] and method == "GET":
            self._require(segments[1], "product")
            return _empty_list(path), 200  # dj-stripe lists a product's features when it syncs one

        generic = _GENERIC.get(segments[0]) if segments else None
        if generic is not None:
            object_name, prefix = generic
            if len(segments) == 1 and method == "POST" and prefix is not None:
                obj: Json = {
                    "id": new_id(prefix),
                    "object": object_name,
                    "created": int(time.time()),
                    "livemode": False,
                    "metadata": {},
                }
                obj.update(_defaults(object_name))
                obj.update({k: v for k, v in params.items() if k not in ("expand",)})
                return self._render(self._put(obj), expand), 200
            if len(segments) == 2:
                obj = self._require(segments[1], object_name)
                if method == "GET":
                    return self._render(obj, expand), 200
                if method == "POST" and prefix is not None:
                    obj.update({k: v for k, v in params.items() if k not in ("expand",)})
                    return self._render(obj, expand), 200
                if method == "DELETE" and prefix is not None:
                    del self.objects[obj["id"]]
                    return {"id": obj["id"], "object": object_name, "deleted": True}, 200
        raise _ApiError(404, f"Unrecognized request URL ({method}: {path}).")

    def _require(self, object_id: str, object_name: str, *, param: str = "id") -> Json:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("object") != object_name:
            raise _ApiError(
                404, f"No such {object_name}: '{object_id}'", code="resource_missing", param=param
            )
        return obj

    def _render(self, obj: Json, expand: list[str]) -> Json:
        result = _public(obj)
        for path in expand:
            head, _, _rest = path.partition(".")
            if obj.get("object") == "checkout.session" and head == "line_items":
                result["line_items"] = copy.deepcopy(self._session_line_items.get(obj["id"], _empty_list("")))
            elif head == "total_details" and isinstance(result.get("total_details"), dict):
                result["total_details"].setdefault("breakdown", {"discounts": [], "taxes": []})
            elif isinstance(result.get(head), str) and result[head] in self.objects:
                result[head] = _public(self.objects[result[head]])
        return result


# --- the transport --------------------------------------------------------------------------------------


class FakeStripeTransport(stripe.HTTPClient):
    """A ``stripe.HTTPClient`` answering from a ``FakeStripe``: no socket is ever opened."""

    name = "grasshopper-fake"

    def __init__(self, fake: FakeStripe) -> None:
        super().__init__()
        self.fake = fake

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, dict[str, str]]:
        return self.fake.handle(method.upper(), url, dict(headers or {}), post_data)

    def request_stream(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> Any:
        raise NotImplementedError("The fake Stripe transport does not stream.")

    def close(self) -> None:
        return None


# --- module helpers -------------------------------------------------------------------------------------

# Collections served generically (create/retrieve/update/delete of the stored dict); prefix None = read-only.
_GENERIC: dict[str, tuple[str, str | None]] = {
    "customers": ("customer", "cus"),
    "products": ("product", "prod"),
    "prices": ("price", "price"),
    "subscriptions": ("subscription", "sub"),
    "invoices": ("invoice", "in"),
    "charges": ("charge", None),
    "refunds": ("refund", None),
    "disputes": ("dispute", None),
    "events": ("event", None),
    "payment_methods": ("payment_method", None),
    "balance_transactions": ("balance_transaction", None),
}


def _defaults(object_name: str) -> Json:
    if object_name == "customer":
        return {
            "email": None,
            "name": None,
            "balance": 0,
            "currency": None,
            "delinquent": False,
            "description": None,
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "preferred_locales": [],
            "tax_exempt": "none",
        }
    if object_name == "subscription":
        return {
            "status": "active",
            "customer": None,
            "items": {"object": "list", "data": [], "has_more": False},
            "cancel_at_period_end": False,
            "canceled_at": None,
            "collection_method": "charge_automatically",
            "currency": "eur",
            "latest_invoice": None,
            "start_date": int(time.time()),
        }
    if object_name == "invoice":
        return {
            "status": "draft",
            "customer": None,
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "currency": "eur",
            "lines": {"object": "list", "data": [], "has_more": False},
        }
    if object_name == "product":
        return {"active": True, "name": "", "description": None, "type": "service"}
    if object_name == "price":
        return {
            "active": True,
            "currency": "eur",
            "unit_amount": None,
            "product": None,
            "type": "one_time",
            "recurring": None,
        }
    return {}


def _add_interval(timestamp: int, recurring: Json) -> int:
    """``timestamp`` plus one billing interval (``recurring``: ``interval`` day/week/month/year and
    ``interval_count``), months by the calendar as Stripe bills them (31 Jan + 1 month = 28/29 Feb)."""
    count = int(recurring.get("interval_count") or 1)
    interval = recurring.get("interval")
    if interval == "day":
        return timestamp + count * 86400
    if interval == "week":
        return timestamp + count * 7 * 86400
    start = datetime.fromtimestamp(timestamp, tz=UTC)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def _card_fingerprint(intent: Json) -> str:
    who = (
        intent.get("customer")
        or intent.get("receipt_email")
        or (intent.get("metadata") or {}).get("order_code", intent["id"])
    )
    return "fp" + hashlib.sha256(str(who).encode()).hexdigest()[:14]


def _public(obj: Json) -> Json:
    """The object as the API shows it (private bookkeeping keys, starting with ``_``, dropped)."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def _update(obj: Json, params: Json, allowed: tuple[str, ...]) -> None:
    for name in allowed:
        if name in params:
            if name == "metadata":
                merged = {**obj.get("metadata", {}), **(params["metadata"] or {})}
                obj["metadata"] = {k: v for k, v in merged.items() if v != ""}
            else:
                obj[name] = params[name] or None


def _expand_list(params: Json) -> list[str]:
    value = params.get("expand") or []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    return [str(v) for v in value]


def _empty_list(url: str) -> Json:
    return {"object": "list", "data": [], "has_more": False, "url": url}


def _empty_address() -> Json:
    return {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _error_response(error: _ApiError, request_id: str) -> tuple[str, int, dict[str, str]]:
    body = copy.deepcopy(error.body)
    body["error"] = {k: v for k, v in body["error"].items() if v is not None}
    body["error"]["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
    return json.dumps(body), error.status, {"Request-Id": request_id}


_offline_lock = threading.Lock()
_offline: FakeStripe | None = None


def offline_fake() -> FakeStripe:
    """The process-wide fake used when ``settings.STRIPE_OFFLINE`` (created on first use)."""
    global _offline
    with _offline_lock:
        if _offline is None:
            _offline = FakeStripe()
        return _offline


__all__ = [
    "FakeRequest",
    "FakeStripe",
    "FakeStripeError",
    "FakeStripeTransport",
    "decode_form",
    "new_id",
    "offline_fake",
    "webhook_signature_header",
]

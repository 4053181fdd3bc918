"""The orders API for mobile clients: buy (hold seats), list and read one's orders, cancel a pending one,
pay one (a Stripe PaymentIntent's client secret for the mobile SDK).
Views are thin: ``orders.selectors`` read, ``orders.services`` write, serializers shape. Everything is the
signed-in buyer's own: another buyer's order is not found (404 ``order_not_found``), never forbidden
(nobody learns that a code exists).

``POST /orders/`` is rate-limited per user and per IP (django-ratelimit, ``settings.ORDERS_RATE_LIMIT``,
off when ``ORDERS_RATE_LIMIT_ENABLED`` is false, e.g. for load tests) instead of the API-wide throttles,
and answers 429 with ``Retry-After`` in the problem shape (DRF's ``Throttled``). Counting it in DRF's
user throttle as well cost two more cache round trips on the busiest request of an on-sale and limited
nothing the endpoint's own, stricter limit does not.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django_ratelimit.core import get_usage
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from grasshopper.lib.api.pagination import DefaultCursorPagination
from grasshopper.lib.api.schema import ProblemSerializer
from orders.api.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from orders.api.idempotency import (
    MAX_LENGTH as IDEMPOTENCY_KEY_MAX_LENGTH,
)
from orders.api.idempotency import (
    REPLAYED_HEADER,
    idempotency_key_from_request,
    request_fingerprint,
)
from orders.api.serializers import (
    OrderCreateInputSerializer,
    OrderDetailOutputSerializer,
    OrderListOutputSerializer,
    OrderPayOutputSerializer,
    order_detail_data,
)
from orders.exceptions import OrderNotCancellable
from orders.gateway import publishable_key
from orders.models import Order
from orders.selectors import order_get_for_buyer, order_list_for_user
from orders.services import OrderLineInput, order_cancel, order_create_or_replay
from orders.services_payments import payment_intent_start

DEFAULT_ORDERS_RATE_LIMIT = "10/m"
# Retry-After never says 0: a client told "retry in 0 s" retries at once and is refused again.
MIN_RETRY_AFTER = 1


def _problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description=description)


def _codes(*codes: str) -> str:
    return ", ".join(f"`{code}`" for code in codes)


ORDER_CODE = OpenApiParameter(
    "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The order's public code."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        f"1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, unique per order the client means "
        "to make (a UUID). Retrying with the same key and body returns the same order (200, "
        f"`{REPLAYED_HEADER}: true`); the same key with another body answers 422 `idempotency_key_reused`."
    ),
)
REPLAYED = OpenApiParameter(
    REPLAYED_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description="`true` when this answer replays an order created earlier with the same Idempotency-Key.",
)


class OrderCursorPagination(DefaultCursorPagination):
    """Newest first, like ``Order.Meta.ordering``."""

    ordering = ("-created", "-id")  # type: ignore[assignment]


def _buyer(request: Request) -> User:
    """The signed-in user (``IsAuthenticated`` has refused anonymous requests)."""
    return cast(User, request.user)


def _enforce_rate_limit(
    request: Request,
    *,
    group: str = "orders.create",
    detail: str = "Too many orders in a short time; try again later.",
) -> None:
    """Count this attempt (``group``: order creation, or paying) per user and per IP; over either limit, 429
    with ``Retry-After``."""
    if not getattr(settings, "ORDERS_RATE_LIMIT_ENABLED", True):
        return
    rate = getattr(settings, "ORDERS_RATE_LIMIT", DEFAULT_ORDERS_RATE_LIMIT)
    for key in ("user", "ip"):
        usage = get_usage(request, group=f"{group}.{key}", key=key, rate=rate, increment=True)
        if usage is not None and usage["should_limit"]:
            raise Throttled(wait=max(MIN_RETRY_AFTER, int(usage["time_left"])), detail=detail)


def _detail_response(order: Order, *, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(order_detail_data(order), status=status_code)


@extend_schema_view(
    list=extend_schema(
        operation_id="orders_list",
        summary="My orders",
        description="The signed-in buyer's orders, newest first. Pages: follow `next`.",
        responses={200: OrderListOutputSerializer(many=True)},
    ),
    retrieve=extend_schema(
        operation_id="orders_retrieve",
        summary="One of my orders",
        description="Lines, adjustments, totals, the hold's `expires_at` while pending, and once paid the "
        "tickets with their `qr_payload`. Another buyer's order: 404 `order_not_found`.",
        parameters=[ORDER_CODE],
        responses={200: OrderDetailOutputSerializer},
    ),
    create=extend_schema(
        operation_id="orders_create",
        summary="Buy tickets",
        description=(
            "Holds the seats of one event's ticket types until `expires_at` (the order is `pending` until "
            "paid; a free order is `paid` at once, with its tickets). The tickets go to the account's "
            "email. Each ticket type may appear once in `lines` (else 400 `validation_error`, item code "
            "`duplicate_ticket_type`). Rate-limited per user and per IP: 429 with `Retry-After`."
        ),
        parameters=[IDEMPOTENCY_KEY, REPLAYED],
        request=OrderCreateInputSerializer,
        responses={
            201: OrderDetailOutputSerializer,
            200: OpenApiResponse(
                OrderDetailOutputSerializer,
                description=f"A replay: the order made earlier with this {IDEMPOTENCY_HEADER}.",
            ),
            400: _problem(
                "Bad request: "
                + _codes(
                    "validation_error",
                    "parse_error",
                    "idempotency_key_invalid",
                    "quantity_invalid",
                    "max_per_order_exceeded",
                    "ticket_type_unknown",
                    "mixed_events",
                    "mixed_currencies",
                )
            ),
            409: _problem(
                "Conflict: "
                + _codes("sold_out", "sales_closed")
                + "; `sold_out` carries `available`, the seats left."
            ),
            422: _problem(f"{IDEMPOTENCY_HEADER} reused with another body: `idempotency_key_reused`."),
        },
    ),
    cancel=extend_schema(
        operation_id="orders_cancel",
        summary="Cancel a pending order",
        description="Releases the held seats at once. Only a `pending` order; anything else (paid, expired, "
        "cancelled) answers 409 `order_not_cancellable`.",
        parameters=[ORDER_CODE],
        request=None,
        responses={200: OrderDetailOutputSerializer, 409: _problem("Conflict: `order_not_cancellable`.")},
    ),
    pay=extend_schema(
        operation_id="orders_pay",
        summary="Pay a pending order by card",
        description=(
            "A Stripe PaymentIntent for the order's total, and the publishable key: give both to Stripe's "
            "mobile SDK (PaymentSheet). Calling again while the order waits for money returns the same "
            "intent. The order becomes `paid` (with its tickets) when Stripe confirms the payment to the "
            "server, never on the app's word: poll `GET /orders/{code}/` after the sheet closes. "
            "Rate-limited per user and per IP: 429 with `Retry-After`."
        ),
        parameters=[ORDER_CODE],
        request=None,
        responses={
            200: OrderPayOutputSerializer,
            404: _problem("Not one of your orders: `order_not_found`."),
            409: _problem(
                "Conflict: `payment_not_needed` (free, already paid, expired or cancelled), `hold_expired` "
                "(the hold has just ended)."
            ),
            502: _problem("Stripe could not be reached: `payment_provider_error`; try again."),
        },
    ),
)
class OrderViewSet(viewsets.GenericViewSet):
    lookup_field = "code"
    permission_classes = [IsAuthenticated]
    pagination_class = OrderCursorPagination
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Order]:
        return order_list_for_user(user=_buyer(self.request))

    def get_throttles(self) -> list[Any]:
        # Creating an order has its own per-user and per-IP limit (_enforce_rate_limit); see the docstring.
        return [] if self.action == "create" else super().get_throttles()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(OrderListOutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, code: str) -> Response:
        return _detail_response(order_get_for_buyer(code=code, user=_buyer(request)))

    def create(self, request: Request) -> Response:
        _enforce_rate_limit(request)
        key = idempotency_key_from_request(request)
        serializer = OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        buyer = _buyer(request)
        result = order_create_or_replay(
            lines=[
                OrderLineInput(ticket_type_id=line["ticket_type"], quantity=line["quantity"])
                for line in data["lines"]
            ],
            buyer=buyer,
            email=buyer.email,
            buyer_name=buyer.full_name,
            holder_names=data.get("holder_names"),
            idempotency_key=key,
            request_fingerprint=request_fingerprint(request.data) if key else "",
        )
        replayed = not result.created
        # A new order comes back with its lines and tickets in memory; a replayed one is read as it is now.
        order = order_get_for_buyer(code=result.order.code, user=buyer) if replayed else result.order
        response = _detail_response(
            order, status_code=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
        )
        response["Location"] = reverse("v1:orders:order-detail", kwargs={"code": order.code})
        if replayed:
            response[REPLAYED_HEADER] = "true"
        return response

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, code: str) -> Response:
        buyer = _buyer(request)
        order = order_get_for_buyer(code=code, user=buyer)
        # The service treats cancelling a cancelled order as a no-op (STYLE.md 8); the API contract says
        # 409 for anything not pending, so a client learns its cancel did nothing now. Racing cancels
        # both see pending here, and the loser gets 200 with the cancelled order: harmless.
        if order.status == Order.Status.CANCELLED:
            raise OrderNotCancellable(extra={"status": order.status})
        order = order_cancel(order=order, actor=buyer)
        return _detail_response(order_get_for_buyer(code=order.code, user=buyer))

    @action(detail=True, methods=["post"])
    def pay(self, request: Request, code: str) -> Response:
        _enforce_rate_limit(request, group="orders.pay", detail="Too many payment attempts; try again later.")
        order = order_get_for_buyer(code=code, user=_buyer(request))
        started = payment_intent_start(order=order)
        secret = started.client_secret or ""
        data: dict[str, Any] = {
            "order": order.code,
            "client_secret": secret,
            "publishable_key": publishable_key(),
            "amount": order.total,
            "currency": order.currency,
        }
        if "_secret_" in secret:  # Stripe's client secrets are "<intent id>_secret_<random>"
            data["payment_intent"] = secret.split("_secret_", 1)[0]
        return Response(OrderPayOutputSerializer(data).data)

"""The loyalty API for mobile clients: the signed-in user's points (balance, tier, next expiry), their
transactions (cursor pages, newest first), and paying part of a pending order with points. Views are thin:
``loyalty.selectors`` read, ``loyalty.services`` write, serializers shape. Another buyer's order is not found
(404 ``order_not_found``), never forbidden.
"""

from __future__ import annotations

from typing import Any, cast

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from grasshopper.lib.api.pagination import DefaultCursorPagination
from grasshopper.lib.api.schema import ProblemSerializer
from loyalty import services
from loyalty.api.serializers import (
    LoyaltySummaryOutputSerializer,
    RedeemPointsInputSerializer,
    TransactionOutputSerializer,
)
from loyalty.selectors import ledger_for_user, loyalty_summary
from orders.api.serializers import OrderDetailOutputSerializer, order_detail_data
from orders.selectors import order_get_for_buyer


def _user(request: Request) -> User:
    """The signed-in user (``IsAuthenticated`` has refused anonymous requests)."""
    return cast(User, request.user)


def _problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description=description)


class TransactionCursorPagination(DefaultCursorPagination):
    """Newest first, like the account page's history."""

    ordering = ("-created", "-id")  # type: ignore[assignment]


class LoyaltySummaryApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="loyalty_summary",
        summary="My points",
        description=(
            "Balance, tier (from the points earned in the last 12 months) and how far the next one is, the "
            "points that expire next, and what points are worth at checkout."
        ),
        tags=["loyalty"],
        responses={200: LoyaltySummaryOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        summary = loyalty_summary(user=_user(request), now=timezone.now())
        progress = summary.progress
        data: dict[str, Any] = {
            "balance": summary.balance,
            "tier": progress.tier,
            "tier_points": progress.points,
            "next_tier": progress.next_tier,
            "points_to_next_tier": progress.points_to_next,
            "earn_multiplier": progress.multiplier,
            "next_expiry": summary.next_expiry.__dict__ if summary.next_expiry else None,
            "referral_code": summary.referral_code,
            "point_value": services.point_value(),
            "redeem_max_share": services.redeem_max_share(),
        }
        return Response(LoyaltySummaryOutputSerializer(data).data)


class TransactionListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = TransactionCursorPagination

    @extend_schema(
        operation_id="loyalty_transactions",
        summary="My points transactions",
        description="Every movement of your points, newest first: earned, redeemed, returned, reversed by a "
        "refund, expired, referral rewards, staff adjustments. Pages: follow `next`.",
        tags=["loyalty"],
        responses={200: TransactionOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(ledger_for_user(user=_user(request)), request, view=self)
        return paginator.get_paginated_response(TransactionOutputSerializer(page, many=True).data)


class OrderRedeemPointsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="orders_redeem_points",
        summary="Pay part of a pending order with points",
        description=(
            'Body `{"points": 1500}`: those points become a discount on the order (`adjustments`, '
            "source `loyalty`) and leave your balance; calling again replaces the amount, `0` takes it off "
            "and gives the points back. Capped at a share of the total (`redeem_max_share` of "
            "`GET /loyalty/`) and at your balance: more answers 400 `points_over_limit` with `max_points`. "
            "If the order expires or is cancelled, the points come back. Answers the order with its new "
            "`total`: then pay it."
        ),
        tags=["orders", "loyalty"],
        parameters=[
            OpenApiParameter(
                "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The order's public code."
            )
        ],
        request=RedeemPointsInputSerializer,
        responses={
            200: OrderDetailOutputSerializer,
            400: _problem("Bad request: `validation_error`, `points_over_limit`, `points_invalid`."),
            404: _problem("Not one of your orders: `order_not_found`."),
            409: _problem(
                "Conflict: `order_not_adjustable` (not pending, or its hold has ended), "
                "`points_balance_negative` (a refund left your balance below zero)."
            ),
        },
    )
    def post(self, request: Request, code: str) -> Response:
        user = _user(request)
        serializer = RedeemPointsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_get_for_buyer(code=code, user=user)
        services.points_redeem(user=user, order=order, points=serializer.validated_data["points"])
        return Response(order_detail_data(order_get_for_buyer(code=code, user=user)))

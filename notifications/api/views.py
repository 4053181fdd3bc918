"""The notifications API for mobile clients: the signed-in user's inbox (the same rows as the bell and
``/account/notifications/``) and marking notifications read. Views are thin: ``notifications.selectors``
read, ``notifications.services_inbox`` writes, serializers shape.

A user only ever sees and marks their own notifications. An id that is not one of yours is refused like an
unknown id (400 ``notification_ids_invalid``, nothing marked): answering differently for "someone else's"
(404) or silently ignoring it would let a client tell which ids exist.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.authentication import SessionTokenAuthentication
from accounts.models import User
from grasshopper.lib.api.pagination import DefaultCursorPagination
from grasshopper.lib.api.schema import ProblemSerializer
from notifications.api.serializers import (
    NotificationListQuerySerializer,
    NotificationOutputSerializer,
    NotificationReadInputSerializer,
    UnreadCountOutputSerializer,
)
from notifications.models import Notification
from notifications.selectors import notification_list, notification_unread_count
from notifications.services_inbox import notifications_mark_read


def _user(request: Request) -> User:
    """The signed-in user (``IsAuthenticated`` has refused anonymous requests)."""
    return cast(User, request.user)


class NotificationCursorPagination(DefaultCursorPagination):
    """Newest first, like ``Notification.Meta.ordering``; each page also says how many are unread."""

    ordering = ("-created", "-id")  # type: ignore[assignment]

    def __init__(self) -> None:
        self.unread_count = 0

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["unread_count"] = self.unread_count
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = [*paginated.get("required", []), "unread_count"]
        paginated["properties"]["unread_count"] = {
            "type": "integer",
            "description": "All of your unread notifications (not only this page's): the bell's number.",
            "example": 3,
        }
        return paginated


class NotificationListApi(APIView):
    # The browser's session cookie works too (the site's own pages calling the API).
    authentication_classes = [SessionTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    pagination_class = NotificationCursorPagination

    @extend_schema(
        operation_id="notifications_list",
        summary="My notifications",
        description=(
            "The signed-in user's inbox, newest first, with `unread_count` (all unread, not only this "
            "page's). `?unread=true`: only unread ones; `false`: only read ones. Any other value: 400 "
            "`validation_error` (item `attr` `unread`, code `invalid_choice`). Pages: follow `next`."
        ),
        tags=["notifications"],
        parameters=[NotificationListQuerySerializer],
        responses={200: NotificationOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        query = NotificationListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = _user(request)
        queryset: QuerySet[Notification] = notification_list(user=user, unread=query.unread_filter())
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        paginator.unread_count = notification_unread_count(user=user)
        return paginator.get_paginated_response(NotificationOutputSerializer(page, many=True).data)


class NotificationReadApi(APIView):
    authentication_classes = [SessionTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="notifications_read",
        summary="Mark notifications read",
        description=(
            'Body `{"ids": [1, 2]}` marks those read, `{"all": true}` marks every unread one. Neither or '
            "both: 400 `validation_error` (item code `ids_or_all_required`). An id that is not one of "
            "yours (unknown, or another user's: they are not told apart): 400 `notification_ids_invalid` "
            "with `ids`, the offending ids, and nothing is marked. Marking a read one again changes "
            "nothing. Answers the unread count left."
        ),
        tags=["notifications"],
        request=NotificationReadInputSerializer,
        responses={
            200: UnreadCountOutputSerializer,
            400: OpenApiResponse(
                ProblemSerializer,
                description="Bad request: `validation_error`, `parse_error`, `notification_ids_invalid`.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = NotificationReadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        count = notifications_mark_read(user=_user(request), ids=data.get("ids"))
        return Response(UnreadCountOutputSerializer({"unread_count": count}).data)

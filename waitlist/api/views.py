"""The waitlist API for mobile clients: join a sold-out ticket type's waitlist, list one's waitlists with
their place in line and live offers, leave one. Views are thin: ``waitlist.selectors`` read,
``waitlist.services`` write, serializers shape.

Signed-in users only (a guest joins on the web, by email). Another user's entry is not found (404
``waitlist_entry_not_found``), never forbidden. An offer is a pending order in the user's name: it is paid
through the orders API (``POST /orders/{code}/pay/``) or its checkout page.
"""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from grasshopper.lib.api.pagination import DefaultCursorPagination
from grasshopper.lib.api.schema import ProblemSerializer
from waitlist.api.serializers import WaitlistEntryOutputSerializer, WaitlistJoinInputSerializer
from waitlist.exceptions import WaitlistEntryNotActive
from waitlist.models import ACTIVE_STATUSES, WaitlistEntry
from waitlist.selectors import entry_get_for_user, entry_list_for_user
from waitlist.selectors_visitor import offer_live_by_entry, ticket_type_get_for_waitlist
from waitlist.services import entry_join, entry_leave


def _problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description=description)


def _codes(*codes: str) -> str:
    return ", ".join(f"`{code}`" for code in codes)


def _user(request: Request) -> User:
    """The signed-in user (``IsAuthenticated`` has refused anonymous requests)."""
    return cast(User, request.user)


ENTRY_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The entry's id.")


class WaitlistCursorPagination(DefaultCursorPagination):
    """Newest first, like ``entry_list_for_user``."""

    ordering = ("-created", "-id")  # type: ignore[assignment]


def _entry_data(entry: WaitlistEntry) -> dict[str, object]:
    entry.live_offer_list = list(offer_live_by_entry(entries=[entry]).values())  # type: ignore[attr-defined]
    return dict(WaitlistEntryOutputSerializer(entry).data)


@extend_schema_view(
    list=extend_schema(
        operation_id="waitlist_list",
        summary="My waitlists",
        description=(
            "The signed-in user's active entries (`waiting`, or `offered` with the live `offer`), newest "
            "first, each with its `position` in line (1 = next). Pages: follow `next`."
        ),
        tags=["waitlist"],
        responses={200: WaitlistEntryOutputSerializer(many=True)},
    ),
    create=extend_schema(
        operation_id="waitlist_join",
        summary="Join a waitlist",
        description=(
            "Join a sold-out ticket type's waitlist for `quantity` tickets (1 to its `max_per_order`): in "
            "line at once, last. One entry per account (and email) per ticket type. In lottery mode one may "
            "join before sales open; the place is drawn when they open (`lottery_pending`). If tickets are "
            "free for the line at once, the answer already carries the `offer`."
        ),
        tags=["waitlist"],
        request=WaitlistJoinInputSerializer,
        responses={
            201: WaitlistEntryOutputSerializer,
            400: _problem(
                "Bad request: "
                + _codes(
                    "validation_error", "parse_error", "waitlist_quantity_invalid", "ticket_type_unknown"
                )
                + "; `waitlist_quantity_invalid` carries `max_per_order`."
            ),
            409: _problem(
                "Conflict: "
                + _codes(
                    "waitlist_not_sold_out", "waitlist_closed", "waitlist_paused", "waitlist_already_joined"
                )
                + "; `waitlist_already_joined` carries `entry_id`, `waitlist_not_sold_out` `available`."
            ),
        },
    ),
    destroy=extend_schema(
        operation_id="waitlist_leave",
        summary="Leave a waitlist",
        description=(
            "Leave the line (one call). An entry with a live offer declines it: its order is cancelled and "
            "the seats go to the next in line. Leaving an entry already left: 204 again. An entry that "
            "ended otherwise (`accepted`, `lapsed`, `declined`, `closed`): 409 `waitlist_entry_not_active` "
            "with `entry_status`. Another user's entry: 404 `waitlist_entry_not_found`."
        ),
        tags=["waitlist"],
        parameters=[ENTRY_ID],
        responses={
            204: OpenApiResponse(description="You are no longer in line."),
            404: _problem("Not one of your entries: `waitlist_entry_not_found`."),
            409: _problem("Conflict: `waitlist_entry_not_active`, `waitlist_offer_not_live`."),
        },
    ),
)
class WaitlistEntryViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"[0-9]{1,18}"
    pagination_class = WaitlistCursorPagination
    http_method_names = ["get", "post", "delete", "head", "options"]
    serializer_class = WaitlistEntryOutputSerializer

    def get_queryset(self) -> QuerySet[WaitlistEntry]:
        return entry_list_for_user(user=_user(self.request))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WaitlistEntryOutputSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        serializer = WaitlistJoinInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        ticket_type = ticket_type_get_for_waitlist(ticket_type_id=serializer.validated_data["ticket_type"])
        entry = entry_join(ticket_type=ticket_type, quantity=serializer.validated_data["quantity"], user=user)
        data = _entry_data(entry_get_for_user(user=user, entry_id=entry.pk))
        return Response(data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        user = _user(request)
        entry = entry_get_for_user(user=user, entry_id=int(pk))
        if entry.status not in (*ACTIVE_STATUSES, WaitlistEntry.Status.LEFT):
            raise WaitlistEntryNotActive(extra={"entry_status": entry.status})
        entry_leave(entry=entry, actor=user)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""The catalogue API for mobile clients: events (public reads, organizer writes), artists, venues, genres,
search. Views are thin: a selector reads, a service writes, serializers shape.

Availability (seats left, ticket states) is read from the database on every request and answered with
``Cache-Control: private, max-age=5``: never older than five seconds.
"""

from typing import cast

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from events.api.pagination import EventListPagination, SlugCursorPagination
from events.api.permissions import EventPermission
from events.api.serializers import (
    ArtistDetailOutputSerializer,
    ArtistListOutputSerializer,
    EventCreateInputSerializer,
    EventDetailOutputSerializer,
    EventListOutputSerializer,
    EventUpdateInputSerializer,
    GenreOutputSerializer,
    SearchInputSerializer,
    SearchOutputSerializer,
    VenueDetailOutputSerializer,
    VenueSummaryOutputSerializer,
)
from events.filters import EventFilterSet
from events.models import Artist, Event, Venue
from events.permissions import events_for_user
from events.search import search_all
from events.selectors import (
    artist_get,
    event_get_for_page,
    event_list_for_artist,
    event_list_for_venue,
    event_list_public,
    genre_list,
    ticket_type_states_for_user,
    venue_get,
)
from events.services import event_create, event_delete, event_update
from grasshopper.lib.api.schema import ProblemSerializer

# Seconds a client may reuse an answer that shows availability.
AVAILABILITY_MAX_AGE = 5
AVAILABILITY_CACHE_CONTROL = f"private, max-age={AVAILABILITY_MAX_AGE}"
# Upcoming events listed on an artist's or a venue's page.
UPCOMING_LIMIT = 50


def _conflict(*codes: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description="Conflict: " + ", ".join(f"`{c}`" for c in codes))


EVENT_SLUG = OpenApiParameter(
    "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The event's slug."
)


def _actor(request: Request) -> User:
    """The signed-in user of a write (the permission class has refused anonymous ones)."""
    return cast(User, request.user)


def _event_detail_response(*, request: Request, slug: str, status_code: int = status.HTTP_200_OK) -> Response:
    event = event_get_for_page(slug=slug, user=request.user)
    if event is None:
        raise NotFound("No event with this slug.")
    # Per caller: in a members' presale, members see those ticket types buyable (Cache-Control is private).
    states = ticket_type_states_for_user(
        ticket_types=event.ticket_types.all(), event=event, user=request.user, now=timezone.now()
    )
    data = EventDetailOutputSerializer(event, context={"request": request, "states": states}).data
    response = Response(data, status=status_code)
    response["Cache-Control"] = AVAILABILITY_CACHE_CONTROL
    return response


@extend_schema_view(
    list=extend_schema(
        operation_id="events_list",
        summary="Upcoming events",
        description=(
            "Published and postponed events that have not started, soonest first. The filters are the "
            "event page's. Pages: follow `next` (a cursor for `sort=soonest|newest`, a page number for "
            "`sort=price|relevance`)."
        ),
        parameters=[
            OpenApiParameter(
                "available",
                OpenApiTypes.BOOL,
                description="true: only events with tickets left; false: only sold-out ones.",
            )
        ],
        responses={200: EventListOutputSerializer(many=True)},
    ),
    retrieve=extend_schema(
        operation_id="events_retrieve",
        summary="One event",
        description="Lineup, venue, genres and ticket types with their live state, for the caller: during a "
        "ticket type's members' presale (`member_presale_start` to `sales_start`) a caller with an active "
        "membership gets its seat state with `can_buy: true`, anyone else the state `presale` "
        "(`can_buy: false`; everyone may buy from `sales_start`). Drafts: their organizer's staff only "
        "(404 for everybody else).",
        parameters=[EVENT_SLUG],
        responses={200: EventDetailOutputSerializer},
    ),
    create=extend_schema(
        operation_id="events_create",
        summary="Create an event",
        description="Organizer owners and managers. The slug is made from the title.",
        request=EventCreateInputSerializer,
        responses={201: EventDetailOutputSerializer},
    ),
    partial_update=extend_schema(
        operation_id="events_partial_update",
        summary="Change an event",
        description=(
            "Organizer owners and managers. Only the fields sent change; `genres`, `lineup` and "
            "`ticket_types` replace the whole list (ticket types with an `id` are changed, without one "
            "created, missing ones removed if nothing was sold). `sold` and `held` cannot be written; a "
            "capacity below the seats sold and held answers 409 `capacity_below_sold`."
        ),
        parameters=[EVENT_SLUG],
        request=EventUpdateInputSerializer,
        responses={
            200: EventDetailOutputSerializer,
            409: _conflict(
                "capacity_below_sold", "ticket_type_has_sales", "event_status_transition_not_allowed"
            ),
        },
    ),
    destroy=extend_schema(
        operation_id="events_destroy",
        summary="Delete a draft event",
        description="Only a draft without orders; anything else answers 409 `event_not_deletable` "
        "(cancel it instead).",
        parameters=[EVENT_SLUG],
        responses={204: None, 409: _conflict("event_not_deletable")},
    ),
)
class EventViewSet(viewsets.GenericViewSet):
    lookup_field = "slug"
    permission_classes = [EventPermission]
    filter_backends = [DjangoFilterBackend]
    filterset_class = EventFilterSet
    pagination_class = EventListPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Event]:
        return event_list_public()

    def _event_for_change(self, slug: str) -> Event:
        """The event if it belongs to one of the user's organizers (any role), else 404; then the role."""
        event = events_for_user(user=self.request.user, queryset=Event.objects.filter(slug=slug)).first()
        if event is None:
            raise NotFound("No event with this slug.")
        self.check_object_permissions(self.request, event)
        return event

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        response = self.get_paginated_response(EventListOutputSerializer(page, many=True).data)
        response["Cache-Control"] = AVAILABILITY_CACHE_CONTROL
        return response

    def retrieve(self, request: Request, slug: str) -> Response:
        return _event_detail_response(request=request, slug=slug)

    def create(self, request: Request) -> Response:
        serializer = EventCreateInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        event = event_create(actor=_actor(request), **serializer.validated_data)
        response = _event_detail_response(
            request=request, slug=event.slug, status_code=status.HTTP_201_CREATED
        )
        response["Location"] = reverse("v1:events:event-detail", kwargs={"slug": event.slug})
        return response

    def partial_update(self, request: Request, slug: str) -> Response:
        event = self._event_for_change(slug)
        serializer = EventUpdateInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        event = event_update(actor=_actor(request), event=event, changes=serializer.validated_data)
        return _event_detail_response(request=request, slug=event.slug)

    def destroy(self, request: Request, slug: str) -> Response:
        event_delete(actor=_actor(request), event=self._event_for_change(slug))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(operation_id="artists_list", summary="Artists", description="Every artist, by slug."),
    retrieve=extend_schema(
        operation_id="artists_retrieve",
        summary="One artist",
        description=f"With their next {UPCOMING_LIMIT} upcoming public events.",
        responses={200: ArtistDetailOutputSerializer},
    ),
)
class ArtistViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "slug"
    permission_classes = [AllowAny]
    serializer_class = ArtistListOutputSerializer
    pagination_class = SlugCursorPagination

    def get_queryset(self) -> QuerySet[Artist]:
        return Artist.objects.prefetch_related("genres").order_by("slug")

    def retrieve(self, request: Request, slug: str) -> Response:
        artist = artist_get(slug=slug)
        if artist is None:
            raise NotFound("No artist with this slug.")
        artist.upcoming_events = list(event_list_for_artist(artist=artist)[:UPCOMING_LIMIT])  # type: ignore[attr-defined]
        response = Response(ArtistDetailOutputSerializer(artist, context={"request": request}).data)
        response["Cache-Control"] = AVAILABILITY_CACHE_CONTROL
        return response


@extend_schema_view(
    list=extend_schema(operation_id="venues_list", summary="Venues", description="Every venue, by slug."),
    retrieve=extend_schema(
        operation_id="venues_retrieve",
        summary="One venue",
        description=f"With its next {UPCOMING_LIMIT} upcoming public events.",
        responses={200: VenueDetailOutputSerializer},
    ),
)
class VenueViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "slug"
    permission_classes = [AllowAny]
    serializer_class = VenueSummaryOutputSerializer
    pagination_class = SlugCursorPagination

    def get_queryset(self) -> QuerySet[Venue]:
        return Venue.objects.order_by("slug")

    def retrieve(self, request: Request, slug: str) -> Response:
        venue = venue_get(slug=slug)
        if venue is None:
            raise NotFound("No venue with this slug.")
        venue.upcoming_events = list(event_list_for_venue(venue=venue)[:UPCOMING_LIMIT])  # type: ignore[attr-defined]
        response = Response(VenueDetailOutputSerializer(venue, context={"request": request}).data)
        response["Cache-Control"] = AVAILABILITY_CACHE_CONTROL
        return response


class GenreListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="genres_list",
        summary="Genres",
        description="Every genre, by name (a short list: not paginated).",
        responses={200: GenreOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(GenreOutputSerializer(genre_list(), many=True).data)


class SearchApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="search_retrieve",
        summary="Search the catalogue",
        description="Events, artists and venues matching `q`, best first. An empty `q` is a validation "
        "error; one over 200 characters answers 400 `query_too_long`.",
        parameters=[SearchInputSerializer],
        responses={200: SearchOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        params = SearchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        results = search_all(q=params.validated_data["q"], limit=params.validated_data["limit"])
        response = Response(SearchOutputSerializer(results, context={"request": request}).data)
        response["Cache-Control"] = AVAILABILITY_CACHE_CONTROL
        return response

"""Input and output serializers of the events API: shapes only. Reads come shaped from ``events.selectors``,
writes go to ``events.services``; the rules live there.

Decimals travel as strings (``"27.50"``), times as ISO 8601 in UTC with the event's IANA time zone beside
them for display.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Artist, Event, Genre, Lineup, Organizer, TicketType, Venue
from events.permissions import EDIT_ROLES, organizers_for_user, venues_usable_by_user
from events.selectors import TicketState, event_card_state
from grasshopper.lib.validators import validate_timezone


def money(**kwargs: Any) -> serializers.DecimalField:
    """An amount: Decimal(12, 2), a string in JSON."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


CURRENCY_VALIDATOR = RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code in capitals, e.g. EUR.")
COUNTERS_READ_ONLY = "Read-only: seats are sold and held through orders only."

# --- output: small pieces ---------------------------------------------------------------------------------


class GenreOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(read_only=True)


class OrganizerSummaryOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(read_only=True)


class VenueSummaryOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(read_only=True)
    city = serializers.CharField(read_only=True)
    country = serializers.CharField(read_only=True, help_text="ISO 3166-1 alpha-2.")


class ArtistSummaryOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(read_only=True)


class TicketStateOutputSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        read_only=True,
        choices=[
            "on_sale",
            "few_left",
            "almost_sold_out",
            "sold_out",
            "presale",
            "not_yet",
            "ended",
            "unavailable",
        ],
        help_text="What clients switch on. `presale`: in the members' presale, not buyable by this caller "
        "(members get the seat state instead, on an event's ticket types); everyone may buy from the public "
        "`sales_start`. `not_yet`: sales (and any presale) have not started.",
    )
    # A declared field named like Field.label: DRF's metaclass moves it into _declared_fields.
    label = serializers.CharField(  # type: ignore[assignment]
        read_only=True, help_text='For display: "12 left", "Sold out"...'
    )


# --- events -----------------------------------------------------------------------------------------------


class EventSummaryOutputSerializer(serializers.Serializer):
    """What, when, where, who: an event in search results."""

    slug = serializers.SlugField(read_only=True)
    title = serializers.CharField(read_only=True)
    starts_at = serializers.DateTimeField(read_only=True)
    timezone = serializers.CharField(read_only=True, help_text="IANA time zone to show the times in.")
    status = serializers.ChoiceField(read_only=True, choices=Event.Status.choices)
    venue = VenueSummaryOutputSerializer(read_only=True)
    headliners = serializers.SerializerMethodField(
        help_text="Names of the headliners; the top of the bill when nobody is marked as headliner."
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_headliners(self, event: Event) -> list[str]:
        slots: list[Lineup] = list(event.lineup.all())  # prefetched by the selector
        headliners = [slot.artist.name for slot in slots if slot.is_headliner]
        return headliners or [slot.artist.name for slot in slots[:1]]


class EventListOutputSerializer(EventSummaryOutputSerializer):
    """An event card. ``min_price`` is the lowest all-in price (price + fee) of its visible ticket types."""

    min_price = money(read_only=True, allow_null=True, help_text="Null while no ticket type is offered.")
    currency = serializers.CharField(read_only=True, allow_null=True, source="price_currency")
    tickets_left = serializers.IntegerField(read_only=True)
    tickets = serializers.SerializerMethodField(help_text="The tickets' state, as the card shows it.")

    @extend_schema_field(TicketStateOutputSerializer)
    def get_tickets(self, event: Event) -> dict[str, Any]:
        state = event_card_state(event=event)
        return {"code": state.code, "label": state.label}


class LineupSlotOutputSerializer(serializers.Serializer):
    artist = ArtistSummaryOutputSerializer(read_only=True)
    position = serializers.IntegerField(read_only=True)
    is_headliner = serializers.BooleanField(read_only=True)
    set_time = serializers.DateTimeField(read_only=True, allow_null=True)


class TicketTypeOutputSerializer(serializers.Serializer):
    """A ticket type with its live state; the view passes ``states`` ({id: TicketState}) in the context."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    price = money(read_only=True, help_text="Face value.")
    fee = money(read_only=True, help_text="Booking fee per ticket.")
    all_in_price = money(read_only=True, help_text="Price + fee: what a ticket costs.")
    currency = serializers.CharField(read_only=True)
    max_per_order = serializers.IntegerField(read_only=True)
    sales_start = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When everyone may buy; null: once published."
    )
    sales_end = serializers.DateTimeField(read_only=True, allow_null=True)
    member_presale_start = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When members may start buying, before `sales_start` (the members' presale); null: none.",
    )
    state = serializers.SerializerMethodField(help_text="The state for the caller (see `can_buy`).")
    available = serializers.SerializerMethodField(help_text="Seats left right now.")
    can_buy = serializers.SerializerMethodField(
        help_text="Whether the caller can buy it right now: during the members' presale, true for a caller "
        "with an active membership only."
    )

    def _state(self, ticket_type: TicketType) -> TicketState:
        states: Mapping[int, TicketState] = self.context["states"]
        return states[ticket_type.pk]

    @extend_schema_field(TicketStateOutputSerializer)
    def get_state(self, ticket_type: TicketType) -> dict[str, Any]:
        state = self._state(ticket_type)
        return {"code": state.code, "label": state.label}

    @extend_schema_field(serializers.IntegerField())
    def get_available(self, ticket_type: TicketType) -> int:
        return self._state(ticket_type).available

    @extend_schema_field(serializers.BooleanField())
    def get_can_buy(self, ticket_type: TicketType) -> bool:
        return self._state(ticket_type).can_buy


class VenueOutputSerializer(VenueSummaryOutputSerializer):
    address = serializers.CharField(read_only=True)
    postal_code = serializers.CharField(read_only=True)
    latitude = serializers.DecimalField(read_only=True, allow_null=True, max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(read_only=True, allow_null=True, max_digits=9, decimal_places=6)
    capacity = serializers.IntegerField(read_only=True, allow_null=True)
    accessibility_notes = serializers.CharField(read_only=True)
    website = serializers.URLField(read_only=True)


class EventDetailOutputSerializer(serializers.Serializer):
    """An event page: lineup in running order, venue, genres and the visible ticket types with their state."""

    slug = serializers.SlugField(read_only=True)
    title = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(read_only=True, choices=Event.Status.choices)
    starts_at = serializers.DateTimeField(read_only=True)
    ends_at = serializers.DateTimeField(read_only=True, allow_null=True)
    doors_at = serializers.DateTimeField(read_only=True, allow_null=True)
    timezone = serializers.CharField(read_only=True, help_text="IANA time zone to show the times in.")
    age_limit = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Minimum age; null: all ages."
    )
    refund_policy = serializers.CharField(read_only=True)
    image = serializers.ImageField(read_only=True, allow_null=True, use_url=True)
    organizer = OrganizerSummaryOutputSerializer(read_only=True)
    venue = VenueOutputSerializer(read_only=True)
    genres = GenreOutputSerializer(many=True, read_only=True)
    lineup = LineupSlotOutputSerializer(many=True, read_only=True)
    ticket_types = TicketTypeOutputSerializer(many=True, read_only=True)


class LineupSlotInputSerializer(serializers.Serializer):
    artist = serializers.SlugRelatedField(slug_field="slug", queryset=Artist.objects.all())
    position = serializers.IntegerField(
        min_value=1, max_value=32767, required=False, help_text="Running order; default: place in the list."
    )
    is_headliner = serializers.BooleanField(required=False, default=False)
    set_time = serializers.DateTimeField(required=False, allow_null=True)


class TicketTypeCreateInputSerializer(serializers.Serializer):
    """A ticket type to create. ``sold`` and ``held`` are refused: only orders move them."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    price = money(min_value=Decimal("0"), help_text="Face value.")
    fee = money(min_value=Decimal("0"), required=False, help_text="Booking fee per ticket.")
    currency = serializers.CharField(
        min_length=3, max_length=3, required=False, validators=[CURRENCY_VALIDATOR], help_text="Default EUR."
    )
    capacity = serializers.IntegerField(min_value=0, max_value=2_147_483_647)
    sales_start = serializers.DateTimeField(required=False, allow_null=True)
    sales_end = serializers.DateTimeField(required=False, allow_null=True)
    max_per_order = serializers.IntegerField(min_value=1, max_value=100, required=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            written = [name for name in ("sold", "held") if name in data]
            if written:
                raise serializers.ValidationError({name: [COUNTERS_READ_ONLY] for name in written})
        return super().to_internal_value(data)


class TicketTypeUpdateInputSerializer(TicketTypeCreateInputSerializer):
    """With ``id``: change that ticket type of the event. Without: create one."""

    id = serializers.IntegerField(
        required=False, help_text="One of the event's ticket types; omit to add one."
    )


class EventCreateInputSerializer(serializers.Serializer):
    organizer = serializers.SlugRelatedField(
        slug_field="slug", queryset=Organizer.objects.none(), help_text="One of your organizers."
    )
    venue = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Venue.objects.none(),
        help_text="The organizer's own venue or a shared one.",
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    doors_at = serializers.DateTimeField(required=False, allow_null=True)
    timezone = serializers.CharField(max_length=64, validators=[validate_timezone], help_text="IANA name.")
    status = serializers.ChoiceField(
        choices=Event.Status.choices, required=False, help_text="draft (the default) or published."
    )
    age_limit = serializers.IntegerField(min_value=0, max_value=99, required=False, allow_null=True)
    refund_policy = serializers.CharField(required=False, allow_blank=True)
    genres = serializers.SlugRelatedField(
        slug_field="slug", queryset=Genre.objects.all(), many=True, required=False
    )
    lineup = LineupSlotInputSerializer(many=True, required=False)
    ticket_types = TicketTypeCreateInputSerializer(many=True, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only what the user may pick: other organizers' slugs are "does not exist", not "forbidden".
        request = self.context.get("request")
        if request is None:  # schema generation
            return
        user = request.user
        fields: Any = self.fields
        if "organizer" in fields:
            fields["organizer"].queryset = organizers_for_user(user=user, roles=EDIT_ROLES)
        fields["venue"].queryset = venues_usable_by_user(user=user)


class EventUpdateInputSerializer(EventCreateInputSerializer):
    """Only the fields sent change; ``genres``, ``lineup`` and ``ticket_types`` replace the whole list."""

    organizer = None  # type: ignore[assignment]
    venue = serializers.SlugRelatedField(slug_field="slug", queryset=Venue.objects.none(), required=False)
    title = serializers.CharField(max_length=200, required=False)
    starts_at = serializers.DateTimeField(required=False)
    timezone = serializers.CharField(max_length=64, validators=[validate_timezone], required=False)
    status = serializers.ChoiceField(choices=Event.Status.choices, required=False)
    ticket_types = TicketTypeUpdateInputSerializer(many=True, required=False)


# --- artists, venues --------------------------------------------------------------------------------------


class ArtistListOutputSerializer(ArtistSummaryOutputSerializer):
    genres = GenreOutputSerializer(many=True, read_only=True)
    image = serializers.ImageField(read_only=True, allow_null=True, use_url=True)


class ArtistDetailOutputSerializer(ArtistListOutputSerializer):
    bio = serializers.CharField(read_only=True)
    website = serializers.URLField(read_only=True)
    spotify_url = serializers.URLField(read_only=True)
    instagram_url = serializers.URLField(read_only=True)
    upcoming_events = EventListOutputSerializer(many=True, read_only=True)


class VenueDetailOutputSerializer(VenueOutputSerializer):
    upcoming_events = EventListOutputSerializer(many=True, read_only=True)


# --- search -----------------------------------------------------------------------------------------------


class SearchInputSerializer(serializers.Serializer):
    # No max_length here: a query that is too long is the search's own error (``query_too_long``).
    q = serializers.CharField(help_text='What to look for (web search syntax: words, "phrases", -not).')
    limit = serializers.IntegerField(min_value=1, max_value=20, default=5, help_text="Results of each kind.")


class SearchOutputSerializer(serializers.Serializer):
    """The best matches of each kind, best first. Events include past and cancelled ones (not drafts):
    their ``status`` and ``starts_at`` say so; prices and seats are on the event itself."""

    events = EventSummaryOutputSerializer(many=True, read_only=True)
    artists = ArtistSummaryOutputSerializer(many=True, read_only=True)
    venues = VenueSummaryOutputSerializer(many=True, read_only=True)

"""Input and output serializers of the waitlist API: shapes only (the rules are in ``waitlist.services``).
Times are ISO 8601 in UTC."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from waitlist.models import WaitlistEntry, WaitlistOffer

# Ids are 64-bit in the database; anything bigger is malformed.
MAX_BIGINT = 9_223_372_036_854_775_807


class WaitlistJoinInputSerializer(serializers.Serializer):
    ticket_type = serializers.IntegerField(
        min_value=1, max_value=MAX_BIGINT, help_text="The sold-out ticket type's id (from the event)."
    )
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=32_767,
        help_text="Tickets wanted, 1 to the ticket type's `max_per_order` (more: 400 "
        "`waitlist_quantity_invalid`).",
    )


class WaitlistOfferOutputSerializer(serializers.Serializer):
    order = serializers.CharField(
        source="order.code",
        read_only=True,
        help_text="The pending order holding the seats: pay it like any order (`POST /orders/{code}/pay/`).",
    )
    quantity = serializers.IntegerField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, help_text="Pay before this, or the offer lapses.")
    checkout_url = serializers.SerializerMethodField(
        help_text="Site-relative URL of the order's checkout page."
    )

    def get_checkout_url(self, obj: WaitlistOffer) -> str:
        return reverse("orders:checkout", kwargs={"code": obj.order.code})


class WaitlistEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    ticket_type = serializers.IntegerField(source="ticket_type_id", read_only=True)
    ticket_type_name = serializers.CharField(source="ticket_type.name", read_only=True)
    event = serializers.CharField(
        source="ticket_type.event.slug", read_only=True, help_text="The event's slug."
    )
    event_title = serializers.CharField(source="ticket_type.event.title", read_only=True)
    starts_at = serializers.DateTimeField(source="ticket_type.event.starts_at", read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(
        choices=WaitlistEntry.Status.choices,
        read_only=True,
        help_text="`waiting` (in line), `offered` (see `offer`), `unverified` (a guest's unconfirmed email), "
        "or, once it is over, `accepted`, `lapsed`, `declined`, `left`, `closed` (the event was cancelled).",
    )
    position = serializers.IntegerField(
        source="rank",
        read_only=True,
        allow_null=True,
        help_text="Place in line, 1 = next. null unless `waiting` (and while a lottery is not drawn).",
    )
    lottery_pending = serializers.BooleanField(
        read_only=True,
        help_text="Joined before sales opened in lottery mode: the place is drawn when they open.",
    )
    joined_at = serializers.DateTimeField(read_only=True, allow_null=True)
    offer = serializers.SerializerMethodField(help_text="The live offer (seats held for you), or null.")

    @extend_schema_field(WaitlistOfferOutputSerializer(allow_null=True))
    def get_offer(self, obj: WaitlistEntry) -> dict[str, Any] | None:
        live = getattr(obj, "live_offer_list", None) or []
        return WaitlistOfferOutputSerializer(live[0]).data if live else None

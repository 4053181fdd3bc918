"""Input and output serializers of the orders API: shapes only. The rules (quantities, limits, sales
windows, seats) live in ``orders.services``, so the API, the pages and the tests get the same codes.

Decimals travel as strings (``"27.50"``), times as ISO 8601 in UTC.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Event
from grasshopper.lib.api.serializers import FieldsBuiltOnceMixin
from orders.models import Order, Ticket

# Orders whose tickets are issued: the buyer sees them (and their QR payload) from then on.
TICKETED_STATUSES = frozenset({Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED})
MAX_LINES = 20
# OrderLine.quantity is 32-bit, ids 64-bit in the database: anything bigger is malformed.
MAX_INT = 2_147_483_647
MAX_BIGINT = 9_223_372_036_854_775_807


def money(**kwargs: Any) -> serializers.DecimalField:
    """An amount: Decimal(12, 2), a string in JSON."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


# --- input ------------------------------------------------------------------------------------------------


class OrderLineInputSerializer(serializers.Serializer):
    # Any id the database can hold: one that names no ticket type on sale is the service's
    # `ticket_type_unknown`, whatever its value.
    ticket_type = serializers.IntegerField(
        min_value=-MAX_BIGINT,
        max_value=MAX_BIGINT,
        help_text="A ticket type id, from the event's `ticket_types`.",
    )
    # Only the database's bounds here: 1..max_per_order is the service's rule, which answers
    # `quantity_invalid` or `max_per_order_exceeded`, the codes the pages show too.
    quantity = serializers.IntegerField(
        min_value=-MAX_INT,
        max_value=MAX_INT,
        help_text="At least 1 (else `quantity_invalid`), at most the ticket type's `max_per_order` "
        "(else `max_per_order_exceeded`).",
    )


class OrderCreateInputSerializer(FieldsBuiltOnceMixin, serializers.Serializer):
    """One event's tickets. Each ticket type appears once: a repeated one is refused (`duplicate_ticket_type`
    on `lines`), not merged, because a client that sends it twice has a bug we should not guess around."""

    # DRF passes max_length on to the ListSerializer; the stubs do not know it yet.
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)  # type: ignore[call-arg]
    holder_names = serializers.ListField(
        child=serializers.CharField(max_length=150, allow_blank=True),
        required=False,
        max_length=200,
        help_text="Optional names printed on the tickets, in the order of the lines' seats.",
    )

    def validate_lines(self, lines: list[dict[str, int]]) -> list[dict[str, int]]:
        repeated = [pk for pk, n in Counter(line["ticket_type"] for line in lines).items() if n > 1]
        if repeated:
            raise serializers.ValidationError(
                f"Each ticket type may appear once; repeated: {', '.join(map(str, repeated))}.",
                code="duplicate_ticket_type",
            )
        return lines


# --- output -----------------------------------------------------------------------------------------------


class OrderEventSummaryOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField(read_only=True)
    title = serializers.CharField(read_only=True)
    starts_at = serializers.DateTimeField(read_only=True)
    timezone = serializers.CharField(read_only=True, help_text="IANA time zone to show the times in.")
    status = serializers.ChoiceField(read_only=True, choices=Event.Status.choices)


class OrderLineOutputSerializer(serializers.Serializer):
    ticket_type = serializers.IntegerField(read_only=True, source="ticket_type_id")
    name = serializers.CharField(read_only=True, source="ticket_type.name")
    quantity = serializers.IntegerField(read_only=True)
    unit_price = money(read_only=True, help_text="All-in price of one ticket (face value + fee).")
    unit_fee = money(read_only=True, help_text="The booking fee included in `unit_price`.")
    line_total = money(read_only=True)


class AdjustmentOutputSerializer(serializers.Serializer):
    # A declared field named like Field.source: DRF's metaclass moves it into _declared_fields.
    source = serializers.CharField(read_only=True, help_text="loyalty, referral, promo...")  # type: ignore[assignment]
    description = serializers.CharField(read_only=True)
    amount = money(read_only=True, help_text="Subtracted from the total.")


class TicketOutputSerializer(serializers.Serializer):
    ticket_type = serializers.IntegerField(read_only=True, source="ticket_type_id")
    holder_name = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(read_only=True, choices=Ticket.Status.choices)
    checked_in_at = serializers.DateTimeField(read_only=True, allow_null=True)
    qr_payload = serializers.CharField(
        read_only=True,
        source="secret",
        help_text="What the QR code encodes: the ticket's secret, nothing else.",
    )


class OrderListOutputSerializer(serializers.Serializer):
    """An order in the buyer's list: what, when, how much, in what state."""

    code = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(read_only=True, choices=Order.Status.choices)
    event = OrderEventSummaryOutputSerializer(read_only=True)
    currency = serializers.CharField(read_only=True)
    total = money(read_only=True)
    expires_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="While pending: when the held seats are released."
    )
    created = serializers.DateTimeField(read_only=True)


class OrderDetailOutputSerializer(OrderListOutputSerializer):
    """An order with its lines, discounts, totals and, once paid, its tickets."""

    email = serializers.EmailField(read_only=True)
    buyer_name = serializers.CharField(read_only=True)
    subtotal = money(read_only=True, help_text="Sum of the lines.")
    discount_total = money(read_only=True, help_text="Sum of the adjustments.")
    hold_extended = serializers.BooleanField(read_only=True, help_text="The one hold extension was used.")
    paid_at = serializers.DateTimeField(read_only=True, allow_null=True)
    lines = OrderLineOutputSerializer(many=True, read_only=True)
    adjustments = AdjustmentOutputSerializer(many=True, read_only=True)
    tickets = serializers.SerializerMethodField(
        help_text="One per admission, once the order is paid; empty before."
    )

    @extend_schema_field(TicketOutputSerializer(many=True))
    def get_tickets(self, order: Order) -> list[dict[str, Any]]:
        if order.status not in TICKETED_STATUSES:
            return []
        return list(TicketOutputSerializer(order.tickets.all(), many=True).data)


# --- the same shape, fast --------------------------------------------------------------------------------
# ``OrderDetailOutputSerializer`` documents the detail shape (the OpenAPI schema) and is the reference;
# building it costs ~2 ms of CPU per order (DRF copies and binds ~45 fields per call), more than the whole
# database transaction of a free order. The API answers with ``order_detail_data`` instead, which writes
# the same dict directly; orders/tests/test_api_orders.py checks both agree for every order status.

_CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return f"{value.quantize(_CENT):f}"


def _when(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def order_detail_data(order: Order) -> dict[str, Any]:
    """``OrderDetailOutputSerializer(order).data`` as a plain dict (lines, adjustments and tickets read
    through ``.all()``, so prefetched or in-memory rows cost no query)."""
    event = order.event
    ticketed = order.status in TICKETED_STATUSES
    return {
        "code": order.code,
        "status": order.status,
        "event": {
            "slug": event.slug,
            "title": event.title,
            "starts_at": _when(event.starts_at),
            "timezone": event.timezone,
            "status": event.status,
        },
        "currency": order.currency,
        "total": _money(order.total),
        "expires_at": _when(order.expires_at),
        "created": _when(order.created),
        "email": order.email,
        "buyer_name": order.buyer_name,
        "subtotal": _money(order.subtotal),
        "discount_total": _money(order.discount_total),
        "hold_extended": order.hold_extended,
        "paid_at": _when(order.paid_at),
        "lines": [
            {
                "ticket_type": line.ticket_type_id,
                "name": line.ticket_type.name,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price),
                "unit_fee": _money(line.unit_fee),
                "line_total": _money(line.line_total),
            }
            for line in order.lines.all()
        ],
        "adjustments": [
            {"source": a.source, "description": a.description, "amount": _money(a.amount)}
            for a in order.adjustments.all()
        ],
        "tickets": [
            {
                "ticket_type": ticket.ticket_type_id,
                "holder_name": ticket.holder_name,
                "status": ticket.status,
                "checked_in_at": _when(ticket.checked_in_at),
                "qr_payload": ticket.secret,
            }
            for ticket in order.tickets.all()
        ]
        if ticketed
        else [],
    }


# --- paying (the mobile SDK's PaymentIntent) ---------------------------------------------------------


class OrderPayOutputSerializer(serializers.Serializer):
    """What Stripe's mobile SDK needs to show its payment sheet for an order."""

    order = serializers.CharField(help_text="The order's code.")
    client_secret = serializers.CharField(help_text="The PaymentIntent's client secret, for the SDK only.")
    publishable_key = serializers.CharField(help_text="Stripe's publishable key to initialise the SDK with.")
    payment_intent = serializers.CharField(
        required=False, help_text="The PaymentIntent's id (pi_...), for support and logs."
    )
    amount = money(help_text="What the buyer pays, all fees included.")
    currency = serializers.CharField(help_text="ISO 4217, upper case.")

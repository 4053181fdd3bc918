"""Orders, their lines, discounts, tickets and the audit trail of every move."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from events.models import Event, TicketType
from grasshopper.lib.models import TimeStampedModel

# Order codes: 10 characters from an alphabet without look-alikes (0/O, 1/I/L), ~48 bits, unguessable.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


def new_order_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_ticket_secret() -> str:
    """256 bits from ``secrets``: what the QR code carries, and nothing else."""
    return secrets.token_urlsafe(32)


class Order(TimeStampedModel):
    """A buyer's order for one event: seats held until ``expires_at`` while pending, tickets once paid."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # seats held until expires_at, waiting for payment
        PAID = "paid", "Paid"  # payment confirmed, tickets issued
        EXPIRED = "expired", "Expired"  # hold lapsed before payment, seats released
        CANCELLED = "cancelled", "Cancelled"  # by the buyer (pending) or staff/event cancellation (paid)
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"  # some money back, some tickets void
        REFUNDED = "refunded", "Refunded"  # all money back, tickets void, seats returned
        PAID_UNFULFILLABLE = "paid_unfulfillable", "Paid, no seats"  # late payment, seats gone: to refund

    # Unique through Meta.constraints, as are ``Ticket.secret`` and the indexes below: a CharField's
    # unique=True or db_index=True on PostgreSQL also builds a ``varchar_pattern_ops`` twin for LIKE that
    # no query here uses, and every order's INSERT pays for each index (bench/README.md, the indexes).
    code = models.CharField(max_length=16, default=new_order_code, editable=False)
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    email = models.EmailField(help_text="Where tickets are sent; the guest's only identity.")
    buyer_name = models.CharField(max_length=150, blank=True)
    # Names printed on the tickets, one per admission in line order; kept until the tickets are issued.
    holder_names = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    discount_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    expires_at = models.DateTimeField(null=True, blank=True)
    hold_extended = models.BooleanField(default=False, help_text="The buyer used their one extension.")
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_provider = models.CharField(max_length=20, blank=True)
    payment_reference = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="Hash of the creating request."
    )
    # The staff queue: why a person must look at this order (late payment with no seats left, a partial
    # refund made in the Stripe dashboard, a failed refund, a dispute). Blank: nothing to do.
    needs_attention = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The status filters and the expiry sweep (status = pending, expires_at <= now).
            models.Index(fields=["status", "expires_at"], name="orders_order_status_expiry"),
            # The staff queue: only the few orders that need a person are in it.
            models.Index(fields=["created"], condition=~Q(needs_attention=""), name="orders_order_attention"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="orders_order_code_unique"),
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(subtotal__gte=0) & Q(discount_total__gte=0),
                name="orders_order_money_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(total=models.F("subtotal") - models.F("discount_total")),
                name="orders_order_total_is_lines_minus_discounts",
            ),
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="orders_order_idempotency_unique_per_buyer",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class OrderLine(models.Model):
    """Some seats of one ticket type, at the price copied when the order was made."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, help_text="All-in price (face + fee).")
    unit_fee = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_line_quantity_positive"),
            models.UniqueConstraint(fields=["order", "ticket_type"], name="orders_line_one_per_ticket_type"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.ticket_type.name}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class Adjustment(models.Model):
    """A discount on an order (loyalty points, referral reward, promo code): negative money, one source."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="adjustments")
    source = models.CharField(max_length=30, help_text="loyalty, referral, promo …")
    reference = models.CharField(max_length=100, blank=True, help_text="The source's own id for it.")
    description = models.CharField(max_length=200)
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="Positive: subtracted from total."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="orders_adjustment_amount_positive"),
            models.UniqueConstraint(fields=["order", "source", "reference"], name="orders_adjustment_once"),
        ]

    def __str__(self) -> str:
        return f"{self.description} (-{self.amount})"


class Ticket(TimeStampedModel):
    """One admission. The QR code carries ``secret`` only."""

    class Status(models.TextChoices):
        VALID = "valid", "Valid"  # may enter
        USED = "used", "Used"  # checked in
        VOID = "void", "Void"  # refunded or cancelled

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="tickets")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="tickets")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="tickets")
    secret = models.CharField(max_length=64, default=new_ticket_secret, editable=False)  # unique: Meta
    holder_name = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["secret"], name="orders_ticket_secret_unique")]

    def __str__(self) -> str:
        return f"{self.ticket_type.name} ({self.order.code})"


class OrderEvent(models.Model):
    """Append-only audit row for every transition: who, when, from, to, why, and the money and seat deltas."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="history")
    created = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24)
    reason = models.CharField(max_length=200, blank=True)
    money_delta = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    seats_delta = models.IntegerField(default=0, help_text="Seats sold (+) or returned (-) by this move.")

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.order.code}: {self.from_status or '∅'} → {self.to_status}"


class Payment(TimeStampedModel):
    """One attempt to take an order's money through a provider. Written BEFORE the provider is called
    (its ``idempotency_key`` is derived from our ids), completed with the provider's ids afterwards."""

    class Kind(models.TextChoices):
        CHECKOUT = "checkout", "Checkout Session (web)"
        INTENT = "intent", "PaymentIntent (mobile)"

    class Status(models.TextChoices):
        CREATED = "created", "Created"  # row written, provider not called yet (or the call failed)
        OPEN = "open", "Waiting for the buyer"  # session / intent exists at the provider
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # declined; the buyer may try again (a new attempt)
        CANCELLED = "cancelled", "Cancelled"  # session expired / intent cancelled, no money moved

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=20, default="stripe")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED, db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    idempotency_key = models.CharField(max_length=100, unique=True)
    stripe_checkout_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    failure_message = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="orders_payment_refunds_within_amount",
            ),
            models.UniqueConstraint(fields=["order", "kind", "attempt"], name="orders_payment_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"{self.order.code} {self.kind} #{self.attempt} ({self.status})"


class Refund(TimeStampedModel):
    """Money given back for (part of) a paid order. Written BEFORE the provider is called; the tickets it
    names are void and their seats back on sale once it is recorded."""

    class Status(models.TextChoices):
        CREATED = "created", "Created"  # row written, provider not called yet
        PENDING = "pending", "Pending"  # accepted by the provider, money on its way
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # the provider could not return the money: staff must act
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        STAFF = "staff", "Staff (admin)"
        EVENT_CANCELLED = "event_cancelled", "Event cancelled"
        LATE_PAYMENT = "late_payment", "Late payment, no seats left"
        DASHBOARD = "dashboard", "Made in the Stripe dashboard"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", null=True, blank=True
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED, db_index=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200, blank=True)
    tickets = models.ManyToManyField(Ticket, blank=True, related_name="refunds")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100, unique=True)
    stripe_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    failure_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="orders_refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.order.code} refund {self.amount} {self.currency} ({self.status})"

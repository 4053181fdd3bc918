"""The waitlist: fans who wait for a sold-out ticket type, the offers they get, and staff's audit trail.

- ``Waitlist``: one per ticket type (created on first use): paused or not, and the lottery draw record.
  Its row is the lock that serialises everything that changes the queue (always taken AFTER the ticket
  type's row, see ``waitlist.services``).
- ``WaitlistEntry``: a person in line (a signed-in user, or a guest by verified email) for ``quantity``
  seats. Queue order is ``(position, id)``; the position a person sees is their rank among waiting entries.
- ``WaitlistOffer``: freed seats held for an entry: a real pending ``orders.Order`` in the entrant's name
  (the seats are held through the normal inventory reserve) with its own expiry.
- ``WaitlistAction``: append-only audit rows for staff moves (reorder, pause, resume, release to the
  public, removal), the lottery draw and the closing of the line when the event is cancelled.

Seats freed while people wait but fitting nobody yet (one seat freed, everyone wants two) are withheld in
``events.TicketType.withheld`` (a part of ``held``, audited by ``inventory_audit``); see
``waitlist.services`` for the rule.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from events.models import TicketType
from grasshopper.lib.models import TimeStampedModel
from orders.models import Order


class Waitlist(TimeStampedModel):
    """The waitlist of one ticket type: its switches and its lottery draw."""

    ticket_type = models.OneToOneField(TicketType, on_delete=models.CASCADE, related_name="waitlist")
    paused = models.BooleanField(
        default=False, help_text="Paused: no offers, freed seats go on public sale, nobody new joins."
    )
    # The lottery draw (events.Event.waitlist_lottery): made once, reproducible from its seed.
    lottery_seed = models.BigIntegerField(null=True, blank=True, editable=False)
    lottery_drawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    lottery_cutoff = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Entries that joined before this took part."
    )
    lottery_candidates = models.JSONField(
        default=list, blank=True, editable=False, help_text="Entry ids in the draw, ascending."
    )
    lottery_order = models.JSONField(
        default=list, blank=True, editable=False, help_text="Entry ids as drawn, first in line first."
    )
    lottery_actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["ticket_type_id"]

    def __str__(self) -> str:
        return f"Waitlist: {self.ticket_type}"


class WaitlistEntry(TimeStampedModel):
    """A person waiting for ``quantity`` seats of one ticket type."""

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", "Email not confirmed"  # a guest who has not clicked the link: not in line
        WAITING = "waiting", "Waiting"  # in line
        OFFERED = "offered", "Offered"  # has a live offer (seats held until the offer expires)
        ACCEPTED = "accepted", "Accepted"  # the offer's order was paid
        LAPSED = "lapsed", "Lapsed"  # the offer expired unpaid
        DECLINED = "declined", "Declined"  # the entrant declined the offer (cancelled its order)
        LEFT = "left", "Left"  # left the line (or staff removed it)
        CLOSED = "closed", "Closed (event cancelled)"  # the event was cancelled: nobody waits any more

    ticket_type = models.ForeignKey(TicketType, on_delete=models.CASCADE, related_name="waitlist_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="waitlist_entries",
    )
    email = models.EmailField(help_text="Lower-cased; one active entry per email per ticket type.")
    quantity = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.WAITING, db_index=True)
    # Queue order is (position, id); null until the entry is in line (a guest: once verified).
    position = models.PositiveIntegerField(null=True, blank=True)
    joined_at = models.DateTimeField(null=True, blank=True, help_text="When the entry got in line.")
    verified_at = models.DateTimeField(null=True, blank=True, help_text="When the email was confirmed.")
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket_type_id", "position", "id"]
        verbose_name_plural = "waitlist entries"
        indexes = [
            models.Index(fields=["ticket_type", "status", "position"], name="waitlist_entry_queue"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="waitlist_entry_quantity_positive"),
            models.UniqueConstraint(
                fields=["ticket_type", "email"],
                condition=Q(status__in=["unverified", "waiting", "offered"]),
                name="waitlist_entry_one_active_per_email",
            ),
            models.UniqueConstraint(
                fields=["ticket_type", "user"],
                condition=Q(status__in=["unverified", "waiting", "offered"]) & Q(user__isnull=False),
                name="waitlist_entry_one_active_per_user",
            ),
            models.CheckConstraint(
                # In line means confirmed; a guest who never confirmed may still leave (status "left") or
                # have the line closed under them (status "closed": the event was cancelled).
                condition=Q(status__in=["unverified", "left", "closed"]) | Q(verified_at__isnull=False),
                name="waitlist_entry_in_line_is_verified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} x{self.quantity} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


ACTIVE_STATUSES = (
    WaitlistEntry.Status.UNVERIFIED,
    WaitlistEntry.Status.WAITING,
    WaitlistEntry.Status.OFFERED,
)


class WaitlistOffer(TimeStampedModel):
    """Seats offered to an entry: ``order`` is a pending order in the entrant's name holding them until
    ``expires_at``; paying it (the normal checkout) accepts the offer."""

    class Status(models.TextChoices):
        LIVE = "live", "Live"  # seats held, waiting for payment
        ACCEPTED = "accepted", "Accepted"  # the order was paid
        LAPSED = "lapsed", "Lapsed"  # the hold expired: the seats went to the next entry
        DECLINED = "declined", "Declined"  # the entrant said no (the order was cancelled)
        WITHDRAWN = "withdrawn", "Withdrawn"  # the event was cancelled (the order was cancelled)

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="waitlist_offers")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="waitlist_offer")
    quantity = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LIVE, db_index=True)
    expires_at = models.DateTimeField(help_text="When the offer was due to lapse (the order's hold).")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="waitlist_offer_quantity_positive"),
            models.UniqueConstraint(
                fields=["entry"], condition=Q(status="live"), name="waitlist_offer_one_live_per_entry"
            ),
        ]

    def __str__(self) -> str:
        return f"Offer {self.order.code} to {self.entry.email} ({self.status})"


class WaitlistAction(models.Model):
    """Append-only audit row: a staff move on a waitlist, or the lottery draw."""

    class Kind(models.TextChoices):
        REORDER = "reorder", "Moved in line"  # staff moved an entry to another position
        REMOVE = "remove", "Removed"  # staff took an entry out of the line
        PAUSE = "pause", "Paused"
        RESUME = "resume", "Resumed"
        RELEASE = "release", "Seats released to the public"  # paused, withheld seats back on sale
        LOTTERY_DRAW = "lottery_draw", "Lottery drawn"
        CLOSE = (
            "close",
            "Closed (event cancelled)",
        )  # an entry taken out of line, or the line's withheld seats

    waitlist = models.ForeignKey(Waitlist, on_delete=models.CASCADE, related_name="actions")
    entry = models.ForeignKey(
        WaitlistEntry, on_delete=models.CASCADE, null=True, blank=True, related_name="actions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_position = models.PositiveIntegerField(null=True, blank=True, help_text="Rank in line before.")
    to_position = models.PositiveIntegerField(null=True, blank=True, help_text="Rank in line after.")
    seats = models.IntegerField(default=0, help_text="Seats this move released to the public.")
    reason = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.waitlist})"

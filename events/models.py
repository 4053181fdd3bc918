"""The catalogue: who organizes what, where, with which artists, and which tickets are for sale."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from grasshopper.lib.models import TimeStampedModel
from grasshopper.lib.validators import IMAGE_VALIDATORS, validate_timezone


class Organizer(TimeStampedModel):
    """A promoter, venue operator or festival that sells tickets on Grasshopper."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    email = models.EmailField(blank=True, help_text="Where buyers can reach the organizer.")
    website = models.URLField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrganizerMember(TimeStampedModel):
    """A user who works for an organizer, with a role that bounds what they may do."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"  # everything, including members and payouts
        MANAGER = "manager", "Manager"  # events, venues, ticket types, orders
        BOX_OFFICE = "box_office", "Box office"  # sees events and orders, checks people in

    organizer = models.ForeignKey(Organizer, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organizer_memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MANAGER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organizer", "user"], name="events_member_unique_per_organizer"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.organizer}"


class Genre(models.Model):
    """A music genre, for browsing and filters."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Venue(TimeStampedModel):
    """A place where events happen."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    address = models.CharField(max_length=300)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, db_index=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. PT.")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    accessibility_notes = models.TextField(blank=True)
    website = models.URLField(blank=True)
    # The organizer whose staff created it (they may edit it); null for venues kept by Grasshopper staff.
    organizer = models.ForeignKey(
        Organizer, on_delete=models.SET_NULL, null=True, blank=True, related_name="venues"
    )
    search_text = models.TextField(blank=True, editable=False)

    # Search documents are derived data: not history.
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="events_venue_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="events_venue_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.city}"


class Artist(TimeStampedModel):
    """A performer: a band, a DJ, a solo artist."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    bio = models.TextField(blank=True)
    genres = models.ManyToManyField(Genre, blank=True, related_name="artists")
    image = models.ImageField(upload_to="artists/", blank=True, validators=IMAGE_VALIDATORS)
    website = models.URLField(blank=True)
    spotify_url = models.URLField(blank=True)
    instagram_url = models.URLField(blank=True)
    search_text = models.TextField(blank=True, editable=False)

    # Search documents are derived data: not history.
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Event(TimeStampedModel):
    """A show on a date at a venue. Times are stored in UTC and shown in the event's own time zone."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"  # visible only to its organizer
        PUBLISHED = "published", "Published"  # public, tickets on sale within their windows
        CANCELLED = "cancelled", "Cancelled"  # public page stays up, nothing on sale
        POSTPONED = "postponed", "Postponed"  # public, new date to be announced, nothing on sale

    class LatePaymentPolicy(models.TextChoices):
        AUTO_REFUND = "auto_refund", "Refund automatically"  # the buyer gets the money back at once
        STAFF_QUEUE = "staff_queue", "Queue for staff"  # staff decide: find seats or refund

    organizer = models.ForeignKey(Organizer, on_delete=models.PROTECT, related_name="events")
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="events")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    genres = models.ManyToManyField(Genre, blank=True, related_name="events")
    artists: models.ManyToManyField[Artist, Lineup] = models.ManyToManyField(
        Artist, through="Lineup", related_name="events", blank=True
    )
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    doors_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="Europe/London", validators=[validate_timezone])
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    age_limit = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Minimum age; empty for all ages."
    )
    refund_policy = models.TextField(blank=True)
    late_payment_policy = models.CharField(
        max_length=20,
        choices=LatePaymentPolicy.choices,
        default=LatePaymentPolicy.AUTO_REFUND,
        help_text="A payment that arrives after the hold expired, when the seats are gone: refund it at "
        "once, or leave it to staff (who may find seats).",
    )
    image = models.ImageField(upload_to="events/", blank=True, validators=IMAGE_VALIDATORS)
    waitlist_lottery = models.BooleanField(
        default=False,
        help_text="Waitlist lottery: people who joined a ticket type's waitlist before its sales opened are "
        "put in a random (seeded, recorded) order, ahead of those who join later.",
    )
    is_featured = models.BooleanField(default=False, help_text="Shown first on the home page.")
    # 1, plus one each time ticket holders were told the start or doors time moved
    # (events.services.event_changes_announce): what the reminder before doors open is sent once per.
    schedule_version = models.PositiveIntegerField(default=1, editable=False)
    # Search documents, kept current by events.search when the event, its lineup, artists or venue change.
    search_vector = SearchVectorField(null=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)

    # Search documents are derived data: not history.
    history = HistoricalRecords(excluded_fields=["search_vector", "search_text"])

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["status", "starts_at"], name="events_event_status_starts")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="events_event_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(doors_at__isnull=True) | Q(doors_at__lte=F("starts_at")),
                name="events_event_doors_before_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status != self.Status.DRAFT


class Lineup(models.Model):
    """An artist on an event's bill, in running order (position 1 first)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="lineup")
    artist = models.ForeignKey(Artist, on_delete=models.PROTECT, related_name="lineup_slots")
    position = models.PositiveSmallIntegerField(default=1)
    is_headliner = models.BooleanField(default=False)
    set_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "artist"], name="events_lineup_artist_once"),
        ]

    def __str__(self) -> str:
        return f"{self.artist} at {self.event}"


class TicketType(TimeStampedModel):
    """A kind of ticket for an event, with its price, capacity and the live counters of sold and held seats.

    ``sold + held <= capacity`` is a database constraint: the last line of defence against overselling.
    The counters change only through the inventory services (conditional UPDATEs), never by ``save()``.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="ticket_types")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))], help_text="Face value."
    )
    fee = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Booking fee per ticket; always shown included in the price buyers see.",
    )
    currency = models.CharField(max_length=3, default="EUR")
    capacity = models.PositiveIntegerField()
    sold = models.PositiveIntegerField(default=0, editable=False)
    held = models.PositiveIntegerField(default=0, editable=False)
    # The part of ``held`` the waitlist keeps back for the people in line (freed seats that fit nobody
    # yet, see waitlist.services): held by no order, counted by inventory_audit.
    withheld = models.PositiveIntegerField(default=0, editable=False)
    sales_start = models.DateTimeField(null=True, blank=True, help_text="Empty: on sale when published.")
    sales_end = models.DateTimeField(null=True, blank=True, help_text="Empty: until the event starts.")
    member_presale_start = models.DateTimeField(
        null=True, blank=True, help_text="Members may buy from this time, before the public sales start."
    )
    max_per_order = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(1)])
    is_visible = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords(excluded_fields=["sold", "held", "withheld"])

    objects: ClassVar[models.Manager[TicketType]] = models.Manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sold__gte=0) & Q(held__gte=0) & Q(sold__lte=F("capacity") - F("held")),
                name="events_tickettype_no_oversell",
            ),
            models.CheckConstraint(
                condition=Q(withheld__lte=F("held")), name="events_tickettype_withheld_within_held"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0) & Q(fee__gte=0), name="events_tickettype_price_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(max_per_order__gte=1), name="events_tickettype_max_per_order_pos"
            ),
            models.CheckConstraint(
                condition=Q(sales_end__isnull=True)
                | Q(sales_start__isnull=True)
                | Q(sales_end__gt=F("sales_start")),
                name="events_tickettype_sales_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}: {self.name}"

    @property
    def all_in_price(self) -> Decimal:
        return self.price + self.fee

    @property
    def available(self) -> int:
        return max(self.capacity - self.sold - self.held, 0)


class SearchWord(models.Model):
    """A word of the catalogue's titles, artist names, venue names and cities: the vocabulary that search
    on PostgreSQL corrects misspelt query words against ("berln" -> "berlin", see ``events.search``).

    Derived data: ``events.search.search_refresh_events`` adds the words of the documents it writes, and
    ``search_rebuild`` drops the words no event uses any more. The trigram index on ``word`` is created by
    migration ``events.0004_search_vocabulary`` (PostgreSQL only); on SQLite the table stays empty.
    """

    word = models.TextField(primary_key=True)

    def __str__(self) -> str:
        return self.word

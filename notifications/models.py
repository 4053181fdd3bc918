"""Everything we tell a user: the email outbox (one row per message) and the in-app inbox (one row per
notification), plus each user's marketing-email preference. The web pages and the mobile API read the
same inbox rows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from grasshopper.lib.models import TimeStampedModel


class OutboxEmail(TimeStampedModel):
    """One email to send. Written in the same transaction as the fact that causes it; a Celery task sends
    it after commit (handed over by the relay: see notifications.services). ``status`` is the guard that
    makes sending exactly once (claim = queued -> sending by a conditional UPDATE; only the claimer sends)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"  # claimed by a worker; re-queued by a beat job if it stays too long
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"  # retries exhausted or a permanent error: staff may resend

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to = models.EmailField()
    # No single-column indexes on kind and status: the constraint and the claims index below lead with them.
    kind = models.CharField(max_length=50, help_text="notifications.kinds key")
    # What the message is about, e.g. "orders.Order:ABCD234567"; with ``kind`` it makes a message unique
    # (the same fact never emails twice, whoever announces it twice).
    reference = models.CharField(max_length=100)
    context = models.JSONField(default=dict, blank=True, help_text="Ids the template context is built from.")
    subject = models.CharField(max_length=200, blank=True, help_text="Filled when rendered.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set when the relay (notifications.services.outbox_relay) handed the row to a send task: a row is
    # relayed once. Rows sent another way (staff resend, the stale sweep, retries) never need it.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference", "to"], name="notifications_outbox_once"),
        ]
        indexes = [models.Index(fields=["status", "claimed_at"], name="notifications_outbox_claims")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"


class Notification(models.Model):
    """One entry of a user's inbox (web bell, /account/notifications/, the notifications API)."""

    # Not indexed alone: the indexes and the constraint below all lead with the user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(max_length=50)
    reference = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True, help_text="Site-relative URL, e.g. /orders/ABCD/")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "reference"], name="notifications_inbox_once"),
        ]
        indexes = [
            models.Index(fields=["user", "-created"], name="notifications_inbox_list"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notifications_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class Preference(models.Model):
    """A user's choices. Transactional email (orders, refunds, waitlist offers) cannot be switched off."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    marketing_email = models.BooleanField(default=True)
    modified = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: marketing {'on' if self.marketing_email else 'off'}"


class Broadcast(TimeStampedModel):
    """One message to every ticket holder of an event (its time or venue changed, it was cancelled): a job
    with progress. Written in the same transaction as the change, so it is never lost; a Celery task works
    through the holders' orders in ``pk`` order (``cursor`` = the last order done, so a restarted job goes
    on where it stopped) and writes one outbox email (and inbox entry) per order. Staff read the progress
    here and on the event's admin page."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"  # waiting for a worker (again, after a worker died mid-way)
        RUNNING = "running", "Running"  # a worker is telling the holders; ``modified`` is its heartbeat
        DONE = "done", "Done"  # every holder's message is in the outbox

    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=50, help_text="notifications.kinds key of each message")
    reference = models.CharField(max_length=100)
    context = models.JSONField(default=dict, blank=True, help_text="What changed (JSON), for the messages.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    total = models.PositiveIntegerField(default=0, help_text="Orders to tell (counted when the job starts).")
    done = models.PositiveIntegerField(default=0, help_text="Orders told so far.")
    cursor = models.BigIntegerField(default=0, help_text="The last order id done.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference"], name="notifications_broadcast_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for event {self.event_id}: {self.done}/{self.total} ({self.status})"

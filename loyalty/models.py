"""Loyalty points (an append-only ledger), referrals between buyers.

Every point is explainable from ``LedgerEntry`` rows: the balance is their sum. ``LoyaltyAccount.balance``
is a cached copy updated in the same transaction as each row and checked by ``manage.py loyalty_audit``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

# Referral codes: 8 characters without look-alikes.
REFERRAL_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))


class LoyaltyAccount(models.Model):
    """One per user: the cached balance (the sum of the user's ledger rows, kept in the same transaction),
    and the user's referral code. Lock this row to serialise a user's point movements."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="loyalty")
    balance = models.IntegerField(default=0, help_text="Sum of the ledger; negative only after a reversal.")
    referral_code = models.CharField(max_length=16, unique=True, default=new_referral_code)
    # The tier last computed (loyalty.tiers), so that a change, up or down, is noticed and announced once.
    tier = models.CharField(max_length=10, default="bronze")
    modified = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.balance} points"


class LedgerEntry(models.Model):
    """One movement of points. Append-only: a correction is a new row (``adjust`` or ``reverse``)."""

    class Kind(models.TextChoices):
        EARN = "earn", "Earned"  # an order was paid
        REDEEM = "redeem", "Redeemed"  # spent at checkout (negative)
        REDEEM_RETURN = "redeem_return", "Returned"  # the order the points were spent on did not go ahead
        REVERSE = "reverse", "Reversed"  # a refund took back points earned on it (negative)
        EXPIRE = "expire", "Expired"  # 12 months after they were earned (negative)
        REFERRAL = "referral", "Referral reward"
        ADJUST = "adjust", "Adjustment by staff"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger")
    points = models.IntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # What caused it, e.g. "order:ABCD234567", "refund:42", "referral:7", "expire:<earn entry id>";
    # unique per (user, kind, source): the same source never moves points twice.
    source = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    # For earn rows: until when they count (expiry job), and how many of them are still unspent.
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    remaining = models.IntegerField(default=0, help_text="Earned points not yet spent, reversed or expired.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "source"], name="loyalty_ledger_source_once"),
            models.CheckConstraint(condition=~Q(points=0), name="loyalty_ledger_points_nonzero"),
        ]
        indexes = [models.Index(fields=["user", "-created"], name="loyalty_ledger_user_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.points:+d} {self.kind} ({self.source})"


class Referral(models.Model):
    """A new user who signed up through a referral link: linked once, to one referrer, never to themselves."""

    class Status(models.TextChoices):
        SIGNED_UP = "signed_up", "Signed up"  # waiting for the referee's first paid order
        REWARDED = "rewarded", "Rewarded"  # both sides got their reward
        REVERSED = "reversed", "Reversed"  # that first order was fully refunded: rewards taken back
        REJECTED = "rejected", "Rejected"  # an abuse rule refused the reward (see ``reason``)

    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referrals_made"
    )
    referee = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referred_by"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SIGNED_UP, db_index=True)
    order_code = models.CharField(max_length=16, blank=True, help_text="The referee's first paid order.")
    reason = models.CharField(max_length=200, blank=True, help_text="Why it was rejected or reversed.")
    created = models.DateTimeField(auto_now_add=True)
    rewarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(referrer=models.F("referee")), name="loyalty_referral_not_self"
            ),
        ]

    def __str__(self) -> str:
        # Staff read this as the admin page's title: who, not ids (select_related the users where it matters).
        status = self.get_status_display().lower()
        return f"{self.referee.email}, referred by {self.referrer.email} ({status})"


class ExpiryNotice(models.Model):
    """ "Your points expire soon", told once per batch: a user's unspent points expiring on one day
    (``expires_on``, in the site's time zone), ``LOYALTY_EXPIRY_WARNING_DAYS`` ahead. Written with the
    ``points_expiring`` signal that tells the user (loyalty.services.points_expiry_warn_due); the unique
    (user, day) is what makes the beat job safe to run twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_on = models.DateField()
    expires_at = models.DateTimeField(help_text="The earliest expiry of the batch's points.")
    points = models.PositiveIntegerField(help_text="Unspent points of the batch when the notice was sent.")
    created = models.DateTimeField()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "expires_on"], name="loyalty_expiry_notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.points} points expire on {self.expires_on}"

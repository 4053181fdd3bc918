from datetime import datetime
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.managers import UserManager


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. The email address is the login; there is no username."""

    email = models.EmailField("email address", max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Can sign in to the admin (staff and organizers)."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"
        constraints = [
            # Emails are stored lower-cased by the manager; the index makes case variants collide too.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Membership(models.Model):
    """A user's "Grasshopper Plus" subscription, kept current by loyalty's Stripe receivers
    (customer.subscription.*, invoice.payment_succeeded). Lives here, below orders, so checkout can ask
    "is this buyer a member now?" (presale access) without importing loyalty."""

    class Status(models.TextChoices):
        # Stripe's subscription statuses that matter to us.
        INCOMPLETE = "incomplete", "Incomplete"  # first payment not done yet
        ACTIVE = "active", "Active"
        TRIALING = "trialing", "Trial"
        PAST_DUE = "past_due", "Past due"  # a renewal failed; Stripe retries
        CANCELED = "canceled", "Cancelled"
        UNPAID = "unpaid", "Unpaid"

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="membership")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INCOMPLETE)
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    modified = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.status}"

    def is_active_at(self, when: datetime) -> bool:
        """Member benefits apply: an active (or trialing) subscription whose paid period has not ended."""
        if self.status not in (self.Status.ACTIVE, self.Status.TRIALING):
            return False
        return self.current_period_end is None or self.current_period_end > when

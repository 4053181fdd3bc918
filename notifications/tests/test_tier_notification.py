"""The loyalty tier change (``loyalty.signals.tier_changed``) reaches the user: inbox and email."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.tests.factories import VerifiedUserFactory
from loyalty.services import points_expire_due
from loyalty.tests.factories import paid_order, priced_ticket_type
from notifications.models import Notification, OutboxEmail

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _tiers(settings: Any) -> None:
    settings.LOYALTY_POINTS_PER_UNIT = 10
    settings.LOYALTY_TIER_THRESHOLDS = {"silver": 1000, "gold": 3000}
    settings.LOYALTY_TIER_MULTIPLIERS = {"bronze": 1.0, "silver": 1.5, "gold": 2.0}


def test_tier_up_and_down_each_notify_the_user():
    buyer = VerifiedUserFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        paid_order(buyer, priced_ticket_type("120.00"))  # 1200 points: silver

    up = Notification.objects.get(user=buyer, kind="loyalty_tier_changed")
    assert up.title == "You are now Silver"
    assert "from Bronze to Silver" in up.body
    assert "\u00d71.5 points" in up.body
    assert up.link == "/account/loyalty/"
    assert OutboxEmail.objects.filter(user=buyer, kind="loyalty_tier_changed").count() == 1

    points_expire_due(now=start + timedelta(days=370))  # the earnings left the 12-month window

    down = Notification.objects.filter(user=buyer, kind="loyalty_tier_changed").exclude(pk=up.pk).get()
    assert down.title == "Your tier is now Bronze"
    assert "no longer reach Silver" in down.body
    assert OutboxEmail.objects.filter(user=buyer, kind="loyalty_tier_changed").count() == 2

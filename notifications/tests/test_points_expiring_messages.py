"""The "points expiring soon" message (``loyalty.signals.points_expiring``, sent by the loyalty beat job):
one inbox entry and one email per batch, saying how many points expire on which day and linking to
/account/loyalty/; transactional like the other loyalty messages (a marketing opt-out does not stop it);
once, even when the job runs twice or loyalty's own record of it is lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.tests.factories import VerifiedUserFactory
from loyalty.models import ExpiryNotice
from loyalty.services import points_adjust, points_expiry_warn_due
from notifications import kinds
from notifications.emails import email_build
from notifications.models import Notification, OutboxEmail, Preference
from notifications.tests.outbox_helpers import html_of, sent_to

pytestmark = pytest.mark.django_db
KIND = kinds.LOYALTY_POINTS_EXPIRING.key
EARNED = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
NOW = datetime(2027, 2, 20, 9, 0, tzinfo=UTC)  # 11 days before those points expire


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.LOYALTY_POINTS_EXPIRE_MONTHS = 12
    settings.LOYALTY_EXPIRY_WARNING_DAYS = 30
    settings.SITE_URL = "https://tickets.example"


def collector(email: str = "ana@example.com", points: int = 120) -> Any:
    user = VerifiedUserFactory(email=email)
    points_adjust(user=user, points=points, reason="Gift", actor=None, now=EARNED)
    return user


def test_the_user_is_told_in_the_inbox_and_by_email(django_capture_on_commit_callbacks: Any) -> None:
    ana = collector()

    with django_capture_on_commit_callbacks(execute=True):
        assert points_expiry_warn_due(now=NOW) == 1

    entry = Notification.objects.get(user=ana, kind=KIND)
    assert entry.title == "120 points expire on 3 March 2027"
    assert entry.body == "120 points expire on 3 March 2027: use them at checkout before then."
    assert entry.link == "/account/loyalty/"
    (outbox,) = OutboxEmail.objects.filter(kind=KIND)
    assert (outbox.to, outbox.user, outbox.status) == ("ana@example.com", ana, OutboxEmail.Status.SENT)

    (message,) = sent_to("ana@example.com")
    assert message.subject == "120 points expire on 3 March 2027"
    assert "120 of your Grasshopper loyalty points reach the end of their validity on 3 March 2027" in (
        message.body
    )
    assert "See your points: https://tickets.example/account/loyalty/" in message.body
    assert "you collect Grasshopper loyalty points" in message.body  # why they get it
    html = html_of(message)
    assert 'href="https://tickets.example/account/loyalty/"' in html
    assert ">120 points expire on 3 March 2027</h1>" in html
    assert "nsubscribe" not in message.body  # transactional: no unsubscribe link


def test_running_the_job_twice_tells_once() -> None:
    ana = collector()
    points_expiry_warn_due(now=NOW)
    points_expiry_warn_due(now=NOW)
    points_expiry_warn_due(now=NOW + timedelta(days=1))

    assert Notification.objects.filter(user=ana, kind=KIND).count() == 1
    assert OutboxEmail.objects.filter(kind=KIND).count() == 1


def test_the_outbox_stays_unique_even_if_loyalty_forgets_it_told() -> None:
    ana = collector()
    points_expiry_warn_due(now=NOW)
    ExpiryNotice.objects.all().delete()  # loyalty's record lost: the job announces the batch again

    assert points_expiry_warn_due(now=NOW) == 1
    assert Notification.objects.filter(user=ana, kind=KIND).count() == 1
    assert OutboxEmail.objects.filter(kind=KIND).count() == 1


def test_a_marketing_opt_out_does_not_stop_it_like_other_loyalty_messages() -> None:
    ana = collector()
    Preference.objects.create(user=ana, marketing_email=False)

    points_expiry_warn_due(now=NOW)

    assert not kinds.LOYALTY_POINTS_EXPIRING.marketing
    assert kinds.LOYALTY_POINTS_EXPIRING.marketing == kinds.LOYALTY_TIER_CHANGED.marketing
    assert OutboxEmail.objects.filter(kind=KIND, to="ana@example.com").exists()
    assert Notification.objects.filter(user=ana, kind=KIND).exists()


def test_one_point_is_told_in_the_singular() -> None:
    collector(points=1)
    points_expiry_warn_due(now=NOW)

    message = email_build(outbox=OutboxEmail.objects.get(kind=KIND))
    assert message.subject == "1 point expires on 3 March 2027"

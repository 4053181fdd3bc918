"""Points expiring soon: the beat job (``points_expiry_warn_due``, task ``loyalty.points_expiry_warn_due``)
tells each user once per batch (their unspent points expiring on one day), ``LOYALTY_EXPIRY_WARNING_DAYS``
ahead, with how many points expire on which day; spent points are not announced; running it twice tells
nobody twice. The account page says what expires next ("120 points expire on 3 March 2027"). What the
user receives (inbox, email) is tested in notifications/tests/test_points_expiring_messages.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.test import Client

from accounts.models import User
from accounts.tests.factories import VerifiedUserFactory
from loyalty import services
from loyalty.models import ExpiryNotice
from loyalty.selectors import points_expiring_unnoticed
from loyalty.signals import points_expiring
from loyalty.tasks import points_expiry_warn_due_task

pytestmark = pytest.mark.django_db

EARNED = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # these points expire on 3 March 2027, 10:00 UTC
EXPIRES = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOYALTY_POINTS_EXPIRE_MONTHS = 12
    settings.LOYALTY_EXPIRY_WARNING_DAYS = 30


@pytest.fixture
def told() -> Any:
    """What ``points_expiring`` announced: (user id, points, day)."""
    seen: list[tuple[int, int, date]] = []

    def receiver(sender: Any, notice: ExpiryNotice, **kwargs: Any) -> None:
        seen.append((notice.user_id, notice.points, notice.expires_on))

    points_expiring.connect(receiver, dispatch_uid="test.points_expiring")
    yield seen
    points_expiring.disconnect(dispatch_uid="test.points_expiring")


def gift(user: User, points: int, at: datetime) -> None:
    services.points_adjust(user=user, points=points, reason="Gift", actor=None, now=at)


def test_each_batch_is_told_once_when_it_enters_the_window(told: list[Any]) -> None:
    ana = VerifiedUserFactory()
    gift(ana, 100, EARNED)
    gift(ana, 20, EARNED + timedelta(hours=8))  # the same day: the same batch
    gift(ana, 50, EARNED + timedelta(days=1))  # the next day: a batch of its own

    assert services.points_expiry_warn_due(now=EXPIRES - timedelta(days=31)) == 0
    # 30 days ahead of the first bucket: the whole day is told (the later bucket too), not the next day.
    now = EXPIRES - timedelta(days=30)
    assert services.points_expiry_warn_due(now=now) == 1
    assert told == [(ana.pk, 120, date(2027, 3, 3))]
    notice = ExpiryNotice.objects.get(user=ana)
    assert (notice.points, notice.expires_at, notice.created) == (120, EXPIRES, now)

    assert services.points_expiry_warn_due(now=now) == 0  # safe to run twice
    assert services.points_expiry_warn_due(now=now + timedelta(hours=1)) == 0
    assert services.points_expiry_warn_due(now=now + timedelta(days=1)) == 1  # the second batch
    assert told == [(ana.pk, 120, date(2027, 3, 3)), (ana.pk, 50, date(2027, 3, 4))]
    assert services.points_expiry_warn_due(now=now + timedelta(days=2)) == 0


def test_spent_points_are_not_announced(told: list[Any]) -> None:
    ana, bea = VerifiedUserFactory(), VerifiedUserFactory()
    gift(ana, 100, EARNED)
    gift(bea, 100, EARNED)
    services.points_adjust(user=ana, points=-100, reason="Spent", actor=None, now=EARNED + timedelta(days=9))
    services.points_adjust(user=bea, points=-30, reason="Spent", actor=None, now=EARNED + timedelta(days=9))

    assert services.points_expiry_warn_due(now=EXPIRES - timedelta(days=10)) == 1
    assert told == [(bea.pk, 70, date(2027, 3, 3))]
    assert not ExpiryNotice.objects.filter(user=ana).exists()


def test_a_batch_found_but_spent_before_its_notice_is_not_told(told: list[Any]) -> None:
    ana = VerifiedUserFactory()
    gift(ana, 100, EARNED)
    now = EXPIRES - timedelta(days=10)
    (batch,) = points_expiring_unnoticed(now=now, until=now + timedelta(days=30))
    services.points_adjust(user=ana, points=-100, reason="Spent", actor=None, now=now)

    assert services._expiry_notice_send(batch=batch, now=now) is None  # re-counted under the lock
    assert told == []


def test_expired_points_and_a_zero_window_tell_nobody(settings: Any, told: list[Any]) -> None:
    gift(VerifiedUserFactory(), 100, EARNED)
    assert services.points_expiry_warn_due(now=EXPIRES + timedelta(minutes=1)) == 0
    settings.LOYALTY_EXPIRY_WARNING_DAYS = 0
    assert services.points_expiry_warn_due(now=EXPIRES - timedelta(days=1)) == 0
    assert told == []


def test_a_deactivated_account_is_not_told(told: list[Any]) -> None:
    gift(VerifiedUserFactory(is_active=False), 100, EARNED)
    assert services.points_expiry_warn_due(now=EXPIRES - timedelta(days=10)) == 0
    assert told == []


def test_one_notice_per_user_and_day_in_the_database() -> None:
    ana = VerifiedUserFactory()
    ExpiryNotice.objects.create(
        user=ana, expires_on=date(2027, 3, 3), expires_at=EXPIRES, points=1, created=EARNED
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ExpiryNotice.objects.create(
            user=ana, expires_on=date(2027, 3, 3), expires_at=EXPIRES, points=2, created=EARNED
        )


def test_the_beat_task_calls_the_job(told: list[Any]) -> None:
    ana = VerifiedUserFactory()
    gift(ana, 120, EARNED)
    with time_machine.travel(EXPIRES - timedelta(days=5), tick=False):
        assert points_expiry_warn_due_task() == 1
        assert points_expiry_warn_due_task() == 0
    assert told == [(ana.pk, 120, date(2027, 3, 3))]


# --- /account/loyalty/ --------------------------------------------------------------------------------------


def page(user: User, at: datetime) -> str:
    client = Client()
    with time_machine.travel(at, tick=False):
        client.force_login(user)
        response = client.get("/account/loyalty/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_account_page_says_how_many_points_expire_on_which_day() -> None:
    ana = VerifiedUserFactory()
    gift(ana, 100, EARNED)
    gift(ana, 20, EARNED + timedelta(hours=8))
    gift(ana, 50, EARNED + timedelta(days=1))

    html = page(ana, EXPIRES - timedelta(days=60))
    assert '120 points expire on <time datetime="2027-03-03T10:00:00+00:00">3 March 2027</time>.' in html

    html = page(ana, EXPIRES - timedelta(days=5))  # within the warning window
    assert "120 points expire on" in html
    assert ">3 March 2027</time>, soon: use them at checkout." in html


def test_the_account_page_says_it_of_one_point_too() -> None:
    ana = VerifiedUserFactory()
    gift(ana, 1, EARNED)
    assert "1 point expires on <time" in page(ana, EXPIRES - timedelta(days=60))

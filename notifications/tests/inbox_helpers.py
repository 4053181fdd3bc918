"""Helpers of the inbox tests: notifications written straight into a user's inbox (what ``notify`` leaves
behind), so these tests do not depend on which kinds exist."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from django.utils import timezone

from accounts.models import User
from notifications.models import Notification

_seq = count(1)


def inbox_add(
    user: User,
    title: str = "",
    *,
    read: bool = False,
    link: str = "",
    body: str = "",
    created: datetime | None = None,
) -> Notification:
    n = next(_seq)
    notification = Notification.objects.create(
        user=user,
        kind="order_confirmed",
        reference=f"test:{n}",
        title=title or f"Notification {n}",
        body=body,
        link=link,
        read_at=timezone.now() if read else None,
    )
    if created is not None:  # auto_now_add: set afterwards
        Notification.objects.filter(pk=notification.pk).update(created=created)
        notification.created = created
    return notification


def inbox_fill(user: User, number: int, *, start: datetime | None = None) -> list[Notification]:
    """``number`` unread notifications one minute apart, oldest first ("Item 1" is the oldest)."""
    start = start or timezone.now() - timedelta(days=1)
    return [inbox_add(user, f"Item {i}", created=start + timedelta(minutes=i)) for i in range(1, number + 1)]

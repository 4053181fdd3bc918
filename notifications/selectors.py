"""Reads of the inbox, shaped for the notifications page, the bell and the notifications API. A user
only ever sees their own notifications; anonymous users see none."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Notification


def notification_list(*, user: User | AnonymousUser, unread: bool | None = None) -> QuerySet[Notification]:
    """The user's notifications, newest first. ``unread=True``: only unread ones; ``False``: only read
    ones; ``None``: all. No related rows are needed to show one, so one query per page."""
    if not user.is_authenticated:
        return Notification.objects.none()
    qs = Notification.objects.filter(user=user)
    if unread is not None:
        qs = qs.filter(read_at__isnull=unread)
    return qs.order_by("-created", "-id")


def notification_unread_count(*, user: User | AnonymousUser) -> int:
    """How many of the user's notifications are unread (the number on the bell); 0 when signed out.
    Served by the partial index ``notifications_unread``."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()

"""Writes of the inbox surfaces: marking notifications read, the marketing-email preference and the
one-click unsubscribe link every marketing email carries in its footer (and its ``List-Unsubscribe``
header).

The unsubscribe link
--------------------
``unsubscribe_url(user=...)`` is an absolute URL holding a token that signs the user's id with a salt of
its own (``django.core.signing``), so it cannot be forged or pointed at another account, and a token minted
for any other purpose with the same SECRET_KEY (a guest order link, a session) opens nothing here. It does
not expire: the law (CAN-SPAM, GDPR) and the mail providers expect an unsubscribe link in an old email to
keep working, and all it can do is switch marketing email *off* (switching it on again needs the signed-in
preference form), so a leaked link can do no harm beyond what its owner asked for.

The URL answers two ways (notifications/views.py): a GET shows a page with one button (a GET never changes
anything, because mail scanners and link previewers fetch every link in an email), and a POST, including the
RFC 8058 one-click POST (``List-Unsubscribe=One-Click`` body, no cookies, no CSRF token) that Gmail and
Yahoo send from their own "Unsubscribe" button, switches marketing email off at once.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from grasshopper.lib.exceptions import ApplicationError
from notifications.models import Notification, Preference
from notifications.selectors import notification_unread_count

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
# A version in the payload: should the token format ever change, old links can still be recognised.
_TOKEN_VERSION = 1


class NotificationIdsInvalid(ApplicationError):
    code = "notification_ids_invalid"
    status = 400
    default_message = "Some of these notifications do not exist."


class UnsubscribeTokenInvalid(ApplicationError):
    code = "unsubscribe_token_invalid"
    status = 400
    default_message = "This unsubscribe link is not valid. Sign in to change your email preferences."


# --- Mark read ----------------------------------------------------------------------------------------


@transaction.atomic
def notifications_mark_read(*, user: User, ids: list[int] | None, now: datetime | None = None) -> int:
    """Mark the user's notifications read: those with ``ids``, or every unread one when ``ids`` is None.
    Returns the unread count left (what the bell shows next).

    Only the user's own notifications are touched. An id that is not one of the user's notifications
    (unknown, or someone else's: nothing tells them apart, so nothing leaks) raises
    ``notification_ids_invalid`` with ``extra["ids"]`` and marks nothing. Marking an already-read
    notification again is a no-op (it keeps its first ``read_at``)."""
    now = now or timezone.now()
    mine = Notification.objects.filter(user=user)
    if ids is not None:
        wanted = set(ids)
        found = set(mine.filter(id__in=wanted).values_list("id", flat=True))
        missing = sorted(wanted - found)
        if missing:
            raise NotificationIdsInvalid(extra={"ids": missing})
        mine = mine.filter(id__in=wanted)
    mine.filter(read_at__isnull=True).update(read_at=now)
    return notification_unread_count(user=user)


# --- Preferences --------------------------------------------------------------------------------------


def preference_get(*, user: User) -> Preference:
    """The user's preference; an unsaved default (marketing email on) when they never chose."""
    pref = Preference.objects.filter(user=user).first()
    return pref if pref is not None else Preference(user=user)


@transaction.atomic
def preference_set_marketing(*, user: User, enabled: bool) -> Preference:
    """Switch marketing email (news, offers) on or off for the user. Transactional email (orders, refunds,
    waitlist offers, event changes) is not affected: it always arrives."""
    pref, created = Preference.objects.get_or_create(user=user, defaults={"marketing_email": enabled})
    if not created and pref.marketing_email != enabled:
        pref.marketing_email = enabled
        pref.save(update_fields=["marketing_email", "modified"])
    return pref


# --- Unsubscribe link ---------------------------------------------------------------------------------


def _signer() -> signing.Signer:
    # A plain Signer, not dumps()'s TimestampSigner: the link never expires, and one user's link is the same
    # in every email (and in the List-Unsubscribe header built from the same call).
    return signing.Signer(salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(*, user: User) -> str:
    """A signed token naming the user, for the unsubscribe link (see the module docstring)."""
    return _signer().sign_object({"u": user.pk, "v": _TOKEN_VERSION})


def unsubscribe_url(*, user: User) -> str:
    """The absolute one-click unsubscribe URL for the email footer and the ``List-Unsubscribe`` header
    (send it with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``)."""
    path = reverse("notifications:unsubscribe", kwargs={"token": unsubscribe_token(user=user)})
    return f"{settings.SITE_URL}{path}"


def unsubscribe_user(*, token: str) -> User:
    """The (active) user a token names; raises ``unsubscribe_token_invalid`` for a forged, tampered or
    foreign token, or a user who no longer exists. Changes nothing (the GET page uses it)."""
    try:
        payload = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError):  # ValueError: a valid signature over something not JSON
        raise UnsubscribeTokenInvalid() from None
    if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION:
        raise UnsubscribeTokenInvalid()
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None:
        raise UnsubscribeTokenInvalid()
    return user


@transaction.atomic
def unsubscribe(*, token: str) -> User:
    """Switch marketing email off for the user the token names (idempotent: a second click changes
    nothing). Raises ``unsubscribe_token_invalid`` and changes nothing when the token is not ours."""
    user = unsubscribe_user(token=token)
    preference_set_marketing(user=user, enabled=False)
    return user

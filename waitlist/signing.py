"""Signed links for guests' waitlist entries: confirm the email address, leave the line in one click.

The token signs the entry id and its email with a salt per purpose, so a confirmation link cannot be used
to leave (or the reverse), and a token minted for anything else with the same SECRET_KEY opens nothing.
"""

from __future__ import annotations

from django.core import signing

from waitlist.models import WaitlistEntry

VERIFY = "verify"
LEAVE = "leave"
PURPOSES = (VERIFY, LEAVE)
# Confirmation links are short-lived; a leave link lasts as long as anyone may wait (until the event).
MAX_AGE = {VERIFY: 60 * 60 * 24 * 3, LEAVE: 60 * 60 * 24 * 400}


def _salt(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown waitlist token purpose {purpose!r}")
    return f"waitlist.entry.{purpose}"


def entry_token_make(*, entry: WaitlistEntry, purpose: str) -> str:
    """A URL-safe token for ``entry`` and ``purpose`` (``VERIFY`` or ``LEAVE``)."""
    return signing.dumps([entry.pk, entry.email], salt=_salt(purpose), compress=False)


def entry_token_read(*, token: str, purpose: str) -> tuple[int, str] | None:
    """``(entry id, email)`` from a valid, unexpired token of ``purpose``; None otherwise."""
    try:
        value = signing.loads(token, salt=_salt(purpose), max_age=MAX_AGE[purpose])
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)):
        return None
    return value[0], str(value[1])

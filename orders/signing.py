"""Guest links: a signed token that opens one order's pages without an account.

The token signs the order code with a salt of its own, so a token for one order (or one minted for any
other purpose with the same SECRET_KEY) opens nothing else. After the first visit the code is kept in the
session, so the buyer can follow the site's own links (calendar, PDF) without carrying the token.
"""

from django.core import signing
from django.http import HttpRequest

SALT = "orders.guest-link"
SESSION_KEY = "orders_guest_codes"
# Enough for a buyer who bookmarks the link a long time before the event; the order's own status still
# decides what the page shows.
MAX_AGE = 60 * 60 * 24 * 400


def guest_token_make(*, code: str) -> str:
    return signing.dumps(code, salt=SALT, compress=False)


def guest_token_check(*, token: str, code: str) -> bool:
    try:
        return bool(token) and signing.loads(token, salt=SALT, max_age=MAX_AGE) == code
    except signing.BadSignature:
        return False


def guest_session_allow(request: HttpRequest, *, code: str) -> None:
    """Remember in the session that this browser may see this order (it created it, or had the link)."""
    codes = list(request.session.get(SESSION_KEY, []))
    if code not in codes:
        codes.append(code)
        request.session[SESSION_KEY] = codes[-20:]


def guest_session_allows(request: HttpRequest, *, code: str) -> bool:
    return code in request.session.get(SESSION_KEY, [])

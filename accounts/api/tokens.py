"""allauth headless session tokens (``X-Session-Token``), looked up with one read of the session store."""

from __future__ import annotations

from allauth.headless.internal.sessionkit import session_store
from allauth.headless.tokens.strategies.sessions import SessionTokenStrategy as AllauthSessionTokenStrategy
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase


class SessionTokenStrategy(AllauthSessionTokenStrategy):
    """allauth's session-token strategy (``HEADLESS_TOKEN_STRATEGY``), minus one cache round trip per call.

    allauth asks the session store whether the key exists, then loads it: two reads of the cache on every
    API call (``cached_db``), and two of the database when the cache has lost it. Loading alone tells the
    same: Django's stores clear ``session_key`` when the key is unknown or expired, and the data it loaded
    is what ``get_user`` reads next. The lookup allauth itself uses for browser sessions
    (``allauth.core.internal.sessionkit.lookup_session``) works this way too.
    """

    def lookup_session(self, session_token: str) -> SessionBase | None:
        session = session_store(session_token)
        session.get(SESSION_KEY)  # loads it: one cache read, the database only on a miss
        return session if session.session_key else None
